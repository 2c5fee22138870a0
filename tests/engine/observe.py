"""Running ``scimhub sync`` with its metrics served, and reading what it says: for the tests
of the engine's metrics and logs (test_engine_metrics.py, test_engine_logs.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

#: Passed on, so that the engine runs the code the tests import (scripts/plant_bugs.py).
PYTHONPATH = {k: v for k, v in os.environ.items() if k == "PYTHONPATH"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    """Every sample of ``GET /metrics``, by (name, labels)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The one sample of ``name`` whose labels include ``labels``; None when there is none."""
    found = [v for (n, ls), v in samples.items()
             if n == name and set(labels.items()) <= set(ls)]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def wait_for(condition: Callable[[], bool], seconds: float, what: str,
             process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the engine exited ({process.returncode}) before {what}:\n"
                                 f"{out}\n{err}")
        try:
            if condition():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Engine:
    """``scimhub --log-format json sync --config job.toml --json --metrics-port P`` as a
    process, stopped by SIGTERM; ``stdout`` and ``stderr`` are what it wrote."""

    def __init__(self, config: Path, database: str, token: str, port: int,
                 *extra: str) -> None:
        self.port = port
        self.stdout = self.stderr = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scimhub", "--log-format", "json", "sync",
             "--config", str(config), "--json", "--database", database,
             "--metrics-port", str(port), *extra],
            env={"SCIMHUB_TARGET_TOKEN": token, "PATH": "/usr/bin:/bin", **PYTHONPATH},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def metrics(self) -> Samples:
        return scrape(self.port)

    def wait(self, condition: Callable[[Samples], bool], what: str,
             seconds: float = 60) -> Samples:
        """The metrics once ``condition`` holds for them."""
        wait_for(lambda: condition(self.metrics()), seconds, what, self.process)
        return self.metrics()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.stdout, self.stderr = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.stdout, self.stderr = self.process.communicate()
        return self.process.returncode

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line as JSON: a line that does not parse fails the test."""
    lines = []
    for line in stderr.splitlines():
        try:
            lines.append(dict(json.loads(line)))
        except ValueError as exc:
            raise AssertionError(f"not a JSON line: {line!r}") from exc
    return lines
