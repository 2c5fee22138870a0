"""Running jobs: one cycle now, or every job on its interval until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import smtplib
import socket
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from scimhub.engine.config import JobConfig
from scimhub.engine.cycle.cycle import Cycle, CycleSummary, never
from scimhub.engine.errors import (
    DeletionThresholdExceeded,
    JobTargetChanged,
    SourceCredentialsRejected,
    TargetError,
    Unreachable,
)
from scimhub.engine.errors import JobBusy as JobBusy  # re-exported: their old home
from scimhub.engine.errors import JobStopped as JobStopped
from scimhub.engine.errors import LeaseLost as LeaseLost
from scimhub.engine.identity import claim_job
from scimhub.engine.metrics import NO_OBSERVER, CycleReport, Observer, Outcome, reason_code
from scimhub.engine.notify import failure_digest, quarantine_message
from scimhub.engine.source_mirror import SourceRead, read_source
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.target.retry import retry_reason
from scimhub.engine.target.schema import bind_to, discover, listing
from scimhub.logs import FIELDS_KEY
from scimhub.store.database import Database
from scimhub.store.provisioning import CycleRecord, EngineState, JobRecord, LogEntry

Progress = Callable[[str, int, int], None]
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: A request line in an error's detail keeps its path; its query (a match filter holds a
#: source value, e.g. ``userName eq "ada@..."``) is left out of the log.
_QUERY = re.compile(r"((?:GET|POST|PUT|PATCH|DELETE) [^\s?]*)\?.*?(?= -> |: |$)")
log = logging.getLogger("scimhub.engine")


#: This process, as a lease owner.
WORKER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Watch:
    """One run of one job as the metrics and the log see it: what it knew when it ended.

    A dry run watches nothing: it is not the job running, and moves no metric."""

    def __init__(self, job: JobConfig, observer: Observer, state: EngineState,
                 stored: JobRecord | None, *, dry_run: bool, caller_reports: bool = False
                 ) -> None:
        self.job = job
        #: A failure is logged at INFO, not WARNING, when whoever called reports it itself
        #: (``sync --once`` prints it): a structured log still has the cycle's line, and a
        #: terminal does not show the same error twice.
        self.failure_level = logging.INFO if caller_reports else logging.WARNING
        self.observer = NO_OBSERVER if dry_run else observer
        self.dry_run = dry_run
        self.job_id = stored.id if stored is not None else ""
        self.kind = _kind(job, state, self.job_id) if stored is not None else "initial"
        self.begun = False
        self.quarantined = False
        self.cycle: Cycle | None = None
        self.max_attempts = 1
        self.clock = time.perf_counter()

    def fields(self, **more: Any) -> dict[str, Any]:
        return {FIELDS_KEY: {"job": self.job.name, "job_id": self.job_id, "kind": self.kind,
                             **more}}

    def begin(self, job_id: str, state: EngineState) -> None:
        """The cycle starts: this worker holds the job's lease."""
        self.job_id, self.kind, self.begun = job_id, _kind(self.job, state, job_id), True
        log.info("%s: %s cycle started", self.job.name, self.kind, extra=self.fields())

    def attempt(self, _method: str, _url: str, outcome: int | TargetError, attempt: int,
                _seconds: float) -> None:
        """ScimTarget's per-attempt hook: a transient answer that will be tried again."""
        reason = retry_reason(outcome)
        if reason is not None and attempt < self.max_attempts:
            self.observer.retried(self.job.name, reason)

    def quarantine(self, reason: str) -> None:
        self.quarantined = True
        self.observer.quarantined(self.job.name, reason)

    def release(self) -> None:
        self.observer.released(self.job.name)

    def end(self, summary: CycleSummary | None, error: BaseException | None = None) -> None:
        if not self.begun:
            if error is not None and not isinstance(error, JobStopped | JobBusy) \
                    and not self.dry_run:
                log.log(self.failure_level, "%s: not started: %s", self.job.name,
                        safe_detail(error), extra=self.fields(error=type(error).__name__,
                                                              detail=safe_detail(error)))
            return
        outcome: Outcome
        if self.quarantined:
            outcome = "quarantined"
        elif error is not None:
            outcome = "failed"
        elif summary is not None and summary.error:
            outcome = "stopped"
        else:
            outcome = "partial" if summary is not None and summary.failures else "success"
        if summary is None and self.cycle is not None:
            summary = self.cycle.summary
        known = self.cycle.prov.known.values() if self.cycle is not None else None
        report = CycleReport(
            self.job.name, self.job_id, summary.cycle_id if summary and summary.cycle_id
            else None, summary.kind if summary and summary.kind else self.kind, outcome,
            time.perf_counter() - self.clock, time.time(),
            dict(summary.counts) if summary is not None else {},
            None if known is None else sum(1 for k in known if k.attempts > 0))
        self.observer.cycle_ended(report)
        fields = {"cycle_id": report.cycle_id, "outcome": outcome,
                  "duration_s": round(report.duration_s, 3), "counts": dict(report.counts),
                  "escrowed": report.escrowed}
        if summary is not None:
            fields |= {"failures": summary.failures, "requests": summary.requests,
                       "retries": summary.retries}
        if error is None:
            log.info("%s: %s cycle %s: %s", self.job.name, report.kind, report.cycle_id,
                     outcome, extra=self.fields(**fields | {"kind": report.kind}))
            return
        code = error.code if isinstance(error, TargetError) else type(error).__name__
        log.log(self.failure_level, "%s: %s cycle%s %s: %s", self.job.name, report.kind,
                f" {report.cycle_id}" if report.cycle_id else "", outcome, safe_detail(error),
                extra=self.fields(**fields | {"kind": report.kind, "error": code,
                                              "detail": safe_detail(error)}))


