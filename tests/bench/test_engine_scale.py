"""bench/engine_scale.py at a few hundred users: it runs the engine in a process of its own
from a JSON Lines export, prints the figures issue 14 asks for, and its end-state check holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_engine_scale_runs_and_verifies_the_end_state(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    out = subprocess.run([sys.executable, str(BENCH / "engine_scale.py"), "--users", "300",
                          "--groups", "6", "--members", "10", "--json", str(report)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "verified: 300 users and 6 groups in the target" in out.stdout, out.stdout
    figures = json.loads(report.read_text())
    initial, unchanged = figures["initial"], figures["no_change"]
    assert initial["counts"]["create"] == 306 and initial["failures"] == 0
    assert 0 < initial["peak_rss_mb"] < 1024
    assert unchanged["counts"] == {} and unchanged["requests"] <= 3, unchanged
