"""reps.invited_at and reps.invite_answer: joining check-ins by invitation.

A rep's first post in a deal channel gets one private invitation instead of
silent enrolment; the answer (joined / declined) is remembered so it is never
asked twice.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reps") as batch:
        batch.add_column(sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("invite_answer", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reps") as batch:
        batch.drop_column("invite_answer")
        batch.drop_column("invited_at")