def safe_detail(error: BaseException) -> str:
    """An error's text as the log may show it: request queries left out (a match filter holds
    a source value), and cut short. Secrets never reach an engine error's text (the token is
    a header; a source's password is never quoted); what a target answers to one object's
    write (which may echo a ``Redact()`` value) is that object's failure, kept in the
    provisioning log with the value scrubbed, never a cycle's error."""
    return without_queries(error.detail if isinstance(error, TargetError) else str(error))


def without_queries(text: str) -> str:
    """``text`` with the query of each request line in it left out (``GET /Users?…``), cut
    to 500 characters: what of an engine error's text a log line carries."""
    return _QUERY.sub(r"\1?…", text)[:500]


def _kind(job: JobConfig, state: EngineState, job_id: str) -> str:
    """The kind of the job's next cycle, as ``Cycle.run`` decides it."""
    last = state.last_cycle(job_id)
    return "incremental" if last is not None and last.fingerprint == job.fingerprint \
        else "initial"


async def run_once(job: JobConfig, db: Database, *, dry_run: bool = False,
                   progress: Progress | None = None,
                   stop: Callable[[], bool] = never,
                   observer: Observer = NO_OBSERVER,
                   caller_reports: bool = False) -> CycleSummary:
    """One cycle, with Entra's quarantine rules around it; ``observer`` hears how it ended
    (engine/metrics.py), and the ``scimhub.engine`` logger says when it starts and ends
    (a failure at WARNING, or at INFO when the caller reports the error it raises).

    The job file is first matched to its job row (``claim_job``: a file whose target is
    not the stored job's is refused before anything is read or written). Then, as Entra
    does when any activity starts (docs/entra.md §1.2, §2.7.1), the credentials are proved
    by one cheap authenticated request, the random-GUID user probe: an incremental cycle
    with nothing to change sends nothing to /Users or /Groups (and the schema discovery
    that follows may be served without credentials), so without the probe it would end
    "successfully" with a revoked token and release a quarantine it has not earned.
    Rejected credentials and the accidental-deletion guard quarantine the job at once; so
    do failures past the thresholds of ``[quarantine]``. Only a cycle that proved the
    credentials and stayed under the thresholds takes the job out of quarantine.
    """
    state = EngineState(db)
    stored = state.job(job.name)
    if stored is not None and stored.state.state == "stopped" and not dry_run:
        raise JobStopped(f"{job.name} is stopped; 'scimhub job start {job.name}' resumes it")
    watch = _Watch(job, observer, state, stored, dry_run=dry_run,
                   caller_reports=caller_reports)
    try:
        summary = await _run_once(job, state, stored, watch, dry_run=dry_run,
                                  progress=progress, stop=stop)
    except BaseException as exc:
        watch.end(None, exc)
        raise
    watch.end(summary)
    return summary


