"""workspace_settings and settings_changes: settings an admin changes inside Slack.

One row per workspace; a NULL column means "the environment's default". Every
change is recorded (who, when, which setting, from what to what).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_settings",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("deal_channel_patterns", sa.String(length=500), nullable=True),
        sa.Column("checkin_weekday", sa.SmallInteger(), nullable=True),
        sa.Column("checkin_time", sa.String(length=5), nullable=True),
        sa.Column("join_mode", sa.String(length=8), nullable=True),
        sa.Column("digest_channel", sa.String(length=32), nullable=True),
        sa.Column("digest_dm_users", sa.Text(), nullable=True),
        sa.Column("digest_weekday", sa.SmallInteger(), nullable=True),
        sa.Column("digest_time", sa.String(length=5), nullable=True),
        sa.Column("digest_min_reps", sa.SmallInteger(), nullable=True),
        sa.Column("nudge_cooldown_hours", sa.SmallInteger(), nullable=True),
        sa.Column("nudge_daily_limit", sa.SmallInteger(), nullable=True),
        sa.Column("visible_mode_by", sa.String(length=16), nullable=True),
        sa.Column("settings_admins", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_workspace_settings")),
    )
    op.create_table(
        "settings_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.String(length=500), nullable=True),
        sa.Column("new_value", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_changes")),
    )
    op.create_index(
        "ix_settings_changes_team_at", "settings_changes", ["team_id", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_settings_changes_team_at", table_name="settings_changes")
    op.drop_table("settings_changes")
    op.drop_table("workspace_settings")
