"""The migrations build exactly the schema that tables.py declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.tables import metadata


def test_migrated_schema_matches_the_declared_tables(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrating_twice_is_a_no_op(db: Database) -> None:
    migrate(db)
    migrate(db)
