"""reps.next_due_at and the indexes that make a check-in tick cost O(due);
job_runs for once-per-cluster jobs (retention).

- reps.next_due_at (indexed): when the tick next looks at the rep. Existing
  active reps (enrolled, on, eligible) get their enrolment time, i.e. "look at
  once": the first tick after the upgrade computes each one's real time with
  the schedule code (the migration does not know the workspace defaults), and a
  check-in already planned this week is not planned twice (the unique key).
- partial indexes for the profile refresh (reps to look up in Slack) and the
  reminder sweep (sent check-ins awaiting an answer or a reminder).
- job_runs: when retention last ran anywhere in the cluster.

The index conditions are written out here, not imported, like 0007's values.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_REP = "checkins_enrolled_at IS NOT NULL AND checkins_enabled"
UNKNOWN_REP = ACTIVE_REP + " AND eligible IS NULL"
AWAITING_REMINDER = (
    "status = 'sent' AND answer IS NULL AND "
    "(reminder_status IS NULL OR reminder_status IN ('retry', 'sending', 'resending'))"
)


def _partial(name: str, table: str, column: str, where: str) -> None:
    op.create_index(
        name,
        table,
        [column],
        unique=False,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade() -> None:
    op.add_column("reps", sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_reps_next_due_at", "reps", ["next_due_at"], unique=False)
    _partial("ix_reps_profile_stale", "reps", "tz_checked_at", ACTIVE_REP)
    _partial("ix_reps_profile_unknown", "reps", "tz_checked_at", UNKNOWN_REP)
    _partial("ix_checkins_awaiting_reminder", "checkins", "sent_at", AWAITING_REMINDER)
    reps = sa.table(
        "reps",
        sa.column("next_due_at", sa.DateTime(timezone=True)),
        sa.column("checkins_enrolled_at", sa.DateTime(timezone=True)),
        sa.column("checkins_enabled", sa.Boolean()),
        sa.column("eligible", sa.Boolean()),
        sa.column("opted_out_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        reps.update()
        .where(
            reps.c.checkins_enrolled_at.is_not(None),
            reps.c.checkins_enabled.is_(True),
            reps.c.eligible.is_(True),
            reps.c.opted_out_at.is_(None),
        )
        .values(next_due_at=reps.c.checkins_enrolled_at)
    )
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_index("ix_checkins_awaiting_reminder", table_name="checkins")
    op.drop_index("ix_reps_profile_unknown", table_name="reps")
    op.drop_index("ix_reps_profile_stale", table_name="reps")
    op.drop_index("ix_reps_next_due_at", table_name="reps")
    with op.batch_alter_table("reps", schema=None) as batch_op:
        batch_op.drop_column("next_due_at")
