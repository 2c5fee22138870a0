"""Migration 0011 adds two columns to ``tenants``: on a database with data, nothing that
references a tenant may be lost on the way up or back down (on SQLite a copy of the table,
as Alembic's batch mode makes, would cascade its drop to every referencing row)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from scimhub.store.database import Database
from scimhub.store.migrate import alembic_config
from tests.store.migrated import database_at, upgrade

ROWS: dict[str, list[dict[str, object]]] = {
    "tenants": [{"id": "t1", "name": "acme", "created": "2026", "deprovision": "soft"}],
    "admins": [{"id": "a1", "tenant_id": "t1", "email": "admin@acme.example",
                "password_hash": "x", "created": "2026"}],
    "api_tokens": [{"prefix": "p1", "tenant_id": "t1", "digest": "a" * 64, "sealed": None,
                    "created": "2026"}],
    "tenant_token_digests": [{"digest": "a" * 64, "tenant_id": "t1", "issued": "2026"}],
    "users": [{"tenant_id": "t1", "id": "u1", "version": 1, "created": "2026",
               "last_modified": "2026", "user_name": "ada", "user_name_ci": "ada",
               "doc": {}}],
}


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0010(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at("0010", request.param, tmp_path) as database:
        meta = sa.MetaData()
        meta.reflect(database.engine)
        with database.engine.begin() as conn:
            for table, values in ROWS.items():
                conn.execute(meta.tables[table].insert(), values)
        yield database


def _counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as conn:
        return {table: int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ROWS}


def test_up_and_down_keep_every_row(at_0010: Database) -> None:
    upgrade(at_0010, "0011")
    assert _counts(at_0010) == {table: len(rows) for table, rows in ROWS.items()}
    with at_0010.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT rate_limit, require_sso FROM tenants")).one()
    assert row[0] is None and not row[1]

    config = alembic_config(at_0010)
    with at_0010.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
    assert _counts(at_0010) == {table: len(rows) for table, rows in ROWS.items()}
    columns = {c["name"] for c in sa.inspect(at_0010.engine).get_columns("tenants")}
    assert not columns & {"rate_limit", "require_sso"}
