"""The LDAP source end to end: a real slapd (with refint and syncprov), ``scimhub sync --once``
as a process, a real ``scimhub serve`` as the target, checked through SCIM.

Changes between cycles are real LDAP add / modify / modrdn / delete operations; the summary's
``source`` says what each import cost, so the incremental cycle is shown to fetch only the
changed entries while an id-only listing catches deletions and moves.
"""

from __future__ import annotations

import json
from pathlib import Path

import ldap3

from tests.e2e.server import ServerProcess
from tests.engine.ldap.conftest import (
    GROUPS,
    PEOPLE,
    LdapJob,
    MakeSlapd,
    admin,
    group,
    ou,
    person,
    source_table,
)
from tests.engine.ldap.slapd import SUFFIX

SEED = (ou("people") + ou("groups") + ou("alumni")
        + person("ada", "Ada", "Lovelace", title="Countess")
        + person("grace", "Grace", "Hopper", manager=f"uid=ada,{PEOPLE}")
        + person("alan", "Alan", "Turing")
        + person("katherine", "Katherine", "Johnson", manager=f"uid=alan,{PEOPLE}")
        + person("edsger", "Edsger", "Dijkstra")
        + person("donald", "Donald", "Knuth", manager=f"uid=edsger,{PEOPLE}")
        + person("barbara", "Barbara", "Liskov")
        + group("Pioneers", "ada", "grace", "alan", "edsger")
        + group("Others", "donald"))