async def _run_once(job: JobConfig, state: EngineState, stored: JobRecord | None,
                    watch: _Watch, *, dry_run: bool, progress: Progress | None,
                    stop: Callable[[], bool]) -> CycleSummary:
    async with ScimTarget(job.target.url, job.target.token,
                          concurrency=job.target.concurrency,
                          timeout=job.target.timeout, rate=job.target.rate) as target:
        try:
            job_id = await claim_job(state, job, target, record=not dry_run)
        except Unreachable as exc:
            if stored is not None and not dry_run:
                _quarantine(watch, stored.id, state,
                            f"EncounteredQuarantineException: {exc.code}: {exc.detail}",
                            in_cycle=False)
            raise
        if not dry_run:
            _reclaim_from_dead_local_worker(state, job_id)
            if not state.acquire_lease(job_id, WORKER, job.lease_seconds):
                raise JobBusy(f"{job.name} is running in another engine worker")
            watch.max_attempts = target.policy.max_attempts
            target.on_attempt = watch.attempt
            watch.begin(job_id, state)

        def heartbeat() -> None:
            # A worker that was paused (or cut off from the database) longer than its lease
            # may find the job taken over: it must stop, or the job runs in two places.
            if not dry_run and not state.acquire_lease(job_id, WORKER, job.lease_seconds):
                raise LeaseLost(f"{job.name}: another engine worker took the job over; "
                                "this one stopped its cycle")

        try:
            # The target first: proving it costs one request, and a revoked token or a
            # mapping the target lacks must not wait behind a read of the whole directory.
            await _prove_credentials(target)
            found = await discover(target)  # the target's schema (docs/entra.md §1.12.1)
            if not dry_run:  # recorded even when a mapping does not bind: job schema shows why
                state.save_target_schema(job_id, listing(job, found))
            job = bind_to(job, found)  # mappings checked against it, values typed
            imported = await _import(job, state, job_id, dry_run=dry_run)
            cycle = watch.cycle = Cycle(job, state, target, imported.directory,
                                        dry_run=dry_run, progress=progress, stop=stop,
                                        heartbeat=heartbeat, job_id=job_id)
            cycle.summary.source = imported.stats
            summary = await cycle.run()
            if not dry_run:
                _log_warnings(state, job_id, summary.cycle_id, imported)
        except SourceCredentialsRejected as exc:
            if not dry_run:
                _quarantine(watch, job_id, state, f"SourceCredentialsRejected: {exc}",
                            in_cycle=False)
            raise
        except Unreachable as exc:
            if not dry_run:  # a dry run writes nothing, the job's state included
                _quarantine(watch, job_id, state,
                            f"EncounteredQuarantineException: {exc.code}: {exc.detail}")
            raise
        except DeletionThresholdExceeded as exc:
            if not dry_run:
                _quarantine(watch, job_id, state, f"DeletionThresholdExceeded: {exc}")
            raise
        finally:
            if not dry_run:
                state.release_lease(job_id, WORKER)
    if not dry_run:
        _judge(watch, job_id, state, summary)
        _digest(job, job_id, state, summary)
    return summary


