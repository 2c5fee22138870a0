"""The SCIM source (engine/sources/scim.py) end to end: one scimhub tenant is the directory,
another the target, both on one real ``scimhub serve``; the engine runs as ``scimhub sync
--once --json`` and the target is checked through SCIM. Changes are made through the source
tenant's own SCIM API between cycles, as any client of that provider would make them.

The source tenant is shared by the module's tests: each test selects its own users and groups
with ``user_filter`` / ``group_filter`` (a prefix), which also proves the filters are the
scope. ``IndexOnlyProxy`` stands in front of the source as a provider without cursors and
without filtering on ``meta.lastModified``, and can truncate its listings.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import ClientSession, web

from scimhub.engine.config import ConfigError, SourceConfig, load_jobs
from scimhub.engine.errors import SourceCredentialsRejected
from scimhub.engine.sources import open_source
from scimhub.engine.sources.scim import ENTERPRISE, ScimSource, flatten, group_object, user_object
from tests.e2e.server import ServerProcess, free_port
from tests.engine.scim2_target import Scim2Server
from tests.engine.threaded_server import ThreadedServer

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Between changes and the cycle that reads them, when the next cycle must not read them
#: again: a read's watermark is its start by the provider's clock (the ``Date`` header,
#: rounded down to the second and refreshed by uvicorn once a second) less the 1 s overlap, so
#: an object written within about 3 s before a read is read again by the next one (by design:
#: a write committed late is not missed).
SETTLE = 3.5


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("scim-source")
    proc = ServerProcess(database=f"sqlite:///{workdir}/hub.db", workdir=workdir)
    proc.tenants = {name: proc.create_tenant(name)  # type: ignore[attr-defined]
                    for name in ("source", "target")}
    proc.start()
    yield proc
    proc.stop()


class Tenant:
    """A tenant's SCIM API, as a test drives it."""

    def __init__(self, hub: ServerProcess, name: str) -> None:
        self.token: str = hub.tenants[name]["token"]  # type: ignore[attr-defined]
        self.scim = httpx.Client(base_url=hub.scim_url, timeout=30,
                                 headers={"Authorization": f"Bearer {self.token}"})

    def user(self, name: str, given: str, family: str, **extra: Any) -> str:
        body = {"schemas": [USER, ENTERPRISE], "userName": name, "displayName": f"{given} "
                f"{family}", "name": {"givenName": given, "familyName": family},
                "emails": [{"value": name, "type": "work", "primary": True}], **extra}
        answer = self.scim.post("/Users", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def group(self, name: str, members: list[str]) -> str:
        answer = self.scim.post("/Groups", json={"schemas": [GROUP], "displayName": name,
                                                 "members": [{"value": m} for m in members]})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def patch(self, kind: str, rid: str, *operations: dict[str, Any]) -> None:
        answer = self.scim.patch(f"/{kind}/{rid}", json={"schemas": [PATCH],
                                                         "Operations": list(operations)})
        assert answer.status_code in (200, 204), answer.text

    def delete(self, kind: str, rid: str) -> None:
        assert self.scim.delete(f"/{kind}/{rid}").status_code == 204

    def users(self, prefix: str) -> dict[str, dict[str, Any]]:
        listed = self.scim.get("/Users", params={"count": 1000, "filter":
                                                 f'userName sw "{prefix}"'}).json()
        return {u["userName"]: u for u in listed.get("Resources", [])}

    def groups(self, prefix: str) -> dict[str, set[str]]:
        names = {u["id"]: n for n, u in self.users(prefix).items()}
        listed = self.scim.get("/Groups", params={"count": 1000, "filter":
                                                  f'displayName sw "{prefix}"'}).json()
        return {g["displayName"]: {names.get(m["value"], m["value"])
                                   for m in g.get("members", [])}
                for g in listed.get("Resources", [])}


JOB = """
[job]
name = "{name}"

[source]
type = "scim"
url = "{url}"
token_env = "SCIMHUB_SOURCE_TOKEN"
user_filter = 'userName sw "{prefix}"'
group_filter = 'displayName sw "{prefix}"'
page_size = {page_size}
{extra}

[target]
url = "{target}"
token_env = "SCIMHUB_TARGET_TOKEN"

[actions]
delete_after = "0"
"""


class Job:
    """A job reading the ``source`` tenant (through ``url``) into the ``target`` tenant."""

    def __init__(self, hub: ServerProcess, workdir: Path, prefix: str, *, url: str | None = None,
                 page_size: int = 2, extra: str = "") -> None:
        self.workdir = workdir
        self.name = f"scim-{prefix.rstrip('-')}"
        self.source, self.target = Tenant(hub, "source"), Tenant(hub, "target")
        (workdir / "job.toml").write_text(JOB.format(
            name=self.name, url=url or hub.scim_url, prefix=prefix, page_size=page_size,
            extra=extra, target=hub.scim_url))
        self.env = {"SCIMHUB_SOURCE_TOKEN": self.source.token,
                    "SCIMHUB_TARGET_TOKEN": self.target.token, "PATH": "/usr/bin:/bin",
                    "SCIMHUB_KEY_FILE": str(workdir / "key")}

    def run(self, *args: str, database: bool = True) -> subprocess.CompletedProcess[str]:
        where = ["--database", f"sqlite:///{self.workdir}/engine.db"] if database else []
        result = subprocess.run(
            [sys.executable, "-m", "scimhub", *args, "--config", str(self.workdir / "job.toml"),
             *where],
            capture_output=True, text=True, timeout=120, check=False, env=self.env)
        for secret in (self.source.token, self.target.token):
            assert secret not in result.stdout + result.stderr, "a token was printed"
        return result

    def sync(self, *extra: str) -> dict[str, Any]:
        result = self.run("sync", "--once", "--json", *extra)
        assert result.returncode in (0, 1), result.stdout + result.stderr
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_options_are_checked_when_the_job_loads(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def load(extra: str, url: str = "https://idp.example/scim/v2", page_size: int = 100) -> None:
        (tmp_path / "job.toml").write_text(
            JOB.format(name="j", url=url, prefix="p-", page_size=page_size, extra=extra,
                       target="https://app.example/scim/v2"))
        load_jobs(tmp_path / "job.toml")

    monkeypatch.setenv("SCIMHUB_TARGET_TOKEN", "t")
    monkeypatch.delenv("SCIMHUB_SOURCE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"\[source\] token_env: .*SCIMHUB_SOURCE_TOKEN"):
        load("")
    monkeypatch.setenv("SCIMHUB_SOURCE_TOKEN", "s3cret")
    load("")  # valid
    for extra, key in (('paging = "pages"', "paging"), ("page_size2 = 1", "page_size2"),
                       ('overlap = "soon"', "overlap"), ("incremental = 1", "incremental"),
                       ("assigned_groups = []", "assigned_groups"),
                       ('ca_file = "missing.pem"', "ca_file"), ("timeout = 0", "timeout"),
                       ("tls_verify = 'no'", "tls_verify")):
        with pytest.raises(ConfigError, match=key) as caught:
            load(extra)
        assert "s3cret" not in str(caught.value)
    with pytest.raises(ConfigError, match="url"):
        load("", url="ftp://idp.example")
    with pytest.raises(ConfigError, match="page_size"):
        load("", page_size=0)


def test_a_resource_is_flattened_to_its_scim_paths_and_entras_names() -> None:
    resource = {
        "schemas": [USER, ENTERPRISE], "id": "u-1", "userName": "ada@contoso.example",
        "active": False, "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@home.example", "type": "home"},
                   {"value": "ada@contoso.example", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "555-0001", "type": "mobile"}],
        "title": "Countess", "groups": [{"value": "g-1"}],
        "meta": {"lastModified": "2026-01-01T00:00:00Z"},
        ENTERPRISE: {"department": "Engineering", "employeeNumber": "42",
                     "manager": {"value": "u-0", "displayName": "Charles"}},
    }
    flat = user_object(resource, assigned=True)
    assert flat["objectId"] == "u-1" and flat["assigned"] is True
    assert flat["userName"] == flat["userPrincipalName"] == "ada@contoso.example"
    assert flat["mailNickname"] == "ada"
    assert flat["name.givenName"] == flat["givenName"] == "Ada"
    assert flat["surname"] == "Lovelace"
    assert flat['emails[type eq "work"].value'] == "ada@contoso.example"
    assert flat['emails[type eq "home"].value'] == "ada@home.example"
    assert flat["emails[primary eq true].value"] == flat["mail"] == "ada@contoso.example"
    assert flat['phoneNumbers[type eq "mobile"].value'] == flat["mobile"] == "555-0001"
    assert flat[f"{ENTERPRISE}:department"] == flat["department"] == "Engineering"
    assert flat["employeeId"] == "42" and flat["jobTitle"] == "Countess"
    assert flat["manager"] == flat[f"{ENTERPRISE}:manager"] == "u-0"
    assert flat["accountEnabled"] is False
    assert "meta" not in flat and "groups" not in flat and "schemas" not in flat
    group = group_object({"id": "g-1", "displayName": "Pioneers", "members": [
        {"value": "u-1", "type": "User"}, {"value": "g-2", "type": "Group"},
        {"value": "g-3", "$ref": "https://idp.example/scim/v2/Groups/g-3"},
        {"value": "u-2"}]}, assigned=False)
    assert group["members"] == ["u-1", "u-2"], "member groups are not expanded"
    assert group["objectId"] == "g-1" and group["assigned"] is False
    assert flatten({"urn:x:ext": {"name": "clash", "badge": 7}, "name": "core"}) == {
        "name": "core", "urn:x:ext:name": "clash", "urn:x:ext:badge": 7, "badge": 7}


def test_initial_and_incremental_cycles_tenant_to_tenant(hub: ServerProcess,
                                                         tmp_path: Path) -> None:
    """Renames, disables, deletions, membership and manager changes reach the target, and each
    incremental cycle fetches only what changed (the id-only listing finds the deletions)."""
    job = Job(hub, tmp_path, "inc-")
    src = job.source
    ada = src.user("inc-ada@contoso.example", "Ada", "Lovelace",
                   phoneNumbers=[{"value": "555-0001", "type": "mobile"}],
                   **{ENTERPRISE: {"department": "Engineering", "employeeNumber": "1"}})
    grace = src.user("inc-grace@contoso.example", "Grace", "Hopper",
                     **{ENTERPRISE: {"manager": {"value": ada}}})
    alan = src.user("inc-alan@contoso.example", "Alan", "Turing")
    edsger = src.user("inc-edsger@contoso.example", "Edsger", "Dijkstra")
    barbara = src.user("inc-barbara@contoso.example", "Barbara", "Liskov")
    donald = src.user("inc-donald@contoso.example", "Donald", "Knuth", title="Professor")
    src.user("out-ken@contoso.example", "Ken", "Thompson")  # outside the user filter
    pioneers = src.group("inc-Pioneers", [ada, grace, alan])
    others = src.group("inc-Others", [edsger])
    src.patch("Groups", others, {"op": "add", "path": "members", "value": [{"value": pioneers}]})

    time.sleep(SETTLE)
    first = job.sync()
    assert first["kind"] == "initial" and first["failures"] == 0, first
    assert first["source"]["fetched"] == 8, first["source"]  # 6 users, 2 groups
    target = job.target.users("inc-")
    assert set(target) == {"inc-ada@contoso.example", "inc-grace@contoso.example",
                           "inc-alan@contoso.example", "inc-edsger@contoso.example",
                           "inc-barbara@contoso.example", "inc-donald@contoso.example"}
    t_ada = target["inc-ada@contoso.example"]
    assert t_ada["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert t_ada["displayName"] == "Ada Lovelace" and t_ada["active"] is True
    assert t_ada["emails"] == [{"type": "work", "value": "inc-ada@contoso.example"}]
    assert t_ada["phoneNumbers"] == [{"type": "mobile", "value": "555-0001"}]
    assert t_ada[ENTERPRISE]["department"] == "Engineering"
    assert t_ada[ENTERPRISE]["employeeNumber"] == "1"
    assert target["inc-donald@contoso.example"]["title"] == "Professor"
    assert t_ada["id"] != ada, "the target's own ids"
    assert target["inc-grace@contoso.example"][ENTERPRISE]["manager"]["value"] == t_ada["id"]
    assert job.target.groups("inc-") == {
        "inc-Pioneers": {"inc-ada@contoso.example", "inc-grace@contoso.example",
                         "inc-alan@contoso.example"},
        "inc-Others": {"inc-edsger@contoso.example"}}, "a member group is not a member"

    src.patch("Users", ada, {"op": "replace", "path": "userName",
                             "value": "inc-ada.king@contoso.example"})       # renamed
    src.patch("Users", donald, {"op": "replace", "path": "active", "value": False})  # disabled
    src.delete("Users", alan)                    # deleted: leaves Pioneers too
    src.patch("Groups", pioneers,                # membership: Grace out, Barbara in
              {"op": "remove", "path": f'members[value eq "{grace}"]'},
              {"op": "add", "path": "members", "value": [{"value": barbara}]})
    src.patch("Users", grace, {"op": "replace", "path": f"{ENTERPRISE}:manager",
                               "value": {"value": edsger}})                  # new manager

    time.sleep(SETTLE)
    second = job.sync()
    assert second["kind"] == "incremental" and second["failures"] == 0, second
    assert second["source"]["kind"] == "delta", second["source"]
    # ada, donald, grace and the Pioneers group: nothing else was read with its attributes;
    # the ids of every selected user (5) and group (2) were listed.
    assert second["source"]["fetched"] == 4, second["source"]
    assert second["source"]["listed"] == 7, second["source"]
    target = job.target.users("inc-")
    assert "inc-ada.king@contoso.example" in target and "inc-ada@contoso.example" not in target
    assert target["inc-ada.king@contoso.example"]["id"] == t_ada["id"], "renamed, not recreated"
    assert target["inc-donald@contoso.example"]["active"] is False
    assert "inc-alan@contoso.example" not in target, "removed, deleted (delete_after = 0)"
    t_edsger = target["inc-edsger@contoso.example"]["id"]
    assert target["inc-grace@contoso.example"][ENTERPRISE]["manager"]["value"] == t_edsger
    assert job.target.groups("inc-")["inc-Pioneers"] == {"inc-ada.king@contoso.example",
                                                         "inc-barbara@contoso.example"}

    src.delete("Groups", others)
    time.sleep(SETTLE)
    third = job.sync()
    assert third["failures"] == 0 and third["source"]["fetched"] == 0, third
    assert "inc-Others" not in job.target.groups("inc-"), "a deleted group is deleted"

    fourth = job.sync()
    assert fourth["counts"] == {} and fourth["source"]["fetched"] == 0, fourth


def test_dry_run_and_provision_on_demand_read_the_scim_source(hub: ServerProcess,
                                                              tmp_path: Path) -> None:
    job = Job(hub, tmp_path, "pod-")
    ada = job.source.user("pod-ada@contoso.example", "Ada", "Lovelace")
    grace = job.source.user("pod-grace@contoso.example", "Grace", "Hopper")
    team = job.source.group("pod-Team", [ada, grace])

    proved = job.run("test-connection", "--json", database=False)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    steps = {s["name"]: s for s in json.loads(proved.stdout)["steps"]}
    assert steps["source: users"]["detail"] == '2 users matching userName sw "pod-"', steps
    assert steps["source: groups"]["detail"].startswith("1 groups"), steps

    plan = job.sync("--dry-run")
    assert plan["dry_run"] is True, plan
    assert {p["identity"] for p in plan["planned"] if p["action"] == "create"} >= {
        "pod-ada@contoso.example", "pod-grace@contoso.example", "pod-Team"}
    assert job.target.users("pod-") == {}, "a dry run writes nothing"

    result = job.run("provision", "--job", job.name, "--user", ada, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["steps"][-1]["detail"] == "create (success)", report
    assert set(job.target.users("pod-")) == {"pod-ada@contoso.example"}

    result = job.run("provision", "--job", job.name, "--group", team, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert job.target.groups("pod-") == {"pod-Team": {"pod-ada@contoso.example",
                                                      "pod-grace@contoso.example"}}


def test_assigned_groups_scope_the_users_through_their_groups(hub: ServerProcess,
                                                              tmp_path: Path) -> None:
    job = Job(hub, tmp_path, "asg-", extra='assigned_groups = ["asg-Staff"]')
    ada = job.source.user("asg-ada@contoso.example", "Ada", "Lovelace")
    job.source.user("asg-ken@contoso.example", "Ken", "Thompson")
    job.source.group("asg-Staff", [ada])
    job.source.group("asg-Other", [])
    first = job.sync()
    assert first["failures"] == 0, first
    assert set(job.target.users("asg-")) == {"asg-ada@contoso.example"}
    assert set(job.target.groups("asg-")) == {"asg-Staff"}


class IndexOnlyProxy(ThreadedServer):
    """A SCIM provider without RFC 9865 cursors (ServiceProviderConfig says ``cursor:
    false``, a ``cursor`` parameter is refused), and, with ``refuse_delta``, without
    filtering on ``meta.lastModified`` (400 invalidFilter), in front of a real scimhub.
    ``truncate`` makes it lose every Users page after the first while ``totalResults`` still
    counts every user: by index, the later pages come back empty; with ``cursors`` on (the
    provider's own cursor paging passed through), the first page has no ``nextCursor``."""

    def __init__(self, upstream: str, port: int) -> None:
        super().__init__(port)
        self.upstream = upstream.rstrip("/")
        self.cursors = False
        self.refuse_delta = False
        self.truncate = False
        self.queries: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/scim/v2"

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/scim/v2/{tail:.*}", self._get)
        return app

    async def started(self) -> None:
        self._session = ClientSession()

    async def stopping(self) -> None:
        await self._session.close()

    async def _get(self, request: web.Request) -> web.Response:
        tail, query = request.match_info["tail"], request.query
        self.queries.append(f"{tail}?{request.query_string}")
        if "cursor" in query and not self.cursors:
            return _scim_error(400, "invalidValue", "cursor paging is not supported")
        if self.refuse_delta and "lastmodified" in query.get("filter", "").lower():
            return _scim_error(400, "invalidFilter", "meta.lastModified cannot be filtered")
        async with self._session.get(f"{self.upstream}/{tail}", params=query, headers={
                "Authorization": request.headers.get("Authorization", "")}) as answer:
            body = await answer.json(content_type=None)
        if tail == "ServiceProviderConfig" and not self.cursors:
            body["pagination"] = {"cursor": False, "index": True}
        if self.truncate and tail == "Users" and "totalResults" in body:
            body.pop("nextCursor", None)
            if int(query.get("startIndex", "1")) > 1:
                body["Resources"], body["itemsPerPage"] = [], 0
        return web.json_response(body, status=answer.status)


def _scim_error(status: int, scim_type: str, detail: str) -> web.Response:
    return web.json_response({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                              "status": str(status), "scimType": scim_type,
                              "detail": detail}, status=status)


@pytest.fixture
def proxy(hub: ServerProcess) -> Iterator[IndexOnlyProxy]:
    with IndexOnlyProxy(hub.scim_url, free_port()) as server:
        yield server


def test_a_provider_without_cursors_is_paged_by_index_and_a_refused_delta_reads_all(
        hub: ServerProcess, tmp_path: Path, proxy: IndexOnlyProxy) -> None:
    job = Job(hub, tmp_path, "idx-", url=proxy.url)
    ids = [job.source.user(f"idx-{n}@contoso.example", n.title(), "Index")
           for n in ("ada", "grace", "alan", "edsger", "barbara")]
    job.source.group("idx-Team", ids[:3])
    time.sleep(SETTLE)
    first = job.sync()
    assert first["failures"] == 0 and first["source"]["fetched"] == 6, first
    assert len(job.target.users("idx-")) == 5
    pages = [q for q in proxy.queries if q.startswith("Users?")]
    assert len(pages) == 3 and all("startIndex=" in q for q in pages), pages  # 2 + 2 + 1

    proxy.queries.clear()
    job.source.delete("Users", ids[4])
    job.source.patch("Users", ids[0], {"op": "replace", "path": "title", "value": "Countess"})
    second = job.sync()
    assert second["failures"] == 0 and second["source"]["fetched"] == 1, second
    assert second["source"]["listed"] == 5, second["source"]  # 4 users, 1 group
    assert job.target.users("idx-")["idx-ada@contoso.example"]["title"] == "Countess"
    assert "idx-barbara@contoso.example" not in job.target.users("idx-")

    proxy.refuse_delta = True
    job.source.patch("Users", ids[1], {"op": "replace", "path": "title", "value": "Admiral"})
    third = job.sync()
    assert third["failures"] == 0 and third["source"]["fetched"] == 5, third  # everything
    assert job.target.users("idx-")["idx-grace@contoso.example"]["title"] == "Admiral"
    refused = sum("lastmodified" in q.lower() for q in proxy.queries)
    fourth = job.sync()
    assert fourth["failures"] == 0 and fourth["source"]["fetched"] == 5, fourth
    assert sum("lastmodified" in q.lower() for q in proxy.queries) == refused, \
        "the refusal is remembered: no second try"


@pytest.mark.parametrize("paging", ["index", "cursor"])
def test_a_truncated_listing_fails_the_cycle_and_deprovisions_nothing(
        hub: ServerProcess, tmp_path: Path, proxy: IndexOnlyProxy, paging: str) -> None:
    prefix = f"cut{paging}-"
    proxy.cursors = paging == "cursor"
    job = Job(hub, tmp_path, prefix, url=proxy.url)
    for n in ("ada", "grace", "alan", "edsger"):
        job.source.user(f"{prefix}{n}@contoso.example", n.title(), "Cut")
    assert job.sync()["failures"] == 0
    assert len(job.target.users(prefix)) == 4
    assert any(("cursor=" in q) == proxy.cursors for q in proxy.queries if q.startswith("Users"))
    proxy.truncate = True
    for extra in ((), ("--dry-run",)):
        result = job.run("sync", "--once", "--json", *extra)
        assert result.returncode != 0, result.stdout
        assert "truncated listing" in result.stderr, result.stdout + result.stderr
    users = job.target.users(prefix)
    assert len(users) == 4 and all(u["active"] for u in users.values()), "nothing deprovisioned"
    proxy.truncate = False
    again = job.sync()
    assert again["failures"] == 0 and again["counts"] == {}, again


def test_check_counts_what_the_filters_select_and_a_refused_token_is_named(
        hub: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = Tenant(hub, "source")
    src.user("chk-ada@contoso.example", "Ada", "Check")
    src.user("chk-grace@contoso.example", "Grace", "Check")
    src.group("chk-Team", [])
    monkeypatch.setenv("SCIMHUB_SOURCE_TOKEN", src.token)
    options = {"type": "scim", "url": hub.scim_url, "token_env": "SCIMHUB_SOURCE_TOKEN",
               "user_filter": 'userName sw "chk-"', "group_filter": 'displayName sw "chk-"'}
    source = open_source(SourceConfig("scim", None, options))
    assert isinstance(source, ScimSource)
    checks = asyncio.run(source.check())
    assert [(c.name, c.ok) for c in checks] == [("connect", True), ("users", True),
                                               ("groups", True)], checks
    assert checks[1].detail.startswith("2 users") and checks[2].detail.startswith("1 groups")

    monkeypatch.setenv("SCIMHUB_SOURCE_TOKEN", "not-the-token")
    refused = asyncio.run(source.check())
    assert not refused[0].ok and "refused" in refused[0].detail, refused
    with pytest.raises(SourceCredentialsRejected, match="refused the token") as caught:
        asyncio.run(source.read(None))
    assert "not-the-token" not in str(caught.value)
    assert os.environ["SCIMHUB_SOURCE_TOKEN"] not in repr(refused)


def test_a_refused_source_token_fails_the_cycle_quarantines_and_is_never_shown(
        hub: ServerProcess, tmp_path: Path) -> None:
    job = Job(hub, tmp_path, "tok-")
    job.source.user("tok-ada@contoso.example", "Ada", "Token")
    assert job.sync()["failures"] == 0
    job.env["SCIMHUB_SOURCE_TOKEN"] = "revoked-source-token-value"
    result = job.run("sync", "--once", "--json")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "refused the token" in output, output
    assert "revoked-source-token-value" not in output
    status = job.run("job", "status", "--json")
    assert "SourceCredentialsRejected" in status.stdout, status.stdout + status.stderr
    assert "revoked-source-token-value" not in status.stdout + status.stderr
    assert set(job.target.users("tok-")) == {"tok-ada@contoso.example"}


def test_scim2_server_as_the_source_paged_by_index(hub: ServerProcess, tmp_path: Path) -> None:
    """Another implementation as the directory: scim2-server (the python-scim project's
    reference server) advertises no cursors, so it is read by startIndex; it filters on
    ``meta.lastModified``, so its deltas are deltas."""
    server = Scim2Server(tmp_path).start()
    try:
        client = server.client()
        ids = []
        for n in ("ada", "grace", "alan"):
            answer = client.post("/Users", json={
                "schemas": [USER], "userName": f"s2-{n}@contoso.example",
                "name": {"givenName": n.title(), "familyName": "Two"},
                "emails": [{"value": f"s2-{n}@contoso.example", "type": "work"}]})
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        answer = client.post("/Groups", json={"schemas": [GROUP], "displayName": "s2-Team",
                                               "members": [{"value": i} for i in ids[:2]]})
        assert answer.status_code == 201, answer.text
        job = Job(hub, tmp_path, "s2-", url=server.scim_url)
        job.env["SCIMHUB_SOURCE_TOKEN"] = server.token
        time.sleep(SETTLE)
        first = job.sync()
        assert first["failures"] == 0 and first["source"]["fetched"] == 4, first
        assert set(job.target.users("s2-")) == {"s2-ada@contoso.example",
                                                "s2-grace@contoso.example",
                                                "s2-alan@contoso.example"}
        assert job.target.groups("s2-") == {"s2-Team": {"s2-ada@contoso.example",
                                                        "s2-grace@contoso.example"}}
        assert client.delete(f"/Users/{ids[2]}").status_code == 204
        time.sleep(SETTLE)
        second = job.sync()
        assert second["failures"] == 0 and second["source"]["kind"] == "delta", second
        assert second["source"]["fetched"] == 0 and second["source"]["listed"] == 3, second
        assert "s2-alan@contoso.example" not in job.target.users("s2-")
    finally:
        server.stop()
