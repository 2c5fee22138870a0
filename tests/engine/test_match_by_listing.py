"""Matching by listing: an initial cycle reads the target's users once instead of probing per
user, and stays as safe as the probe (a real ``scimhub serve`` behind a recording proxy)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import ServerProcess, free_port
from tests.engine.listing_proxy import ListingProxy
from tests.engine.test_engine_e2e import Job, config, directory
from tests.engine.test_job_control import scimhub

#: The users the test directory has in scope (assigned, in Engineering).
IN_SCOPE = {"ada", "grace", "alan", "donald"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("listing-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.tenants = {}  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()


def fresh_job(target: ServerProcess, tmp_path: Path, name: str) -> Job:
    """A job into a tenant of its own, so each test starts from an empty target."""
    target.tenants["acme"] = target.create_tenant(name)  # type: ignore[attr-defined]
    return Job(target, tmp_path)


def through(job: Job, target: ServerProcess, proxy: ListingProxy) -> None:
    """The job aimed at the target through ``proxy`` (whichever it went through before)."""
    (job.workdir / "job.toml").write_text(config(target.scim_url.replace(target.url, proxy.url)))


def user(name: str, display: str = "Someone else's") -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"{name}@contoso.example", "displayName": display}


def count(job: Job, name: str) -> int:
    listed = job.scim.get("/Users", params={"filter": f'userName eq "{name}@contoso.example"'})
    return int(listed.json()["totalResults"])


def probes(proxy: ListingProxy) -> list[str]:
    """The match queries for the directory's users (not Test Connection's random one)."""
    return [p for p in proxy.requests("GET", "filter=userName") if "contoso" in p]


def log_of(job: Job) -> list[dict[str, Any]]:
    out = scimhub(job, "logs", "--job", "acunetix-360", "--json", "--limit", "1000").stdout
    return list(json.loads(out))


def test_initial_cycle_links_what_the_target_holds_without_a_probe_per_user(
        target: ServerProcess, tmp_path: Path) -> None:
    job = fresh_job(target, tmp_path, "listing-links")
    # Held already, in another case: userName is caseExact false, so it is the same user.
    ada = job.scim.post("/Users", json=user("ADA")).json()
    grace = job.scim.post("/Users", json=user("grace")).json()
    with ListingProxy(target.url, free_port()) as proxy:
        through(job, target, proxy)
        summary = job.sync()
        assert summary["failures"] == 0, summary
        assert proxy.requests("GET", "/Users?attributes="), "the listing was read"
        assert not probes(proxy), f"a probe per user: {probes(proxy)}"
        assert proxy.requests("GET", f"/Users/{ada['id']}"), "the found user is read by id"
        assert 0 < summary["requests"] <= len(proxy.seen), "the summary counts them"

        # A later cycle with one new user among linked ones keeps Entra's probe.
        data = directory()
        data["users"].append({**data["users"][0], "objectId": "u7",
                              "userPrincipalName": "ida@contoso.example", "givenName": "Ida"})
        job.write(data)
        proxy.seen.clear()
        assert job.sync()["failures"] == 0
        assert not proxy.requests("GET", "/Users?attributes=")
        assert [p for p in proxy.requests("GET", "filter=userName") if "ida%40" in p]
    assert count(job, "ida") == 1
    users = job.users()
    assert {n.split("@")[0] for n in users} == IN_SCOPE | {"ida"}
    assert all(count(job, n) == 1 for n in IN_SCOPE), "no duplicate"
    assert users["ada@contoso.example"]["id"] == ada["id"], "linked, not re-created"
    assert users["grace@contoso.example"]["id"] == grace["id"]
    assert users["grace@contoso.example"]["displayName"] == "Grace Hopper", "then updated"
    assert job.groups()["Pioneers"] == {"ada@contoso.example", "grace@contoso.example",
                                       "alan@contoso.example"}
    matched = [s["reason"] for e in log_of(job) for s in e.get("steps", [])
               if s["step"] == "match" and "listing" in s["reason"]]
    assert any("found " + ada["id"] in r for r in matched), matched


def test_a_user_another_writer_creates_after_the_listing_is_linked_not_duplicated(
        target: ServerProcess, tmp_path: Path) -> None:
    job = fresh_job(target, tmp_path, "listing-race")
    others = [user(n) for n in sorted(IN_SCOPE)]
    with ListingProxy(target.url, free_port(), writer=others) as proxy:
        through(job, target, proxy)
        summary = job.sync()
        assert proxy.written == [201] * len(IN_SCOPE), "the other writer created them first"
        assert proxy.requests("GET", "/Users?attributes="), "the listing was read before"
        assert proxy.answers[("POST", "Users", 409)] >= 1, "the engine's creates met them"
    assert summary["failures"] == 0, summary
    assert all(count(job, n) == 1 for n in IN_SCOPE), "no duplicate"
    assert {u["displayName"] for u in job.users().values()} == {
        "Ada Lovelace", "Grace Hopper", "Alan Turing", "Donald Knuth"}, "linked and updated"
    recovered = [e["detail"] for e in log_of(job) if e["action"] == "create"
                 and e["detail"] and "409" in e["detail"]]
    assert len(recovered) == len(IN_SCOPE), recovered
    assert len(job.groups()["Pioneers"]) == 3


@pytest.mark.parametrize("status", [400, 403, 501])
def test_a_target_that_refuses_the_listing_gets_probes_and_converges(
        target: ServerProcess, tmp_path: Path, status: int) -> None:
    job = fresh_job(target, tmp_path, f"listing-refused-{status}")
    job.scim.post("/Users", json=user("alan"))
    with ListingProxy(target.url, free_port(), refuse_listing=status) as proxy:
        through(job, target, proxy)
        result = scimhub(job, "sync", "--config", str(job.workdir / "job.toml"), "--once",
                         "--json")
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert proxy.requests("GET", "/Users?attributes="), "the listing was asked for"
        assert len(probes(proxy)) >= len(IN_SCOPE), "then probes"
    assert result.returncode == 0 and summary["failures"] == 0, (result.stderr, summary)
    assert result.stderr.count("matching by listing is off") == 1, result.stderr
    assert all(count(job, n) == 1 for n in IN_SCOPE)
    assert len(job.users()) == len(IN_SCOPE)


def sync_through(job: Job) -> tuple[dict[str, Any], str]:
    """One cycle: its summary and what the engine logged (stderr)."""
    result = scimhub(job, "sync", "--config", str(job.workdir / "job.toml"), "--once", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.mark.parametrize("cursor", [True, False], ids=["cursor", "startIndex"])
def test_the_listing_is_read_page_by_page(target: ServerProcess, tmp_path: Path,
                                         cursor: bool) -> None:
    job = fresh_job(target, tmp_path, f"listing-pages-{cursor}")
    held = {n: job.scim.post("/Users", json=user(n.upper() if n < "b" else n)).json()["id"]
            for n in ("ada", "alan", "grace")}
    pages = {"cursor": cursor, "maxPageSize": 2}
    with ListingProxy(target.url, free_port(), pagination=pages) as proxy:
        through(job, target, proxy)
        summary, logged = sync_through(job)
        listed = proxy.requests("GET", "/Users?attributes=")
        assert len(listed) == 2, listed
        assert all("count=2" in p for p in listed)
        assert any(("cursor=" if cursor else "startIndex=3") in p for p in listed[1:]), listed
        assert not probes(proxy), "every held user was found in the listing"
    assert summary["failures"] == 0 and "matching by listing is off" not in logged
    users = job.users()
    assert all(users[f"{n}@contoso.example"]["id"] == i for n, i in held.items())
    assert all(count(job, n) == 1 for n in IN_SCOPE)


def test_a_listing_that_moves_while_read_by_index_falls_back_to_probes(
        target: ServerProcess, tmp_path: Path) -> None:
    job = fresh_job(target, tmp_path, "listing-moves")
    for n in ("ada", "alan", "grace"):
        job.scim.post("/Users", json=user(n))
    pages = {"cursor": False, "maxPageSize": 2}
    with ListingProxy(target.url, free_port(), pagination=pages,
                      during_listing=user("donald")) as proxy:
        through(job, target, proxy)
        summary, logged = sync_through(job)
        assert proxy.written == [201], "another writer created donald between two pages"
        assert len(probes(proxy)) >= len(IN_SCOPE), "then a probe per user"
    assert summary["failures"] == 0, summary
    assert logged.count("matching by listing is off") == 1 and "moved" in logged, logged
    assert all(count(job, n) == 1 for n in IN_SCOPE), "no duplicate"
    assert job.users()["donald@contoso.example"]["displayName"] == "Donald Knuth"


def test_a_user_renamed_after_the_listing_is_not_linked_by_its_old_name(
        target: ServerProcess, tmp_path: Path) -> None:
    job = fresh_job(target, tmp_path, "listing-renamed")
    held = job.scim.post("/Users", json=user("ada")).json()["id"]
    with ListingProxy(target.url, free_port(), rename="someone@else.example") as proxy:
        through(job, target, proxy)
        summary, _ = sync_through(job)
        assert proxy.written == [200], "ada was renamed between the listing and the read"
        assert [p for p in probes(proxy) if "ada%40" in p], "then the probe decided"
    assert summary["failures"] == 0, summary
    users = job.users()
    assert users["someone@else.example"]["id"] == held
    assert users["someone@else.example"]["displayName"] == "Someone else's", "left alone"
    assert users["ada@contoso.example"]["id"] != held, "ada created anew, not taken over"
    assert all(count(job, n) == 1 for n in IN_SCOPE)
