"""Retention of the audit log and the console events: the setting, the sweep on both databases,
and the sweep running inside a real ``scimhub serve`` process."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select
from starlette.applications import Starlette

from scimhub.console.retention import (
    BadRetention,
    RetentionSweep,
    Swept,
    parse_retention,
    with_retention,
)
from scimhub.scim.resource import format_datetime
from scimhub.store.audit import AuditEntry, AuditStore
from scimhub.store.console_tables import audit_log, console_events
from scimhub.store.database import Database
from scimhub.store.tenants import TenantStore
from tests.e2e.server import ServerProcess


def test_parse_retention() -> None:
    assert parse_retention(None) == 90 * 86400
    assert parse_retention("90d") == 90 * 86400
    assert parse_retention(" 12H ") == 12 * 3600
    assert parse_retention("1s") == 1
    assert parse_retention("2w") == 14 * 86400
    assert parse_retention("0") is None
    for bad in ("", "90", "0d", "-1d", "1.5d", "90 days", "1y", "9999999w", "d"):
        with pytest.raises(BadRetention, match="audit-retention"):
            parse_retention(bad)


def _at(clock: float, days_ago: float) -> str:
    return format_datetime(datetime.fromtimestamp(clock, UTC) - timedelta(days=days_ago))


def _count(db: Database, table: object) -> int:
    with db.read() as tx:
        return int(tx.scalar(select(func.count()).select_from(table)))  # type: ignore[arg-type]


def test_the_sweep_deletes_what_is_older_than_the_retention(
    db: Database, tenants: TenantStore,
) -> None:
    tenant = tenants.create("acme", "admin@acme.example", "correct horse battery")[0].id
    clock = 1_800_000_000.0
    AuditStore(db).record([(tenant, AuditEntry(_at(clock, days), "PATCH", "/scim/v2/Users/1",
                                               "User", "1", None, 200, 1))
                           for days in (30.01, 31, 400, 29.99, 1)])
    with db.engine.begin() as conn:
        conn.execute(insert(console_events), [
            {"tenant_id": tenant if n % 2 else None, "at": _at(clock, days),
             "action": "sign_in_failed", "actor": "x@acme.example", "client": "10.0.0.1",
             "detail": None} for n, days in enumerate((30.01, 45, 29.99, 0))])
    sweep = RetentionSweep(db, keep=30 * 86400, clock=lambda: clock)
    swept = sweep.sweep()
    assert (swept.audit, swept.events) == (3, 2)
    assert _count(db, audit_log) == 2 and _count(db, console_events) == 2
    with db.read() as tx:
        kept = [str(r[0]) for r in tx.all(select(audit_log.c.at))]
    assert all(at > _at(clock, 30) for at in kept)
    assert sweep.interval == 3600
    assert RetentionSweep(db, keep=1).interval == 1


def test_forever_leaves_the_app_as_it_is_and_a_bad_value_stops_it(sqlite_db: Database) -> None:
    app = Starlette()
    lifespan = app.router.lifespan_context
    assert with_retention(app, sqlite_db, "0").router.lifespan_context is lifespan
    with pytest.raises(BadRetention):
        with_retention(app, sqlite_db, "ninety days")
    assert with_retention(app, sqlite_db, "1h").router.lifespan_context is not lifespan


def test_the_sweep_runs_on_a_thread_of_its_own(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lifespan starts the task; each sweep runs off the event loop, in the
    ``scimhub-retention`` thread; stopping the app stops it."""
    threads: list[str] = []
    sweep = RetentionSweep.sweep

    def recording(self: RetentionSweep) -> Swept:
        threads.append(threading.current_thread().name)
        return sweep(self)

    monkeypatch.setattr(RetentionSweep, "sweep", recording)
    app = with_retention(Starlette(), sqlite_db, "1s")

    async def serve_briefly() -> None:
        async with app.router.lifespan_context(app):
            await asyncio.sleep(2.5)
        count = len(threads)
        await asyncio.sleep(1.5)
        assert len(threads) == count  # stopped with the app

    asyncio.run(serve_briefly())
    assert len(threads) >= 2
    assert all(name.startswith("scimhub-retention") for name in threads), threads


@pytest.mark.e2e
def test_a_real_server_sweeps_old_entries(tmp_path: Path) -> None:
    """``scimhub serve --audit-retention 2s``: a SCIM write's audit row and a failed sign-in's
    event exist, then are gone within a few seconds, while the server keeps answering."""
    server = ServerProcess(database=f"sqlite:///{tmp_path}/scimhub.db", workdir=tmp_path,
                           args=("--audit-retention", "2s"))
    token = server.create_tenant("acme")["token"]
    server.start()
    db = Database(f"sqlite:///{tmp_path}/scimhub.db")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            created = client.post("/scim/v2/Users", json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann"},
                headers={"Authorization": f"Bearer {token}"})
            assert created.status_code == 201
            signin = client.get("/signin")
            client.post("/signin", data={"email": "admin@acme.example", "password": "wrong",
                                         "csrf": signin.cookies["scimhub_csrf"]})
            deadline = time.monotonic() + 5
            while _count(db, audit_log) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _count(db, audit_log) == 1 and _count(db, console_events) == 1
            deadline = time.monotonic() + 15
            while (_count(db, audit_log) or _count(db, console_events)) \
                    and time.monotonic() < deadline:
                assert client.get("/healthz").status_code == 200
                time.sleep(0.2)
            assert _count(db, audit_log) == 0 and _count(db, console_events) == 0
            assert "retention: deleted" in server.log_text()
    finally:
        db.dispose()
        server.stop()


@pytest.mark.e2e
def test_a_bad_retention_stops_serve_with_the_reason(tmp_path: Path) -> None:
    server = ServerProcess(database=f"sqlite:///{tmp_path}/scimhub.db", workdir=tmp_path,
                           args=("--audit-retention", "ninety days"))
    with pytest.raises(RuntimeError, match="is not an age"):
        server.start()
    server.stop()
