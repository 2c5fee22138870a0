"""Fixtures for the LDAP source: a real slapd per test (tests/engine/ldap/slapd.py), changes made
through real LDAP operations as the root DN, and a job running ``scimhub sync`` against a real
``scimhub serve``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import ldap3
import pytest

from tests.e2e.server import ServerProcess
from tests.engine.jobs import (
    ACTIVE,
    ENTERPRISE,
    MANAGER,
    NAMES,
    USER_NAME,
    TargetView,
    job_toml,
    mapping,
    run_scimhub,
    toml_value,
)
from tests.engine.ldap.slapd import (
    ROOT_DN,
    ROOT_PASSWORD,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SUFFIX,
    Slapd,
)

PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"


def person(uid: str, given: str, sn: str, ou: str = PEOPLE, **extra: str) -> str:
    """An inetOrgPerson entry as LDIF."""
    lines = [f"dn: uid={uid},{ou}", "objectClass: inetOrgPerson", f"uid: {uid}",
             f"cn: {given} {sn}", f"givenName: {given}", f"sn: {sn}",
             f"mail: {uid}@example.com", *(f"{k}: {v}" for k, v in extra.items())]
    return "\n".join(lines) + "\n\n"


def group(cn: str, *member_uids: str, ou: str = GROUPS) -> str:
    members = [f"member: uid={m},{PEOPLE}" if "=" not in m else f"member: {m}"
               for m in member_uids]
    return "\n".join([f"dn: cn={cn},{ou}", "objectClass: groupOfNames", f"cn: {cn}",
                      *members]) + "\n\n"


def ou(name: str) -> str:
    return f"dn: ou={name},{SUFFIX}\nobjectClass: organizationalUnit\nou: {name}\n\n"


#: ``make_slapd(ldif, **fields)``: a configured, seeded and started slapd.
MakeSlapd = Callable[..., Slapd]


@pytest.fixture
def make_slapd(tmp_path: Path) -> Iterator[MakeSlapd]:
    """``make_slapd(ldif, **options)``: a configured and started slapd, stopped after."""
    started: list[Slapd] = []

    def make(ldif: str, **options: Any) -> Slapd:
        workdir = tmp_path / f"slapd{len(started)}"
        workdir.mkdir()
        server = Slapd(workdir, **options)
        server.configure(ldif)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def admin(server: Slapd) -> Any:
    """The root DN, for the changes made between cycles (an ``ldap3.Connection``, typed Any:
    types-ldap3 leaves modify and delete unannotated)."""
    return ldap3.Connection(server.url, ROOT_DN, ROOT_PASSWORD, auto_bind=True,
                            raise_exceptions=True)


def source_table(server: Slapd, **extra: Any) -> dict[str, Any]:
    return {"type": "ldap", "url": server.url, "bind_dn": SERVICE_DN,
            "password_env": "SCIMHUB_LDAP_PASSWORD", "base_dn": SUFFIX, **extra}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("ldap-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.start()
    yield proc
    proc.stop()


#: The LDAP jobs' user mappings.
MAPPINGS = (USER_NAME + ACTIVE + NAMES + mapping("title", "jobTitle")
            + mapping("externalId", "mailNickname") + MANAGER)


class LdapJob(TargetView):
    """A job file with an LDAP source, its engine database, and the target tenant's view."""

    def __init__(self, target: ServerProcess, workdir: Path, table: dict[str, Any],
                 name: str) -> None:
        self.workdir = workdir
        self.name = name
        self.token = target.create_tenant(name)["token"]
        self.scim = httpx.Client(base_url=target.scim_url,
                                 headers={"Authorization": f"Bearer {self.token}"})
        self.target = target
        self.password = SERVICE_PASSWORD
        self.write(table)

    def write(self, table: dict[str, Any]) -> None:
        source = "\n".join(f"{k} = {toml_value(v)}" for k, v in table.items())
        (self.workdir / "job.toml").write_text(job_toml(
            self.name, self.target.scim_url, interval="40m", source=source, mode="assigned",
            actions='delete_after = "0"', mappings=MAPPINGS))

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_scimhub(
            *args, timeout=timeout,
            env={"SCIMHUB_TARGET_TOKEN": self.token, "SCIMHUB_LDAP_PASSWORD": self.password,
                 "SCIMHUB_DATABASE_URL": f"sqlite:///{self.workdir}/engine.db",
                 "SCIMHUB_KEY_FILE": str(self.workdir / "key")})

    def sync(self, *extra: str) -> dict[str, Any]:
        result = self.run("sync", "--config", str(self.workdir / "job.toml"), "--once",
                          "--json", *extra)
        assert result.returncode in (0, 1), result.stdout + result.stderr
        assert self.password not in result.stdout + result.stderr
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    def manager_of(self, user_name: str) -> str | None:
        """The userName of the user's manager in the target, or None."""
        users = self.users()
        ref = users[user_name].get(ENTERPRISE, {}).get("manager")
        if not ref:
            return None
        return next(name for name, u in users.items() if u["id"] == ref["value"])
