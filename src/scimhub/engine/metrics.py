"""What the engine tells Prometheus: cycles, objects, retries, escrow, quarantine, last success.

The runner reports to an :class:`Observer` it is handed (a no-op by default), never to
module-level state, so a test or a process may hold several independent sets of metrics.
:class:`EngineMetrics` is the observer that keeps them, in a ``CollectorRegistry`` of its
own rather than prometheus_client's global one; :func:`serve_metrics` exposes that registry
over HTTP for ``scimhub sync --metrics-port``.

Every label is bounded: ``job`` is the name the operator gave the job, ``job_id`` its id,
``kind``, ``outcome``, ``action``, ``status`` and ``reason`` come from short fixed lists. A
quarantine's text (which carries the target's answer) is never a label: only its code is.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server

#: ``success``: the cycle finished and no object failed; ``partial``: it finished with failed
#: objects (in escrow) under the quarantine thresholds; ``quarantined``: it put or kept the
#: job in quarantine; ``stopped``: SIGTERM ended it after the objects in flight; ``failed``:
#: it did not finish for another reason (the target did not answer, the source failed...).
Outcome = Literal["success", "partial", "quarantined", "stopped", "failed"]
#: The outcomes after which the job counts as having run: the last-success gauge moves.
SUCCESSFUL: Final[frozenset[str]] = frozenset({"success", "partial"})

PREFIX: Final = "scimhub_engine_"
#: From a second (nothing changed) to hours (an initial cycle of a large directory).
DURATION_BUCKETS: Final = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
                           1800.0, 3600.0, 7200.0, 14400.0)


@dataclass(frozen=True)
class CycleReport:
    """One cycle as the runner saw it end. ``counts`` is the cycle summary's (an action for
    the objects that succeeded, ``skipped`` and ``failure`` for the others); ``escrowed`` is
    None when the cycle ended before it knew the job's objects."""

    job: str
    job_id: str
    cycle_id: str | None
    kind: str
    outcome: Outcome
    duration_s: float
    finished: float
    counts: Mapping[str, int] = field(default_factory=dict)
    escrowed: int | None = None


class Observer:
    """What the runner reports, each method a no-op: the default for tests and the demo."""

    def cycle_ended(self, report: CycleReport) -> None:
        """A cycle ended, however it ended."""

    def retried(self, job: str, reason: str) -> None:
        """A request to the job's target got a transient answer and is tried again."""

    def quarantined(self, job: str, reason: str) -> None:
        """The job is in quarantine; ``reason`` is the full reason, as ``job status`` shows."""

    def released(self, job: str) -> None:
        """The job is out of quarantine."""

    def restored(self, job: str, quarantine_reason: str | None,
                 last_success: float | None) -> None:
        """What the database says of a job when the process starts, before any cycle here."""


NO_OBSERVER: Final = Observer()


def reason_code(reason: str) -> str:
    """The bounded part of a quarantine reason: its code, without the target's words.

    ``EncounteredQuarantineException: Unauthorized: GET ... -> 401: ...`` gives
    ``EncounteredQuarantineException: Unauthorized``; the other reasons have one code."""
    parts = [p.strip() for p in reason.split(":")]
    if parts[0] == "EncounteredQuarantineException" and len(parts) > 1:
        return f"{parts[0]}: {parts[1]}"
    return parts[0]


def object_labels(key: str) -> tuple[str, str]:
    """A summary count's key as (action, status): the summary counts a successful object
    under its action and the others under their status (engine/cycle/provision.py)."""
    if key == "skipped":
        return "skip", "skipped"
    if key == "failure":
        return "provision", "failure"
    return key, "success"


class EngineMetrics(Observer):
    """The engine's metrics, in a registry of their own (``registry``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.cycles = Counter(f"{PREFIX}cycles", "Cycles run, by how they ended.",
                              ("job", "job_id", "kind", "outcome"), registry=r)
        self.duration = Histogram(f"{PREFIX}cycle_duration_seconds",
                                  "Wall time of a cycle, from the credentials probe to the "
                                  "verdict on quarantine.", ("job", "kind"),
                                  buckets=DURATION_BUCKETS, registry=r)
        self.objects = Counter(f"{PREFIX}objects", "Objects a cycle acted on, by action and "
                               "status (the cycle summary's counts).",
                               ("job", "action", "status"), registry=r)
        self.retries = Counter(f"{PREFIX}retries", "Requests to the target tried again after "
                               "a transient answer, by what it was (429, 5xx, timeout, "
                               "connection).", ("job", "reason"), registry=r)
        self.escrowed = Gauge(f"{PREFIX}escrowed_objects", "Objects whose last write failed "
                              "and that wait in escrow for their retry.", ("job",), registry=r)
        self.quarantine = Gauge(f"{PREFIX}quarantined", "1 while the job is in quarantine.",
                                ("job",), registry=r)
        self.quarantine_reason = Gauge(f"{PREFIX}quarantine_reason", "1 for the code of the "
                                       "current quarantine reason (none when not quarantined)."
                                       , ("job", "reason"), registry=r)
        self.last_success = Gauge(f"{PREFIX}last_success_timestamp_seconds", "When the job's "
                                  "last successful cycle (success or partial) ended, Unix "
                                  "time; 0 when it never had one.", ("job",), registry=r)
        self._reasons: dict[str, str] = {}
        # Cycles of several jobs end on one event loop, but the HTTP server reads from its
        # own thread: the reason bookkeeping must change as one step.
        self._lock = threading.Lock()

    def cycle_ended(self, report: CycleReport) -> None:
        self.cycles.labels(report.job, report.job_id, report.kind or "unknown",
                           report.outcome).inc()
        self.duration.labels(report.job, report.kind or "unknown").observe(report.duration_s)
        for key, count in report.counts.items():
            if count:
                self.objects.labels(report.job, *object_labels(key)).inc(count)
        if report.escrowed is not None:
            self.escrowed.labels(report.job).set(report.escrowed)
        if report.outcome in SUCCESSFUL:
            self.last_success.labels(report.job).set(report.finished)
        else:
            self.last_success.labels(report.job)  # present (0) before any success

    def retried(self, job: str, reason: str) -> None:
        self.retries.labels(job, reason).inc()

    def quarantined(self, job: str, reason: str) -> None:
        code = reason_code(reason)
        with self._lock:
            old = self._reasons.get(job)
            if old is not None and old != code:
                self.quarantine_reason.remove(job, old)
            self._reasons[job] = code
            self.quarantine_reason.labels(job, code).set(1)
            self.quarantine.labels(job).set(1)

    def released(self, job: str) -> None:
        with self._lock:
            old = self._reasons.pop(job, None)
            if old is not None:
                self.quarantine_reason.remove(job, old)
            self.quarantine.labels(job).set(0)

    def restored(self, job: str, quarantine_reason: str | None,
                 last_success: float | None) -> None:
        if quarantine_reason is None:
            self.released(job)
        else:
            self.quarantined(job, quarantine_reason)
        self.last_success.labels(job).set(last_success or 0)


class MetricsServer:
    """``GET /metrics`` (any path answers) on ``host:port`` from a daemon thread: it serves
    while the process runs and dies with it; :meth:`close` stops it sooner."""

    def __init__(self, metrics: EngineMetrics, host: str, port: int) -> None:
        self.server, self.thread = start_http_server(port, host, registry=metrics.registry)
        self.port = int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve_metrics(metrics: EngineMetrics, host: str, port: int) -> MetricsServer:
    """Start serving ``metrics``; OSError when the address is taken or not ours."""
    return MetricsServer(metrics, host, port)
