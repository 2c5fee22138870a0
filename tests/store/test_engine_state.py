"""The engine's state store on SQLite and PostgreSQL: job identity, cycles, objects,
memberships, the log and its tenant filter, leases, the tenants' token digest history, and
migration 0006 of existing rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from scimhub.scim.types import TenantId
from scimhub.security import token_digest
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.provisioning import (
    ON_DEMAND,
    EngineState,
    JobExists,
    Known,
    LogEntry,
    NoSuchJob,
)
from scimhub.store.tenants import TenantStore, token_digests
from tests.store.migrated import database_at

URL = "https://app.example/scim/v2"


@pytest.fixture()
def state(db: Database) -> EngineState:
    return EngineState(db)


def created(identity: str, target_id: str = "t") -> LogEntry:
    return LogEntry("user", identity, target_id, identity, "create", "success")


def test_a_job_gets_one_id_and_keeps_it(state: EngineState) -> None:
    assert state.job("hr") is None
    job = state.ensure_job("hr", URL, "d" * 64)
    assert len(job.id) == 36 and (job.target_url, job.token_digest) == (URL, "d" * 64)
    assert state.ensure_job("hr").id == job.id
    assert state.job_by_id(job.id) == job
    state.record_target(job.id, URL + "/", "e" * 64)
    again = state.job("hr")
    assert again is not None and again.token_digest == "e" * 64 and again.id == job.id
    assert state.job_names() == ["hr"]


def test_two_jobs_never_share_objects_members_cycles_or_log(state: EngineState) -> None:
    a, b = state.ensure_job("a", URL, "a" * 64).id, state.ensure_job("b", URL, "b" * 64).id
    state.save_objects(a, [Known("user", "u1", "ta1", "h1", {"userName": "x"}, True)])
    state.save_objects(b, [Known("user", "u1", "tb1", "h2", {}, True, 2, "2030")])
    state.record_members(a, "g1", ["u1", "u2"], [])
    state.record_members(b, "g1", ["u9"], [])
    cycle_a = state.start_cycle(a, "initial", "f", URL, "a" * 64)
    cycle_b = state.start_cycle(b, "initial", "f", URL, "b" * 64)
    state.write_log(a, cycle_a, [created("ada")])
    state.write_log(b, cycle_b, [created("bob")])

    assert state.load_objects(a)[("user", "u1")].target_id == "ta1"
    known_b = state.load_objects(b)[("user", "u1")]
    assert (known_b.target_id, known_b.attempts, known_b.retry_after) == ("tb1", 2, "2030")
    assert state.load_members(a) == {"g1": {"u1", "u2"}}
    assert state.load_members(b) == {"g1": {"u9"}}
    assert [c.id for c in state.cycles(a)] == [cycle_a]
    assert [e["identity"] for e in state.search_log(a)] == ["ada"]
    assert [e["identity"] for e in state.search_log(job_name="b")] == ["bob"]
    assert state.linked(a) == [("user", "ta1")]

    state.record_members(a, "g1", [], ["u2"])
    state.drop_objects(b, "user", ["u1"])
    assert state.load_members(a) == {"g1": {"u1"}}
    assert state.load_objects(b) == {} and ("user", "u1") in state.load_objects(a)


def test_rename_keeps_the_id_and_everything_it_knows(state: EngineState) -> None:
    job = state.ensure_job("old", URL, "a" * 64)
    state.save_objects(job.id, [Known("user", "u1", "t1", "h", {}, True)])
    renamed = state.rename_job("old", "new")
    assert renamed.id == job.id and state.job("old") is None
    assert state.load_objects(renamed.id)[("user", "u1")].target_id == "t1"
    state.ensure_job("taken")
    with pytest.raises(JobExists):
        state.rename_job("new", "taken")
    with pytest.raises(NoSuchJob):
        state.rename_job("missing", "other")


def test_reset_forgets_links_and_target_but_keeps_history(state: EngineState) -> None:
    """Issue 11: what 'job restart' did before is now the separate, destructive 'job reset'."""
    job = state.ensure_job("hr", URL, "a" * 64)
    cycle = state.start_cycle(job.id, "initial", "f", URL, "a" * 64)
    state.finish_cycle(cycle, {"counts": {"create": 1}})
    state.write_log(job.id, cycle, [created("ada")])
    state.save_objects(job.id, [Known("user", "u1", "t1", "h", {}, True)])
    state.record_members(job.id, "g", ["u1"], [])
    last = state.last_cycle(job.id)
    assert last is not None and last.id == cycle and last.summary == {"counts": {"create": 1}}

    state.quarantine(job.id, "Reason: x")
    state.reset(job.id)
    after = state.job("hr")
    assert after is not None and after.id == job.id
    assert (after.target_url, after.token_digest) == (None, None)
    assert state.load_objects(job.id) == {} and state.load_members(job.id) == {}
    assert state.last_cycle(job.id) is None, "the next cycle is an initial one"
    assert [c.id for c in state.cycles(job.id)] == [cycle]
    assert [e["identity"] for e in state.search_log(token_digests=["a" * 64])] == ["ada"]
    assert after.state.quarantine_reason is None


def test_restart_keeps_links_and_clears_watermark_escrow_and_quarantine(
        state: EngineState) -> None:
    """Entra's Restart provisioning (docs/entra.md §2.1.1): the next cycle is initial, failed
    objects are due at once, quarantine is lifted; links, memberships and target stay."""
    job = state.ensure_job("hr", URL, "a" * 64)
    cycle = state.start_cycle(job.id, "incremental", "f", URL, "a" * 64)
    state.finish_cycle(cycle, {})
    linked = Known("user", "u1", "t1", "h", {"userName": "ada"}, True)
    failed = Known("user", "u2", None, None, {}, True, attempts=3,
                   retry_after="2999-01-01T00:00:00.000000Z")
    state.save_objects(job.id, [linked, failed])
    state.record_members(job.id, "g", ["u1"], [])
    state.update_job(job.id, state="stopped")
    state.quarantine(job.id, "EncounteredEscrowProportionThreshold: 1 of 2 objects failed")

    state.restart(job.id)
    after = state.job("hr")
    assert after is not None and after.id == job.id
    assert (after.target_url, after.token_digest) == (URL, "a" * 64), "target kept"
    assert after.state.quarantine_reason is None and after.state.quarantined_since is None
    assert after.state.state == "enabled"
    assert state.last_cycle(job.id) is None, "the next cycle is an initial one"
    known = state.load_objects(job.id)
    assert known[("user", "u1")].target_id == "t1", "links kept"
    assert known[("user", "u1")].sent == {"userName": "ada"}
    assert (known[("user", "u2")].attempts, known[("user", "u2")].retry_after) == (0, None), (
        "out of escrow: retried by the next cycle")
    assert state.load_members(job.id) == {"g": {"u1"}}


def test_on_demand_cycles_do_not_decide_the_next_cycle(state: EngineState) -> None:
    job = state.ensure_job("hr").id
    scheduled = state.start_cycle(job, "initial", "f")
    state.finish_cycle(scheduled, {})
    on_demand = state.start_cycle(job, ON_DEMAND, "other")
    state.finish_cycle(on_demand, {})
    last = state.last_cycle(job)
    assert last is not None and last.id == scheduled


def test_job_state_quarantine_and_leases(state: EngineState) -> None:
    job = state.ensure_job("hr").id
    assert state.job_state(job).state == "enabled"
    state.update_job(job, state="stopped", allow_deletes=True)
    assert state.job_state(job).state == "stopped" and state.job_state(job).allow_deletes
    assert state.quarantine(job, "Reason: one") is True
    assert state.quarantine(job, "Reason: one") is False, "notified once per reason"
    since = state.job_state(job).quarantined_since
    assert state.quarantine(job, "Reason: two") is True
    assert state.job_state(job).quarantined_since == since
    state.release(job)
    assert state.job_state(job).quarantine_reason is None

    assert state.acquire_lease(job, "w1", 60)
    assert state.lease_owner(job) == "w1"
    assert not state.acquire_lease(job, "w2", 60), "held by a live worker"
    assert state.acquire_lease(job, "w1", 60), "renewed by its owner"
    state.release_lease(job, "w2")
    assert state.lease_owner(job) == "w1", "only the owner releases"
    state.release_lease(job, "w1")
    assert state.acquire_lease(job, "w2", -1) and state.acquire_lease(job, "w3", 60), \
        "an expired lease is taken over"
    other = state.ensure_job("other").id
    assert state.acquire_lease(other, "w1", 60), "leases are per job"


def test_the_log_of_a_tenant_is_what_its_tokens_wrote(state: EngineState) -> None:
    """One job that wrote into tenant A, then (restarted) into tenant B, and another job
    of B: each token digest set sees exactly its cycles' entries, whatever the job."""
    a, b, old_a = "a" * 64, "b" * 64, "c" * 64
    shared = state.ensure_job("acunetix-360", URL, old_a).id
    other = state.ensure_job("other", URL, b).id
    c1 = state.start_cycle(shared, "initial", "f", URL, old_a)
    state.write_log(shared, c1, [created("a-old")])
    c2 = state.start_cycle(shared, "incremental", "f", URL, a)
    state.write_log(shared, c2, [created("a-new"),
                                 LogEntry("user", "x", "t", "a-fail", "update", "failure",
                                          "Code", "detail")])
    c3 = state.start_cycle(shared, "initial", "f", URL + "2", b)
    state.write_log(shared, c3, [created("b-shared")])
    c4 = state.start_cycle(other, "initial", "f", URL, b)
    state.write_log(other, c4, [created("b-other")])
    state.write_log(shared, "none", [LogEntry("job", None, None, "acunetix-360", "quarantine",
                                              "failure")])

    def identities(digests: list[str], status: str | None = None, job_name: str | None = None,
                   text: str | None = None) -> list[str]:
        return [str(e["identity"]) for e in state.search_log(
            token_digests=digests, status=status, job_name=job_name, text=text)]

    assert identities([a, old_a]) == ["a-fail", "a-new", "a-old"]
    assert identities([b]) == ["b-other", "b-shared"]
    assert identities([]) == []
    assert identities([a, old_a], status="failure") == ["a-fail"]
    assert identities([b], job_name="other") == ["b-other"]
    assert identities([a, old_a], text="old") == ["a-old"]
    assert {e["job"] for e in state.search_log(token_digests=[b])} == {"acunetix-360", "other"}

    jobs_a = state.tenant_jobs([a, old_a])
    assert [(j.name, j.last.id) for j in jobs_a] == [("acunetix-360", c2)]
    jobs_b = state.tenant_jobs([b])
    assert [(j.name, j.last.id, j.last.target_url) for j in jobs_b] == [
        ("acunetix-360", c3, URL + "2"), ("other", c4, URL)]
    assert state.tenant_jobs([]) == []


