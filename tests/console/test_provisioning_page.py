"""The Provisioning page shows the engine's jobs and log for the tenant they write into only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from scimhub.provisioning.config import load_jobs
from scimhub.provisioning.cycle import Cycle
from scimhub.provisioning.sample import sample_directory
from scimhub.provisioning.sources.file import load_file
from scimhub.provisioning.target import ScimTarget
from scimhub.server.app import create_app
from scimhub.store.provisioning import EngineState
from tests.console.conftest import Site, sign_in

JOB = """[job]
name = "hr-to-acme"
[source]
type = "file"
path = "directory.json"
[target]
url = "http://testserver/scim/v2"
token = "{token}"
[scope]
mode = "all"
"""


def run_engine(site: Site, tmp_path: Path) -> None:
    (tmp_path / "directory.json").write_text(json.dumps(sample_directory(users=12, groups=2,
                                                                         members=3)))
    (tmp_path / "job.toml").write_text(JOB.format(token=site.tokens["acme"]))
    [job] = load_jobs(tmp_path / "job.toml")

    async def cycle() -> None:
        transport = httpx.ASGITransport(app=create_app(site.ctx))
        async with ScimTarget(job.target.url, job.target.token, transport=transport) as target:
            await Cycle(job, EngineState(site.ctx.db), target,
                        load_file(job.source.path)).run()

    asyncio.run(cycle())


def test_jobs_and_log_of_the_tenant_they_provision(site: Site, tmp_path: Path) -> None:
    run_engine(site, tmp_path)
    acme = site.client()
    sign_in(acme, "acme")
    page = acme.get("/provisioning")
    assert page.status_code == 200
    assert "hr-to-acme" in page.text and "initial" in page.text
    assert 'id="provisioning-log"' in page.text and "create" in page.text
    failures = acme.get("/provisioning", params={"status": "failure"})
    assert "No log entries match." in failures.text
    exported = acme.get("/provisioning", params={"format": "csv", "action": "create"})
    rows = exported.text.strip().splitlines()
    assert rows[0].startswith("at,job,cycle_id") and len(rows) == 1 + 12 + 2
    as_json = acme.get("/provisioning", params={"format": "json", "search": "Team 000"}).json()
    assert {e["identity"] for e in as_json} == {"Team 000"}

    globex = site.client()
    sign_in(globex, "globex")
    other = globex.get("/provisioning")
    assert "hr-to-acme" not in other.text and "No provisioning jobs" in other.text
    assert globex.get("/provisioning", params={"format": "json"}).json() == []
