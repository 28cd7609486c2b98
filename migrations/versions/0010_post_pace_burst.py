"""post_pace.burst_at: when the current burst of posts began.

Slots in a burst's first second are spaced a tenth wider (bot/domain/pacing.py,
`reserve`), so the schedule keeps the burst's first slot. NULL until a burst
starts; a schedule without it paces as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("post_pace", sa.Column("burst_at", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("post_pace") as batch:
        batch.drop_column("burst_at")