async def _import(job: JobConfig, state: EngineState, job_id: str, *,
                  dry_run: bool) -> SourceRead:
    """Entra's import step (engine/source_mirror.py): everything when the cycle is initial
    (the first, after a restart or reset, after the mappings changed), else what changed
    since the job's watermark, applied to its mirror of the source. Run under the job's lease,
    so two workers never move one watermark; saved (mirror and watermark in one transaction)
    as soon as the read succeeded, since the cycle works from the whole mirror and not from
    the delta: what it fails to provision now, the next cycle still finds changed. A dry run
    reads and saves nothing."""
    last = state.last_cycle(job_id)
    initial = last is None or last.fingerprint != job.fingerprint
    imported = await read_source(job.source, state, job_id, initial=initial)
    if imported.warnings:
        imported.stats["warnings"] = len(imported.warnings)
    if not dry_run:
        imported.save(state, job_id)
    return imported


def _log_warnings(state: EngineState, job_id: str, cycle_id: str, imported: SourceRead) -> None:
    """Bad input the source skipped, logged against its object (its import step failed);
    the rest of the cycle went on."""
    state.write_log(job_id, cycle_id, [LogEntry(
        w.kind, w.object_id, None, w.object_id, "skip", "failure", "InvalidSourceData",
        w.reason, steps=({"step": "import", "outcome": "failure", "reason": w.reason},))
        for w in imported.warnings])


async def _prove_credentials(target: ScimTarget) -> None:
    """Entra's start-of-activity probe (docs/entra.md §1.2): ``GET /Users?filter=userName eq
    "<random GUID>"`` must answer 200 with an empty list. 401/403 (and a 404 for the empty
    filter) raise ``Unreachable``, which quarantines the job; a target that cannot be
    reached raises after the retries, failing the cycle without touching the quarantine.

    The random GUID is taken out of the error's detail: the detail becomes the quarantine
    reason, and one e-mail goes out per reason, not one per cycle."""
    try:
        await target.probe(("Users",))
    except Unreachable as exc:
        exc.detail = _GUID.sub("<random GUID>", exc.detail)
        exc.args = (f"{exc.code}: {exc.detail}",)
        raise


def _quarantine(watch: _Watch, job_id: str, state: EngineState, reason: str, *,
                in_cycle: bool = True) -> None:
    """Quarantine, with one e-mail per quarantine reason (a changed reason mails again).

    The log entry belongs to the cycle that failed; a failure before any cycle started
    (checking a new token) belongs to none, so no tenant's console is shown it. The metrics
    hear of every quarantine, a kept one included; the process log, of a new reason.
    """
    job = watch.job
    watch.quarantine(reason)
    if not state.quarantine(job_id, reason):
        return
    log.warning("%s: quarantined: %s", job.name, reason_code(reason), extra={FIELDS_KEY: {
        "job": job.name, "job_id": job_id, "quarantine_reason": reason_code(reason),
        "detail": without_queries(reason)}})
    last = state.cycles(job_id, 1) if in_cycle else []
    state.write_log(job_id, last[0].id if last else "none", [LogEntry(
        "job", None, None, job.name, "quarantine", "failure", reason.split(":", 1)[0], reason)])
    if job.notifications is not None:
        _send(job, *quarantine_message(job.name, reason))


def _digest(job: JobConfig, job_id: str, state: EngineState, summary: CycleSummary) -> None:
    if job.notifications is None or not job.notifications.on_failure or not summary.failures:
        return
    failures = state.search_log(job_id, status="failure", cycle_id=summary.cycle_id)
    _send(job, *failure_digest(job.name, summary.cycle_id, failures))


def _send(job: JobConfig, subject: str, body: str) -> None:
    assert job.notifications is not None
    try:
        job.notifications.send(subject, body)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("%s: could not send e-mail to %s: %s", job.name, job.notifications.email,
                    exc, extra={FIELDS_KEY: {"job": job.name, "error": type(exc).__name__}})


def _reclaim_from_dead_local_worker(state: EngineState, job_id: str) -> None:
    """A lease held by a process of this host that no longer exists (killed, crashed) is
    released at once instead of after it expires; other hosts' leases must expire."""
    owner = state.lease_owner(job_id)
    if owner is None:
        return
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or owner == WORKER:
        return
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        state.release_lease(job_id, owner)
    except PermissionError:
        return