def test_token_digests_outlive_a_reset_and_old_tokens_stay_revoked(
        tenants: TenantStore) -> None:
    tenant, first = tenants.create("acme", "admin@acme.example", "a long passphrase")
    second = tenants.reset_token(tenant.id)
    assert tenants.token_digests(tenant.id) == [token_digest(first), token_digest(second)]
    assert tenants.authenticate(first) is None, "a revoked token never authenticates"
    assert tenants.authenticate(second) == tenant.id
    other, _ = tenants.create("globex", "admin@globex.example", "a long passphrase")
    assert token_digest(first) not in tenants.token_digests(other.id)
    assert tenants.token_digests(TenantId("nobody")) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database migrated up to 0005 only, as before job identity."""
    with database_at("0005", request.param, tmp_path) as database:
        yield database


def test_migration_0006_gives_each_job_name_one_id(at_0005: Database) -> None:
    rows: dict[str, list[dict[str, object]]] = {
        "tenants": [{"id": "t1", "name": "acme", "created": "2026", "deprovision": "soft"}],
        "api_tokens": [{"prefix": "p1", "tenant_id": "t1", "digest": "a" * 64,
                        "sealed": None, "created": "2026"}],
        "prov_jobs": [{"name": "hr", "state": "stopped", "allow_deletes": False,
                       "updated": "2026"}],
        "prov_cycles": [
            {"id": "c1", "job": "hr", "kind": "initial", "started": "2026-01",
             "fingerprint": "f", "target_url": "old", "token_digest": "a" * 64},
            {"id": "c2", "job": "hr", "kind": "incremental", "started": "2026-02",
             "fingerprint": "f", "target_url": URL, "token_digest": "a" * 64},
            {"id": "c3", "job": "crm", "kind": "initial", "started": "2026-01",
             "fingerprint": "f", "target_url": URL, "token_digest": "b" * 64}],
        "prov_objects": [{"job": "hr", "kind": "user", "source_id": "u1", "target_id": "t1",
                          "in_scope": True, "updated": "2026", "attempts": 0}],
        "prov_members": [{"job": "hr", "group_id": "g1", "member_id": "u1"}],
        "prov_log": [{"id": 7, "job": "hr", "cycle_id": "c2", "at": "2026", "kind": "user",
                      "identity": "ada", "action": "create", "status": "success"},
                     {"id": 8, "job": "crm", "cycle_id": "c3", "at": "2026", "kind": "user",
                      "identity": "bob", "action": "create", "status": "success"}],
    }
    meta = sa.MetaData()
    meta.reflect(at_0005.engine)
    with at_0005.engine.begin() as conn:
        for table, values in rows.items():
            conn.execute(meta.tables[table].insert(), values)
    migrate(at_0005)

    state = EngineState(at_0005)
    hr, crm = state.job("hr"), state.job("crm")
    assert hr is not None and crm is not None and hr.id != crm.id
    assert hr.state.state == "stopped" and (hr.target_url, hr.token_digest) == (URL, "a" * 64)
    assert state.load_objects(hr.id)[("user", "u1")].target_id == "t1"
    assert state.load_members(hr.id) == {"g1": {"u1"}}
    assert [c.id for c in state.cycles(hr.id)] == ["c2", "c1"]
    assert [e["identity"] for e in state.search_log(hr.id)] == ["ada"]
    assert [e["identity"] for e in state.search_log(token_digests=["b" * 64])] == ["bob"]
    cycle = state.start_cycle(crm.id, "incremental", "f", URL, "b" * 64)
    state.write_log(crm.id, cycle, [created("carol")])
    assert next(e["id"] for e in state.search_log(crm.id)) > 8, "ids continue after the copy"
    assert token_digests(at_0005, TenantId("t1")) == ["a" * 64], "from api_tokens"


def test_the_last_discovered_target_schema_is_kept_per_job(state: EngineState) -> None:
    """One row per job, replaced by each discovery, never another job's."""
    first = state.ensure_job("hr", URL, "a" * 64)
    second = state.ensure_job("it", URL, "b" * 64)
    assert state.target_schema(first.id) is None
    state.save_target_schema(first.id, {"url": URL, "attributes": [{"name": "userName"}]})
    state.save_target_schema(first.id, {"url": URL, "attributes": [{"name": "title"}]})
    recorded = state.target_schema(first.id)
    assert recorded is not None
    discovered, listing = recorded
    assert discovered and listing == {"url": URL, "attributes": [{"name": "title"}]}
    assert state.target_schema(second.id) is None
