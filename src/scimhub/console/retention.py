"""Retention of the audit log and the console's activity log: old entries are deleted.

``scimhub serve --audit-retention AGE`` (default ``90d``; ``0`` keeps everything) reaches each
worker's app factory (:func:`scimhub.web.app_from_environment`), which checks it
(:func:`parse_retention`: a bad value stops the server at start with the reason) and wraps the
application's lifespan with :func:`with_retention`. A background task then deletes the entries
older than the retention soon after start and every hour after: on a thread of its own, never
the event loop nor the request threads, in batches of a few thousand rows, each batch its own
short transaction, so that SCIM writes and console pages wait at most one batch.

Every worker process sweeps; a second sweep finds nothing left to delete and costs one indexed
read per table.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from starlette.applications import Starlette

from scimhub.logs import FIELDS_KEY
from scimhub.scim.resource import format_datetime
from scimhub.store.audit import AuditStore
from scimhub.store.database import Database
from scimhub.store.events import ConsoleEvents

log = logging.getLogger("scimhub.retention")

DEFAULT_RETENTION: Final = "90d"
#: The longest wait between sweeps; a shorter retention sweeps as often as it lasts.
HOURLY: Final = 3600.0
#: The first sweep waits this long after start (or the retention, when shorter), so that a
#: restart does not add a scan to the server's first seconds.
FIRST_SWEEP_AFTER: Final = 10.0
#: How long shutdown waits for a sweep that is running to finish its batch.
STOP_WAIT: Final = 5.0
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"(\d{1,9})([smhdw])")
#: datetime's range ends in year 9999: a longer retention is "forever" in all but name.
_MAX_SECONDS: Final = 100 * 365 * 86400


class BadRetention(ValueError):
    """An ``--audit-retention`` that means nothing; the message says what is expected."""


def parse_retention(text: str | None) -> float | None:
    """Seconds to keep entries for, or None to keep them forever (``0``). Unset is the
    default, 90 days."""
    value = (text if text is not None else DEFAULT_RETENTION).strip().lower()
    if value == "0":
        return None
    found = _AGE.fullmatch(value)
    if found is None or int(found.group(1)) == 0:
        raise BadRetention(
            f"--audit-retention {text!r} is not an age: give a whole number and a unit, "
            "s, m, h, d or w (e.g. 90d, 12h), or 0 to keep entries forever")
    seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if seconds > _MAX_SECONDS:
        raise BadRetention(f"--audit-retention {text!r} is longer than 100 years: give 0 to "
                           "keep entries forever")
    return float(seconds)


@dataclass(frozen=True)
class Swept:
    audit: int
    events: int


class RetentionSweep:
    """Deletes audit-log and console-event rows older than ``keep`` seconds."""

    def __init__(self, db: Database, keep: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.audit = AuditStore(db)
        self.events = ConsoleEvents(db)
        self.keep = keep
        self.clock = clock

    @property
    def interval(self) -> float:
        """Hourly, or as often as the retention lasts when that is shorter (at least 1 s)."""
        return min(HOURLY, max(1.0, self.keep))

    def cutoff(self) -> str:
        moment = datetime.fromtimestamp(self.clock(), UTC) - timedelta(seconds=self.keep)
        return format_datetime(moment)

    def sweep(self) -> Swept:
        """One sweep, blocking: call it on a thread (``run`` does)."""
        cutoff = self.cutoff()
        swept = Swept(self.audit.purge(cutoff), self.events.purge(cutoff))
        if swept.audit or swept.events:
            log.info("retention: deleted %d audit-log and %d console-event entries older "
                     "than %s", swept.audit, swept.events, cutoff, extra={FIELDS_KEY: {
                         "audit_deleted": swept.audit, "events_deleted": swept.events,
                         "cutoff": cutoff}})
        return swept

    async def run(self, executor: ThreadPoolExecutor) -> None:
        """Sweep soon after start, then every ``interval``, until cancelled. A failed sweep
        is logged and tried again at the next one."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(min(FIRST_SWEEP_AFTER, self.interval))
        while True:
            try:
                await loop.run_in_executor(executor, self.sweep)
            except Exception:
                log.exception("retention: the sweep failed; trying again in %g s",
                              self.interval)
            await asyncio.sleep(self.interval)


def with_retention(app: Starlette, db: Database, setting: str | None) -> Starlette:
    """``app`` with the sweep started by its lifespan (and stopped before the rest of the
    lifespan closes the database); unchanged when ``setting`` keeps entries forever.
    ``BadRetention`` for a setting that means nothing: the worker does not start."""
    keep = parse_retention(setting)
    if keep is None:
        return app
    sweep = RetentionSweep(db, keep)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as state:
            executor = ThreadPoolExecutor(1, "scimhub-retention")
            task = asyncio.create_task(sweep.run(executor), name="scimhub-retention")
            try:
                yield state
            finally:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
                # A sweep in the middle of a batch finishes it before the database closes.
                with suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.to_thread(executor.shutdown, wait=True),
                                           STOP_WAIT)

    app.router.lifespan_context = lifespan
    return app
