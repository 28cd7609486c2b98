"""post_pace: one shared chat.postMessage schedule per workspace for all scheduler processes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post_pace",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("next_at", sa.Double(), nullable=False),
        sa.Column("rate", sa.Double(), nullable=False),
        sa.Column("limited_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_post_pace")),
    )


def downgrade() -> None:
    op.drop_table("post_pace")