def _over_thresholds(job: JobConfig, failures: int, processed: int) -> bool:
    """Entra's escrow thresholds (``[quarantine]``): too many failures, in number and share."""
    ratio = failures / processed if processed else 0.0
    rules = job.quarantine
    return failures >= rules.min_failures and (
        ratio > rules.failure_ratio or failures > rules.max_failures)


def _judge(watch: _Watch, job_id: str, state: EngineState, summary: CycleSummary) -> None:
    processed = sum(summary.counts.values())
    if _over_thresholds(watch.job, summary.failures, processed):
        _quarantine(watch, job_id, state, f"EncounteredEscrowProportionThreshold: "
                    f"{summary.failures} of {processed} objects failed")
    else:
        state.release(job_id)
        watch.release()


def report_stored_state(jobs: list[JobConfig], db: Database, observer: Observer) -> None:
    """Tell ``observer`` what the database knows of each job before this process ran any
    cycle: whether it is quarantined, and when its last successful cycle ended. A job
    quarantined last week must not look healthy until its next (daily) cycle."""
    state = EngineState(db)
    for job in jobs:
        stored = state.job(job.name)
        if stored is None:
            observer.restored(job.name, None, None)
            continue
        observer.restored(job.name, stored.state.quarantine_reason,
                          _last_success(job, state.cycles(stored.id, 50)))


def _last_success(job: JobConfig, cycles: list[CycleRecord]) -> float | None:
    """When the newest of these cycles that counts as a success ended: a scheduled cycle that
    finished without an error (neither stopped nor cut short) and under the quarantine
    thresholds, as the runner judges one that it watches end."""
    for cycle in cycles:  # newest first
        summary = cycle.summary or {}
        if (cycle.finished is None or cycle.kind not in ("initial", "incremental")
                or summary.get("error") or summary.get("dry_run")):
            continue
        failures = int(summary.get("failures", 0))
        if _over_thresholds(job, failures, sum(summary.get("counts", {}).values())):
            continue
        return datetime.fromisoformat(cycle.finished).timestamp()
    return None


def terminal_progress() -> AbstractContextManager[Progress | None]:
    """A rich progress bar on an interactive terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeRemainingColumn

    bar = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), transient=True)
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    class _Bar:
        def __enter__(self) -> Progress | None:
            bar.start()
            return update  # type: ignore[return-value]

        def __exit__(self, *_exc: object) -> None:
            bar.stop()

    return _Bar()  # type: ignore[return-value]


async def run_forever(jobs: list[JobConfig], db: Database,
                      on_cycle: Callable[[CycleSummary], None],
                      observer: Observer = NO_OBSERVER) -> list[str]:
    """Each job on its own interval (default 40 minutes), once a day while quarantined, until
    SIGTERM or SIGINT: then the objects in flight finish, what the engine learned is saved,
    and it exits. Returns the names of the jobs that were refused (their file points at
    another target than their state): those stop at once, the others go on."""
    refused: list[str] = []
    state = EngineState(db)
    stopping = asyncio.Event()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        running.add_signal_handler(sig, stopping.set)

    async def pause(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)

    async def loop(job: JobConfig) -> None:
        while not stopping.is_set():
            try:
                on_cycle(await run_once(job, db, stop=stopping.is_set, observer=observer))
            except (JobStopped, JobBusy):
                await pause(min(job.interval_seconds, 60))
                continue
            except JobTargetChanged as exc:
                # The job file itself is wrong: every later cycle would be refused the same
                # way, so say it once and leave this job until the file is fixed.
                log.error("%s: not run: %s", job.name, exc,
                          extra={FIELDS_KEY: {"job": job.name, "error": "JobTargetChanged"}})
                refused.append(job.name)
                return
            except Exception:  # noqa: S110 - logged by run_once; must not stop the others
                pass
            stored = state.job(job.name)
            quarantined = stored is not None and stored.state.quarantine_reason is not None
            await pause(max(job.interval_seconds, job.quarantine.interval_seconds)
                        if quarantined else job.interval_seconds)

    await asyncio.gather(*(loop(job) for job in jobs))
    return refused
