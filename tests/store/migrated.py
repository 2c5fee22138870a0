"""A database migrated only up to an old revision, to test a migration on existing rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command

from scimhub.store.database import Database
from scimhub.store.migrate import alembic_config
from tests.support.postgres import temporary_database


@contextmanager
def database_at(revision: str, backend: str, tmp_path: Path) -> Iterator[Database]:
    """An empty SQLite or PostgreSQL database at ``revision``, as a deployment left it.

    PostgreSQL gets a database of its own (dropped afterwards) so the half-migrated schema
    never meets the session's fully migrated one.
    """
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path}/old.db")
        upgrade(database, revision)
        yield database
        database.dispose()
        return
    with temporary_database(f"scimhub_at_{revision}") as url:
        database = Database(url)
        upgrade(database, revision)
        yield database
        database.dispose()


def upgrade(database: Database, revision: str) -> None:
    """Alembic's upgrade to ``revision`` in one transaction on ``database``'s engine."""
    config = alembic_config(database)
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
