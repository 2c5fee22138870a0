"""The retention sweep over a large audit log, and what it costs the writes beside it.

Seeds N audit-log rows older than the retention (and N/10 newer), then runs one sweep
(``console/retention.py``) on a thread while the main thread records one audit entry at a time,
as the SCIM path's write-behind does, and prints the sweep's duration and the latency of those
writes (p50, max), against the same writes with no sweep running.

    .venv/bin/python bench/retention_sweep.py --rows 200000 [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from scimhub.console.retention import RetentionSweep
from scimhub.scim.resource import format_datetime
from scimhub.store.audit import AuditEntry, AuditStore
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.tables import tenants


def seed(db: Database, tenant: str, rows: int) -> None:
    old = format_datetime(datetime.now(UTC) - timedelta(days=200))
    new = format_datetime(datetime.now(UTC))
    store = AuditStore(db)
    for start in range(0, rows + rows // 10, 10_000):
        store.record([(tenant, AuditEntry(old if n < rows else new, "PATCH",  # type: ignore[arg-type]
                                          "/scim/v2/Users/x", "User", "x", "10.0.0.1", 200, 1))
                      for n in range(start, min(start + 10_000, rows + rows // 10))])


def writes(store: AuditStore, tenant: str, stop: threading.Event | None,
           count: int = 200) -> list[float]:
    took: list[float] = []
    while (stop is None and len(took) < count) or (stop is not None and not stop.is_set()):
        entry = AuditEntry(format_datetime(datetime.now(UTC)), "POST", "/scim/v2/Users",
                           "User", "y", None, 201, 1)
        started = time.perf_counter()
        store.record([(tenant, entry)])  # type: ignore[list-item]
        took.append((time.perf_counter() - started) * 1000)
        time.sleep(0.002)
    return took


def run(url: str, rows: int) -> None:
    db = Database(url)
    migrate(db)
    tenant = str(uuid.uuid4())
    with db.engine.begin() as conn:
        conn.execute(tenants.insert().values(id=tenant, name=f"bench-{tenant[:8]}",
                                             created=format_datetime(datetime.now(UTC))))
    seed(db, tenant, rows)
    store = AuditStore(db)
    idle = writes(store, tenant, None)
    stop = threading.Event()
    result: dict[str, float] = {}

    def sweep() -> None:
        started = time.perf_counter()
        swept = RetentionSweep(db, keep=90 * 86400).sweep()
        result["seconds"], result["deleted"] = time.perf_counter() - started, swept.audit
        stop.set()

    thread = threading.Thread(target=sweep)
    thread.start()
    busy = writes(store, tenant, stop)
    thread.join()
    print(f"{db.engine.dialect.name}: swept {int(result['deleted']):,} rows in "
          f"{result['seconds']:.1f} s; one-row writes meanwhile: {len(busy)}, p50 "
          f"{statistics.median(busy):.1f} ms, max {max(busy):.1f} ms "
          f"(no sweep: p50 {statistics.median(idle):.1f} ms, max {max(idle):.1f} ms)")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres", default=None, metavar="URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args.rows)
    if args.postgres:
        run(args.postgres, args.rows)
    print(f"command: .venv/bin/python bench/retention_sweep.py --rows {args.rows}"
          + (f" --postgres {args.postgres}" if args.postgres else ""))


if __name__ == "__main__":
    main()
