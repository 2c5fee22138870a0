"""A log entry's steps and modified properties on the Provisioning page and in its exports.

Entra's provisioning log shows, for each entry, the steps the object went through (import,
scope, match, action) with their outcome and reason, and the properties it modified with
their old and new values (docs/entra.md §2.10). The console shows both, and the CSV export
carries both (as JSON cells, neutralised like every cell); a redacted value stays
``[Redact]`` everywhere.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from scimhub.store.provisioning import EngineState, LogEntry, Step
from tests.console.conftest import Site, sign_in
from tests.console.test_provisioning_page import one_user, run_engine

STEPS: tuple[Step, ...] = (
    {"step": "import", "outcome": "success", "reason": "Read from the source directory"},
    {"step": "scope", "outcome": "skipped",
     "reason": "Scoping filter 'Engineering only': department EQUALS 'Engineering' is false"},
)
MODIFIED = [{"attribute": "title", "old": "unknown", "new": "=CEO"},
            {"attribute": "nickName", "old": None, "new": "[Redact]"}]


def write_entries(site: Site, tmp_path: Path) -> None:
    """A real cycle for tenant acme, then two more entries under that cycle."""
    run_engine(site, tmp_path, directory=one_user("ada@acme.example"))
    state = EngineState(site.ctx.db)
    job = state.job("hr-to-acme")
    assert job is not None
    cycle = state.cycles(job.id, 1)[0].id
    state.write_log(job.id, cycle, [
        LogEntry("user", "u9", None, "edsger@acme.example", "skip", "skipped",
                 "NotEffectivelyEntitled", "out of scope", steps=STEPS),
        LogEntry("user", "u1", "t1", "grace@acme.example", "update", "success",
                 modified=MODIFIED,
                 steps=({"step": "action", "outcome": "success", "reason": "Updated"},))])


def test_the_page_shows_each_entrys_steps_and_modified_properties(
        site: Site, tmp_path: Path) -> None:
    write_entries(site, tmp_path)
    acme = site.client()
    sign_in(acme, "acme")
    page = acme.get("/provisioning").text
    assert "<h3>Steps</h3>" in page
    assert "<strong>scope</strong> · skipped · Scoping filter &#39;Engineering only&#39;" in page
    assert "NotEffectivelyEntitled: out of scope" in page
    assert "<td>nickName</td><td>∅</td><td>[Redact]</td>" in page


def test_exports_carry_steps_and_modified_properties(site: Site, tmp_path: Path) -> None:
    write_entries(site, tmp_path)
    acme = site.client()
    sign_in(acme, "acme")
    rows = list(csv.DictReader(io.StringIO(
        acme.get("/provisioning", params={"format": "csv"}).text)))
    by_identity = {r["identity"]: r for r in rows}
    assert json.loads(by_identity["edsger@acme.example"]["steps"]) == list(STEPS)
    grace = by_identity["grace@acme.example"]
    assert json.loads(grace["modified"]) == MODIFIED
    assert json.loads(by_identity["ada@acme.example"]["steps"]) is not None
    as_json = {e["identity"]: e for e in
               acme.get("/provisioning", params={"format": "json"}).json()}
    assert as_json["edsger@acme.example"]["steps"] == list(STEPS)
    assert as_json["grace@acme.example"]["modified"] == MODIFIED
