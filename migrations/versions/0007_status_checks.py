"""CHECK constraints on every status-like column: the database refuses a value
outside its enum (bot/domain/statuses.py) instead of storing a typo no query
ever matches again. Every existing row already holds one of these values.

The values are written out here, not imported: a migration must keep meaning
what it meant when it ran, whatever the enums become later.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELIVERY_MODES = ("ephemeral", "thread", "dm")

# table -> column -> the values it may hold (NULL stays allowed where the column is nullable)
CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "channels": {"mode": DELIVERY_MODES},
    "reps": {"invite_answer": ("joined", "declined")},
    "nudges": {
        "status": (
            "pending",
            "sending",
            "sent",
            "failed",
            "expired",
            "unconfirmed",
            "answered",
        ),
        "trigger": ("message", "mention", "command"),
        "delivery": DELIVERY_MODES,
        "feedback": ("helpful", "not_for_me", "pause"),
    },
    "checkins": {
        "status": ("pending", "sending", "sent", "failed", "missed", "skipped"),
        "answer": ("trust_excitement", "chasing_happiness", "both"),
        "reminder_status": ("sending", "resending", "retry", "sent", "failed"),
    },
    "digests": {"status": ("pending", "sending", "sent", "failed", "missed")},
    "workspace_settings": {
        "join_mode": ("invite", "auto", "manual"),
        "visible_mode_by": ("creator_or_admin", "admins"),
    },
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f'"{column}" IN ({", ".join(repr(value) for value in values)})'


def upgrade() -> None:
    # Batch mode: SQLite adds a constraint only by rebuilding the table.
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), _condition(column, values)
                )


def downgrade() -> None:
    for table, columns in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