def test_initial_then_incremental_follow_renames_moves_and_deletes(
        make_slapd: MakeSlapd, target: ServerProcess, tmp_path: Path) -> None:
    slapd = make_slapd(SEED)
    job = LdapJob(target, tmp_path, source_table(slapd, page_size=2), "ldap-incremental")

    first = job.sync()
    assert first["kind"] == "initial" and first["failures"] == 0, first
    assert first["source"]["kind"] == "complete" and first["source"]["fetched"] == 9, first
    users = job.users()
    assert set(users) == {f"{u}@example.com" for u in
                          ("ada", "grace", "alan", "katherine", "edsger", "donald", "barbara")}
    assert users["ada@example.com"]["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert users["ada@example.com"]["externalId"] == "ada"
    assert job.manager_of("grace@example.com") == "ada@example.com"
    assert job.manager_of("donald@example.com") == "edsger@example.com"
    assert job.groups() == {
        "Pioneers": {"ada@example.com", "grace@example.com", "alan@example.com",
                     "edsger@example.com"},
        "Others": {"donald@example.com"}}
    ids = {name: u["id"] for name, u in users.items()}

    conn = admin(slapd)
    conn.add(f"uid=margaret,{PEOPLE}", "inetOrgPerson",
             {"uid": "margaret", "cn": "Margaret Hamilton", "givenName": "Margaret",
              "sn": "Hamilton", "mail": "margaret@example.com"})
    conn.modify(f"cn=Pioneers,{GROUPS}",
                {"member": [(ldap3.MODIFY_ADD, [f"uid=margaret,{PEOPLE}"])]})
    # The refint trap: ada (a manager and a member) renamed, alan (both too) moved to another
    # OU, edsger (both too) deleted. refint rewrites or removes the member and manager values
    # of Pioneers, grace, katherine and donald without changing their entryCSN.
    conn.modify_dn(f"uid=ada,{PEOPLE}", "uid=ada.l")
    conn.modify_dn(f"uid=alan,{PEOPLE}", "uid=alan", new_superior=f"ou=alumni,{SUFFIX}")
    conn.delete(f"uid=edsger,{PEOPLE}")
    conn.modify(f"uid=grace,{PEOPLE}", {"title": [(ldap3.MODIFY_REPLACE, ["Rear Admiral"])]})
    conn.modify(f"uid=katherine,{PEOPLE}",
                {"manager": [(ldap3.MODIFY_REPLACE, [f"uid=ada.l,{PEOPLE}"])]})
    conn.delete(f"cn=Others,{GROUPS}")
    reader = conn.search(f"cn=Pioneers,{GROUPS}", "(objectClass=*)", "BASE",
                         attributes=["member"])
    assert reader and len(conn.entries[0].member.values) == 4  # refint did its part

    second = job.sync()
    assert second["kind"] == "incremental" and second["failures"] == 0, second
    # margaret, ada (renamed), alan (moved), grace, katherine and Pioneers changed; the
    # listing holds 7 users and 1 group.
    assert second["source"] == {"kind": "delta", "fetched": 6, "listed": 8}, second
    users = job.users()
    assert "edsger@example.com" not in users, "deleted from the directory → deleted"
    assert users["ada@example.com"]["id"] == ids["ada@example.com"], "a rename keeps the link"
    assert users["ada@example.com"]["externalId"] == "ada.l"
    assert users["alan@example.com"]["id"] == ids["alan@example.com"], "a move keeps the link"
    assert users["alan@example.com"]["active"] is True
    assert users["grace@example.com"]["title"] == "Rear Admiral"
    assert users["margaret@example.com"]["active"] is True
    assert job.manager_of("grace@example.com") == "ada@example.com"
    assert job.manager_of("katherine@example.com") == "ada@example.com"
    assert job.manager_of("donald@example.com") is None, "the manager was deleted"
    assert job.groups() == {"Pioneers": {"ada@example.com", "grace@example.com",
                                         "alan@example.com", "margaret@example.com"}}

    third = job.sync()
    assert third["counts"] == {} and third["failures"] == 0, third
    assert third["source"] == {"kind": "unchanged", "fetched": 0, "listed": 0}, third

    # A refint rewrite alone (a rename of a member and manager, nothing else) is one entry.
    conn.modify_dn(f"uid=ada.l,{PEOPLE}", "uid=ada.lovelace")
    fourth = job.sync()
    assert fourth["source"]["fetched"] == 1 and fourth["failures"] == 0, fourth
    assert job.manager_of("grace@example.com") == "ada@example.com"
    assert job.users()["ada@example.com"]["externalId"] == "ada.lovelace"
    assert "ada@example.com" in job.groups()["Pioneers"]


def test_a_refused_bind_quarantines_the_job_without_showing_the_password(
        make_slapd: MakeSlapd, target: ServerProcess, tmp_path: Path) -> None:
    slapd = make_slapd(SEED)
    job = LdapJob(target, tmp_path, source_table(slapd), "ldap-refused")
    assert job.sync()["failures"] == 0
    job.password = "not-the-password-91c2"
    result = job.run("sync", "--config", str(tmp_path / "job.toml"), "--once", "--json")
    assert result.returncode != 0
    assert "not-the-password-91c2" not in result.stdout + result.stderr
    status = job.run("job", "status", "--json")
    assert status.returncode == 0, status.stderr
    row = next(r for r in json.loads(status.stdout) if r["job"] == job.name)
    assert row["quarantine_reason"] and "SourceCredentialsRejected" in row["quarantine_reason"]
    assert "invalidCredentials" in row["quarantine_reason"]
    assert "not-the-password-91c2" not in status.stdout
    assert len(job.users()) == 7, "nothing deprovisioned"
    assert all(u["active"] for u in job.users().values())


def test_a_truncated_or_failed_read_fails_the_cycle_and_deprovisions_nothing(
        make_slapd: MakeSlapd, target: ServerProcess, tmp_path: Path) -> None:
    slapd = make_slapd(SEED)
    job = LdapJob(target, tmp_path, source_table(slapd, page_size=2), "ldap-truncated")
    assert job.sync()["failures"] == 0
    admin(slapd).delete(f"uid=barbara,{PEOPLE}")  # a real change, so the cycle would act

    # The server now stops every paged search of the service account after 3 entries.
    slapd.stop()
    slapd.service_limit = 3
    slapd.write_config()
    slapd.start()
    result = job.run("sync", "--config", str(tmp_path / "job.toml"), "--once", "--json")
    assert result.returncode != 0
    assert "sizeLimitExceeded" in result.stderr, result.stdout + result.stderr
    assert job.users()["barbara@example.com"]["active"] is True, "nothing deprovisioned"

    slapd.stop()  # no server at all
    result = job.run("sync", "--config", str(tmp_path / "job.toml"), "--once", "--json")
    assert result.returncode != 0
    assert "cannot connect" in result.stdout + result.stderr, result.stdout + result.stderr
    assert len(job.users()) == 7 and all(u["active"] for u in job.users().values())

    slapd.service_limit = None
    slapd.write_config()
    slapd.start()
    recovered = job.sync()
    assert recovered["failures"] == 0, recovered
    assert "barbara@example.com" not in job.users(), "the next good read deprovisions"


def test_dry_run_and_provision_on_demand_read_the_directory(
        make_slapd: MakeSlapd, target: ServerProcess, tmp_path: Path) -> None:
    slapd = make_slapd(SEED)
    job = LdapJob(target, tmp_path, source_table(slapd), "ldap-on-demand")
    dry = job.sync("--dry-run")
    assert dry["failures"] == 0 and len(dry["planned"]) >= 7, dry
    assert job.users() == {}, "a dry run writes nothing"

    entry = admin(slapd)
    entry.search(f"uid=grace,{PEOPLE}", "(objectClass=*)", "BASE", attributes=["entryUUID"])
    grace = str(entry.entries[0].entryUUID.value)
    result = job.run("provision", "--config", str(tmp_path / "job.toml"), "--job", job.name,
                     "--user", grace, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(job.users()) == {"grace@example.com"}
    assert job.users()["grace@example.com"]["name"]["familyName"] == "Hopper"


def test_test_connection_proves_the_ldap_source(
        make_slapd: MakeSlapd, target: ServerProcess, tmp_path: Path) -> None:
    slapd = make_slapd(SEED)
    job = LdapJob(target, tmp_path, source_table(slapd), "ldap-test-connection")
    done = job.run("test-connection", "--config", str(tmp_path / "job.toml"), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = {s["name"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["source: bind"]["ok"] and steps["source: base DN"]["ok"]
    assert steps["source: users"]["detail"].startswith("7 users selected")
    assert steps["source: groups"]["detail"].startswith("2 groups selected")

    job.password = "not-the-password-4b1d"
    refused = job.run("test-connection", "--config", str(tmp_path / "job.toml"), "--json")
    assert refused.returncode == 1
    assert "not-the-password-4b1d" not in refused.stdout + refused.stderr
    steps = {s["name"]: s for s in json.loads(refused.stdout)["steps"]}
    assert not steps["source: bind"]["ok"]
    assert "invalidCredentials" in steps["source: bind"]["detail"]
