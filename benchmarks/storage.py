"""What a nudge and a check-in cost PostgreSQL: rows, WAL bytes, bytes at rest.

    python -m benchmarks.storage [--count 5000] [--database-url URL]

Each item goes through the writes the bot makes for it (bot/services/nudges.py,
bot/services/checkins/delivery.py and service.py): a nudge is inserted, claimed,
marked sent and rated; a check-in is planned, claimed, marked sent, reminded
(claim, sent) and answered with a note of 200 characters, and its rep's
next_due_at moves on. The table shows, per item: row writes (inserts + updates,
pg_stat_user_tables), WAL bytes written (pg_current_wal_lsn), and bytes at
rest after VACUUM, table plus indexes (pg_total_relation_size). Message text
is never stored, so a nudge's size does not depend on the message.

The database's public schema is dropped and migrated first: use a scratch one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test_storage"
AT = datetime(2026, 11, 23, 9, tzinfo=UTC)
TEAM = "T0STORAGE"
NOTE = "x" * 200  # the rep's own reflection: the one free text kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage", description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args(argv)
    from bot.storage.db import Database
    from bot.storage.migrate import upgrade

    db = Database.connect(args.database_url)
    if not db.is_postgres:
        print("PostgreSQL only (pg_total_relation_size, WAL positions)")
        return 2
    try:
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade(db.engine)
        seed_reps(db.engine, args.count)
        rows = [
            measure(db.engine, "nudge", "nudges", args.count, nudge_lifecycle),
            measure(db.engine, "check-in", "checkins", args.count, checkin_lifecycle),
        ]
    finally:
        db.dispose()
    print(f"{args.count} of each, PostgreSQL, after VACUUM")
    print("| item | row writes | WAL bytes written | bytes at rest (table + indexes) |")
    print("| --- | --- | --- | --- |")
    for name, writes, wal, rest in rows:
        print(f"| {name} | {writes:.1f} | {wal:,.0f} | {rest:,.0f} |")
    return 0


def seed_reps(engine: Engine, count: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO reps (team_id, user_id, created_at, checkins_enrolled_at, eligible, "
                "tz, tz_checked_at, next_due_at) VALUES (:t, :u, :at, :at, true, "
                "'Europe/Berlin', :at, :at)"
            ),
            [{"t": TEAM, "u": f"U{i:06d}", "at": AT} for i in range(count)],
        )


def nudge_lifecycle(connection: Connection, i: int) -> None:
    params = {"t": TEAM, "u": f"U{i:06d}", "at": AT, "ts": f"{1_700_000_000 + i}.000100"}
    nudge_id = connection.execute(
        text(
            "INSERT INTO nudges (team_id, channel_id, user_id, message_ts, trigger, traps, "
            "question_id, delivery, status, attempts, created_at) VALUES (:t, 'C0DEALS01', :u, "
            ":ts, 'message', 'mind_reading,catastrophising', 'q-evidence-for-against', "
            "'ephemeral', 'pending', 0, :at) RETURNING id"
        ),
        params,
    ).scalar_one()
    ids = {"id": nudge_id, "at": AT}
    connection.execute(
        text(
            "UPDATE nudges SET status = 'sending', claimed_at = :at, attempts = attempts + 1 "
            "WHERE id = :id"
        ),
        ids,
    )
    connection.execute(text("UPDATE nudges SET status = 'sent', sent_at = :at WHERE id = :id"), ids)
    connection.execute(
        text("UPDATE nudges SET feedback = 'helpful', feedback_at = :at WHERE id = :id"), ids
    )


def checkin_lifecycle(connection: Connection, i: int) -> None:
    user = f"U{i:06d}"
    params = {"t": TEAM, "u": user, "at": AT, "end": AT + timedelta(days=7)}
    checkin_id = connection.execute(
        text(
            "INSERT INTO checkins (team_id, user_id, week, due_at, status, attempts, "
            "expires_at, is_manual) VALUES (:t, :u, '2026-W48', :at, 'pending', 0, :end, false) "
            "RETURNING id"
        ),
        params,
    ).scalar_one()
    connection.execute(
        text("UPDATE reps SET next_due_at = :end WHERE team_id = :t AND user_id = :u"), params
    )
    ids = {"id": checkin_id, "at": AT, "note": NOTE, "d": f"D{i:08d}", "ts": f"{i}.000200"}
    for statement in (
        "UPDATE checkins SET status = 'sending', claimed_at = :at, attempts = attempts + 1 "
        "WHERE id = :id",
        "UPDATE checkins SET status = 'sent', sent_at = :at, dm_channel_id = :d, "
        "message_ts = :ts WHERE id = :id",
        "UPDATE checkins SET reminder_status = 'sending', claimed_at = :at WHERE id = :id",
        "UPDATE checkins SET reminder_status = 'sent', reminder_sent_at = :at WHERE id = :id",
        "UPDATE checkins SET answer = 'both', answered_at = :at WHERE id = :id",
        "UPDATE checkins SET note = :note, note_updated_at = :at WHERE id = :id",
    ):
        connection.execute(text(statement), ids)


def measure(
    engine: Engine,
    name: str,
    table: str,
    count: int,
    lifecycle: Callable[[Connection, int], None],
) -> tuple[str, float, float, float]:
    engine.dispose()
    before_writes, before_size = writes(engine, table), size(engine, table)
    with engine.connect() as connection:
        wal_before = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    for i in range(count):
        with engine.begin() as connection:  # one transaction per step, as the bot does
            lifecycle(connection, i)
    with engine.connect() as connection:
        wal = connection.execute(
            text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :before)"),
            {"before": wal_before},
        ).scalar_one()
    vacuum(engine, table)
    engine.dispose()  # closing the sessions makes their statistics visible at once
    after_writes, after_size = writes(engine, table), size(engine, table)
    return (
        name,
        (after_writes - before_writes) / count,
        float(wal) / count,
        (after_size - before_size) / count,
    )


def vacuum(engine: Engine, table: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM ANALYZE {table}"))


def size(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(text(f"SELECT pg_total_relation_size('{table}')")).scalar_one()
        )


def writes(engine: Engine, table: str) -> int:
    """Inserts and updates of `table` and of reps (a check-in moves its rep's next_due_at)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_stat_force_next_flush()"))
        connection.commit()
        return int(
            connection.execute(
                text(
                    "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_user_tables "
                    "WHERE relname IN (:table, 'reps')"
                ),
                {"table": table},
            ).scalar_one()
        )


if __name__ == "__main__":
    sys.exit(main())
