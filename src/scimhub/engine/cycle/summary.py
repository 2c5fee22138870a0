"""What one cycle did, as ``scimhub sync`` prints it and the cycle record stores it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from scimhub.engine.types import PlannedWrite, Report

#: ``initial`` re-evaluates every object; ``incremental`` only those whose source changed.
CycleKind = Literal["initial", "incremental", ""]


@dataclass
class CycleSummary:
    cycle_id: str
    job: str
    kind: CycleKind
    dry_run: bool
    counts: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    requests: int = 0
    retries: int = 0
    duration_s: float = 0.0
    #: A dry run's writes, as they would have been sent (redacted values as ``[Redact]``).
    planned: list[PlannedWrite] = field(default_factory=list)
    error: str | None = None
    #: What the import read (engine/source_mirror.py): ``kind`` ("complete", "delta",
    #: "unchanged"), ``fetched`` (entries read with their attributes), ``listed`` (ids only).
    source: dict[str, Any] | None = None

    def to_dict(self) -> Report:
        body: Report = {
            "cycle_id": self.cycle_id, "job": self.job, "kind": self.kind,
            "dry_run": self.dry_run, "counts": dict(self.counts), "failures": self.failures,
            "requests": self.requests, "retries": self.retries,
            "duration_s": round(self.duration_s, 3)}
        if self.dry_run:
            body["planned"] = self.planned
        if self.source is not None:
            body["source"] = self.source
        if self.error:
            body["error"] = self.error
        return body
