"""nudges.in_doubt and reps.opted_out_at.

in_doubt: an earlier attempt may have reached Slack (a timeout, a dropped
answer, a claim that outlived its lease), so the next attempt looks before it
posts. opted_out_at: the rep said `/reframe forget-me`; no process enrols or
nudges them again until they opt in.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nudges") as batch:
        batch.add_column(
            sa.Column("in_doubt", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("reps") as batch:
        batch.add_column(sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reps") as batch:
        batch.drop_column("opted_out_at")
    with op.batch_alter_table("nudges") as batch:
        batch.drop_column("in_doubt")
