"""The schema comes only from Alembic, and it matches the models, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.storage.db import Database
from bot.storage.migrate import alembic_config, downgrade, upgrade
from bot.storage.models import Base
from tests.conftest import unmigrated

ROOT = Path(__file__).resolve().parents[1]


def test_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_down_to_base_and_up_again(db: Database) -> None:
    downgrade(db.engine, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(db.engine)
    tables = set(inspect(db.engine).get_table_names())
    assert {"nudges", "reps", "channels", "checkins", "slack_installations"} <= tables


def test_processes_starting_together_migrate_once(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Several processes run `db upgrade` at once (on SQLite, from an empty file)."""
    database_url = unmigrated(database_url, tmp_path)
    env = {**os.environ, "DATABASE_URL": database_url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    db = Database.connect(database_url)
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert context.get_current_heads() == tuple(
                ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
            )
    finally:
        db.dispose()
