"""Run Alembic migrations from code (start-up, `python -m bot db upgrade`, tests)."""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from bot.storage.db import create_db_engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

# Any constant works: it only has to be the same in every Reframe process.
_MIGRATION_LOCK_ID = 0x5EF8A3E
# Alembic's `context` is module-global: one migration at a time per process.
_IN_PROCESS = threading.Lock()


def migrations_dir() -> Path:
    """`migrations/` beside the package (a checkout) or in the working directory (Docker)."""
    override = os.environ.get("REFRAME_MIGRATIONS_DIR")
    candidates = [Path(override)] if override else []
    candidates += [Path(__file__).resolve().parents[2] / "migrations", Path.cwd() / "migrations"]
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError(
        "Alembic migrations not found; run from the project folder or set REFRAME_MIGRATIONS_DIR"
    )


def _alembic_command() -> ModuleType:
    """Alembic's commands, imported when a migration runs (not at every start). Its
    plugin set-up says one INFO line per plugin; logging is configured by now."""
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from alembic import command

    return command


def upgrade_database(database_url: str, revision: str = "head") -> str:
    """Migrate the database at `database_url` on an engine of its own, closed afterwards
    (`db upgrade`, the roles before they start); returns where it is, without password."""
    engine = create_db_engine(database_url)
    try:
        upgrade(engine, revision)
        return engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # '%' is interpolation syntax in ConfigParser.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`.

    Several processes may start at once against one PostgreSQL database; an
    advisory lock lets one migrate while the others wait, then find nothing to do.
    A database already at the newest revision is told apart without Alembic (see
    `at_head`): that is every start but the first after a new migration.
    """
    if revision == "head" and at_head(engine):
        log.info("database schema is at head")
        return
    command = _alembic_command()

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _IN_PROCESS, engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # The request-sized timeouts the engine sets do not fit a migration (a
            # table rewrite) or waiting for another process's migration to finish.
            connection.execute(text("SET statement_timeout = 0"))
            connection.execute(text("SET lock_timeout = 0"))
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
                connection.execute(text("RESET statement_timeout"))
                connection.execute(text("RESET lock_timeout"))
                connection.commit()
    log.info("database schema is at %s", revision)


def downgrade(engine: Engine, revision: str) -> None:
    command = _alembic_command()

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _IN_PROCESS, engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


# `revision: str = "0007"` and `down_revision: str | None = "0006"` (or None), as
# `alembic revision` writes them. A merge (a tuple) does not match: Alembic decides then.
_REVISION = re.compile(r"""^revision(?:: [^=]+)? = ["']([^"']+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision(?:: [^=]+)? = (?:None|["']([^"']+)["'])\s*$""", re.M)


def head_revision() -> str | None:
    """The one head of migrations/versions, read from the files' `revision` lines, or
    None when any file is not plainly one step after another (Alembic decides then)."""
    versions = migrations_dir() / "versions"
    revisions: dict[str, str | None] = {}
    for script in sorted(versions.glob("*.py")):
        if script.name.startswith("_"):
            continue
        source = script.read_text("utf-8")
        revision, down = _REVISION.findall(source), list(_DOWN_REVISION.finditer(source))
        if len(revision) != 1 or len(down) != 1 or revision[0] in revisions:
            return None
        revisions[revision[0]] = down[0].group(1)
    heads = set(revisions) - set(revisions.values())
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """Is the database at the newest revision? One query and a look at the scripts'
    headers, where Alembic takes ~0.3 s to import and load every script. Anything
    unusual (no version table, several heads, a file it cannot read) is False, and
    Alembic itself decides what to do."""
    head = head_revision()
    if head is None:
        return False
    # A database that does not answer raises here, as it would in Alembic.
    with engine.connect() as connection:
        try:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        except DBAPIError:
            return False  # a new database: no version table yet
    return [row[0] for row in found] == [head]
