"""Restart keeps the links; reset forgets them (issue 11, docs/entra.md §2.1.1), against a real
``scimhub serve``.

Entra's Restart provisioning clears the watermark and the escrow and lifts quarantine, but
keeps the links between source and target objects: the next cycle is initial, re-evaluates
every object and updates what differs, without matching anything again. Forgetting the links
is a separate, destructive command (``job reset NAME --yes``), after which every object is
matched again by its matching attributes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.server import ServerProcess
from tests.engine.test_engine_e2e import Job, directory, target  # noqa: F401
from tests.engine.test_job_control import scimhub, status, sync


def cycle_log(job: Job, cycle_id: str) -> list[dict[str, Any]]:
    entries = json.loads(scimhub(job, "logs", "--job", "acunetix-360", "--json",
                                 "--limit", "1000").stdout)
    return [e for e in entries if e.get("cycle_id") == cycle_id]


def prefixed(job: Job, prefix: str) -> dict[str, str]:
    """userName -> id of this test's users in the target."""
    return {n: u["id"] for n, u in job.users().items() if n.startswith(prefix)}


def first_cycle(job: Job, prefix: str) -> dict[str, str]:
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = prefix + u["userPrincipalName"]
    for g in data["groups"]:
        g["displayName"] = prefix + g["displayName"]
    job.write(data)
    first = sync(job)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["counts"]["create"] == 5
    return prefixed(job, prefix)


def test_restart_keeps_the_links(target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    before = first_cycle(job, "rs-")
    restarted = scimhub(job, "job", "restart", "acunetix-360")
    assert restarted.returncode == 0 and "links kept" in restarted.stdout, restarted.stderr
    again = sync(job)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["kind"] == "initial", "the watermark was cleared"
    assert set(summary["counts"]) <= {"skipped"} and summary["failures"] == 0, summary
    # Only the start-of-cycle reads (credentials probe, /Schemas, /ResourceTypes): no
    # matching query for the 5 users and 1 group it knows, no create.
    assert summary["requests"] <= 3, summary
    assert prefixed(job, "rs-") == before, "the same target objects, none created twice"
    assert {e["action"] for e in cycle_log(job, summary["cycle_id"])} <= {"skip"}, (
        "out-of-scope objects are logged as skipped; nothing else happened")


def test_reset_needs_yes_then_matches_every_object_again(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    before = first_cycle(job, "rz-")
    refused = scimhub(job, "job", "reset", "acunetix-360")
    assert refused.returncode != 0 and "--yes" in refused.stderr, refused.stderr
    assert json.loads(sync(job).stdout)["kind"] == "incremental", "nothing was reset"
    reset = scimhub(job, "job", "reset", "acunetix-360", "--yes")
    assert reset.returncode == 0, reset.stderr
    again = sync(job)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["kind"] == "initial" and summary["failures"] == 0, summary
    assert "create" not in summary["counts"], summary
    assert prefixed(job, "rz-") == before, "matched, not created again"
    # One matching query per object in scope (4 users, 1 group) after the probe: the links
    # were forgotten. (An object matched with nothing to change is not logged.)
    assert summary["requests"] >= 1 + 5, summary
    # What the job had sent was forgotten with the links: the manager and the group's
    # members are sent again.
    updated = {e["source_id"] for e in cycle_log(job, summary["cycle_id"])
               if e["action"] == "update"}
    assert {"u2", "g1"} <= updated, updated
    assert status(job)["quarantine_reason"] is None
