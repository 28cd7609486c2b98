"""Run Alembic migrations from code (start-up, `python -m bot db upgrade`, tests)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

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


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # '%' is interpolation syntax in ConfigParser.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`.

    Several processes may start at once against one PostgreSQL database; an
    advisory lock lets one migrate while the others wait, then find nothing to do.
    """
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
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _IN_PROCESS, engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
