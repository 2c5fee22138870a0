"""Defaults, nulls and the mapping type "None", end to end against a real ``scimhub serve``.

Entra never provisions a null, and a mapping's default applies whenever the source value is
null (docs/entra.md §2.5): an update must neither clear a default sent on create nor send a
``remove`` because a source value became empty. Clearing is an explicit per-mapping option
(``clear_when_null``). A "none" mapping (``type = "none"``) has no source and only gives its
default; a target value set out of band is left alone.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.engine.config import ConfigError, load_jobs
from scimhub.engine.expressions import EvaluationContext
from scimhub.engine.mapping import desired_attributes
from tests.e2e.server import ServerProcess
from tests.engine.jobs import USER_NAME, job_toml, mapping, run_scimhub


def config(url: str, *, token: str | None = None) -> str:
    """The job of these tests: the mappings whose null and default handling they check."""
    return job_toml("mapping-values", url, token=token, mappings=USER_NAME
                    + mapping("title", "jobTitle", default="unknown")
                    + mapping('phoneNumbers[type eq "mobile"].value', "mobile")
                    + mapping("nickName", "mailNickname", clear_when_null=True))


NONE_MAPPING = """
[[mappings.users]]
target = "preferredLanguage"
type = "none"
default = "en-US"
"""
CTX = EvaluationContext(datetime(2026, 1, 1, tzinfo=UTC), random.Random(1))


def user(oid: str, upn: str, **extra: Any) -> dict[str, Any]:
    return {"objectId": oid, "userPrincipalName": upn, "accountEnabled": True, **extra}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("mapping-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.tenants = {"acme": proc.create_tenant("acme")}  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()


class Job:
    def __init__(self, target: ServerProcess, workdir: Path, extra: str = "") -> None:
        self.workdir = workdir
        self.token = target.tenants["acme"]["token"]  # type: ignore[attr-defined]
        self.scim = httpx.Client(base_url=target.scim_url,
                                 headers={"Authorization": f"Bearer {self.token}"})
        (workdir / "job.toml").write_text(config(target.scim_url) + extra)

    def sync(self, *users: dict[str, Any]) -> dict[str, Any]:
        (self.workdir / "directory.json").write_text(json.dumps({"users": list(users)}))
        result = run_scimhub(
            "sync", "--config", str(self.workdir / "job.toml"), "--once", "--json",
            "--database", f"sqlite:///{self.workdir}/engine.db",
            env={"SCIMHUB_TARGET_TOKEN": self.token, "SCIMHUB_KEY_FILE": str(self.workdir / "key")})
        assert result.returncode == 0, result.stderr
        summary = dict(json.loads(result.stdout.strip().splitlines()[-1]))
        assert summary["failures"] == 0, summary
        return summary

    def logs(self, fmt: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "scimhub", "logs", "--format", fmt,
             "--database", f"sqlite:///{self.workdir}/engine.db"],
            capture_output=True, text=True, timeout=60, check=True,
            env={"PATH": "/usr/bin:/bin", "SCIMHUB_KEY_FILE": str(self.workdir / "key")})
        return result.stdout

    def user(self, user_name: str) -> dict[str, Any]:
        found = self.scim.get("/Users", params={"filter": f'userName eq "{user_name}"'}).json()
        [resource] = found["Resources"]
        return dict(resource)


def test_a_default_sent_on_create_survives_an_update_of_another_attribute(
        target: ServerProcess, tmp_path: Path) -> None:
    job = Job(target, tmp_path)
    job.sync(user("u1", "ada@contoso.example"))
    assert job.user("ada@contoso.example")["title"] == "unknown"

    job.sync(user("u1", "ada.king@contoso.example"))  # only the UPN changed
    ada = job.user("ada.king@contoso.example")
    assert ada.get("title") == "unknown", "the update cleared the default sent on create"
    # The log, as CSV, carries what the update modified: the UPN only.
    rows = list(csv.DictReader(io.StringIO(job.logs("csv"))))
    [update] = [r for r in rows if r["action"] == "update"]
    assert json.loads(update["modified"]) == [
        {"attribute": "userName", "old": "ada@contoso.example", "new": "ada.king@contoso.example"}]
    assert {e["action"]: e["steps"] for e in json.loads(job.logs("json"))}.keys() == {
        "create", "update"}


def test_a_source_value_turning_null_takes_the_default_or_is_left_alone(
        target: ServerProcess, tmp_path: Path) -> None:
    job = Job(target, tmp_path)
    job.sync(user("u1", "grace@contoso.example", jobTitle="Admiral", mobile="555-0001",
                  mailNickname="grace"))
    grace = job.user("grace@contoso.example")
    assert (grace["title"], grace["nickName"]) == ("Admiral", "grace")
    assert grace["phoneNumbers"] == [{"type": "mobile", "value": "555-0001"}]

    job.sync(user("u1", "grace@contoso.example"))  # jobTitle, mobile, mailNickname cleared
    grace = job.user("grace@contoso.example")
    assert grace.get("title") == "unknown", "the default applies on update too"
    assert grace.get("phoneNumbers") == [{"type": "mobile", "value": "555-0001"}], \
        "a null source value must not send a remove"
    assert "nickName" not in grace, "clear_when_null clears the target when the source is null"


def test_a_none_mapping_gives_its_default_and_leaves_the_target_alone(
        target: ServerProcess, tmp_path: Path) -> None:
    job = Job(target, tmp_path, NONE_MAPPING)
    job.sync(user("u1", "alan@contoso.example", jobTitle="Logician"))
    alan = job.user("alan@contoso.example")
    assert alan["preferredLanguage"] == "en-US"

    patched = job.scim.patch(f"/Users/{alan['id']}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "preferredLanguage", "value": "fr-FR"}]})
    assert patched.status_code == 200, patched.text
    job.sync(user("u1", "alan@contoso.example", jobTitle="Cryptanalyst"))
    alan = job.user("alan@contoso.example")
    assert (alan["title"], alan["preferredLanguage"]) == ("Cryptanalyst", "fr-FR")


def offline_job(tmp_path: Path, extra: str = "") -> Path:
    """The job file with a literal token, for what is decided at load, without a target."""
    path = tmp_path / "job.toml"
    path.write_text(config("http://127.0.0.1:1/scim/v2", token="t") + extra)
    return path


def test_what_desired_attributes_returns_for_nulls(tmp_path: Path) -> None:
    """The contract the cycle builds its PATCH from: absent = leave alone, None = remove."""
    [job] = load_jobs(offline_job(tmp_path, NONE_MAPPING))
    nothing = user("u1", "ada@contoso.example", mobile="", mailNickname=None)
    on_create = desired_attributes(job.user_mappings, nothing, CTX, creating=True)
    assert on_create == {"userName": "ada@contoso.example", "title": "unknown",
                         "nickName": None, "preferredLanguage": "en-US"}
    on_update = desired_attributes(job.user_mappings, nothing, CTX, creating=False)
    assert on_update == {"userName": "ada@contoso.example", "title": "unknown",
                         "nickName": None}
    # A "none" mapping fills an empty target attribute, never a filled one.
    assert desired_attributes(job.user_mappings, nothing, CTX, creating=False,
                              current={"preferredLanguage": None})["preferredLanguage"] == "en-US"
    for unknown_or_filled in ({"preferredLanguage": "fr"}, {}):
        assert "preferredLanguage" not in desired_attributes(
            job.user_mappings, nothing, CTX, creating=False, current=unknown_or_filled)


@pytest.mark.parametrize(("mapping", "message"), [
    ('type = "none"\nsource = "x"', "a 'none' mapping has no source; remove 'source'"),
    ('type = "constant"\nsource = "x"', "a 'constant' mapping takes 'constant' and only it"),
    ('type = "lookup"\nsource = "x"', "'type' is one of direct, constant, expression, none"),
    ('source = "x"\ndefault = "y"\nclear_when_null = true', "exclude each other"),
    ('type = "none"\nclear_when_null = true', "'clear_when_null' needs a source"),
    ('source = "x"\nclear_when_null = "yes"', "'clear_when_null' is true or false"),
    ('type = "none"\nmatch = 2', "a 'none' mapping used for matching needs a 'default'"),
])
def test_bad_null_and_none_options_are_refused_at_load(tmp_path: Path, mapping: str,
                                                       message: str) -> None:
    path = offline_job(tmp_path, f'\n[[mappings.users]]\ntarget = "profileUrl"\n{mapping}\n')
    with pytest.raises(ConfigError, match="profileUrl.*" + re.escape(message)):
        load_jobs(path)


def test_the_type_key_keeps_the_old_spellings_working(tmp_path: Path) -> None:
    [job] = load_jobs(offline_job(
        tmp_path, NONE_MAPPING + '\n[[mappings.users]]\ntarget = "profileUrl"\ntype = "Direct"\n'
                  'source = "x"\n[[mappings.users]]\ntarget = "locale"\nconstant = "en"\n'))
    kinds = {m.target: m.kind for m in job.user_mappings}
    assert (kinds["profileUrl"], kinds["locale"], kinds["preferredLanguage"]) == (
        "direct", "constant", "none")
    assert [m.redacted for m in job.user_mappings].count(True) == 0
