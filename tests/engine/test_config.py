"""Job files: defaults, mappings checked at load time, and errors that name the place."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scimhub.engine.config import ConfigError, load_jobs
from scimhub.engine.expressions import EvaluationContext
from scimhub.engine.mapping import desired_attributes
from tests.engine.jobs import job_toml

BASE = job_toml("acunetix-360", "http://127.0.0.1:8000/scim/v2", interval="40m", token="t",
                mode="assigned")
CTX = EvaluationContext(datetime(2026, 1, 1, tzinfo=UTC), random.Random(1))


def load(tmp_path: Path, extra: str = "") -> list:
    path = tmp_path / "job.toml"
    path.write_text(BASE + extra)
    return load_jobs(path)


def test_defaults_are_the_acunetix_tables(tmp_path: Path) -> None:
    [job] = load(tmp_path)
    assert job.interval_seconds == 2400
    assert [m.target for m in job.user_mappings] == [
        "userName", "active", 'emails[type eq "work"].value', "name.givenName",
        "name.familyName", 'phoneNumbers[type eq "mobile"].value']
    user = {"userPrincipalName": "ada@x", "mail": "ada@x", "givenName": "Ada",
            "surname": "Lovelace", "IsSoftDeleted": False}
    desired = desired_attributes(job.user_mappings, user, CTX, creating=True)
    assert desired["active"] is True and desired["userName"] == "ada@x"
    # A null is never provisioned (issue 11): the attribute is left out, not sent as None.
    assert 'phoneNumbers[type eq "mobile"].value' not in desired
    assert desired_attributes(job.user_mappings, {**user, "IsSoftDeleted": True}, CTX,
                              creating=False)["active"] is False


def test_token_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "secret")
    [job] = load(tmp_path)
    assert job.target.token == "t"
    path = tmp_path / "env.toml"
    path.write_text(BASE.replace('token = "t"', 'token_env = "MY_TOKEN"'))
    assert load_jobs(path)[0].target.token == "secret"


@pytest.mark.parametrize(("extra", "message"), [
    ('[[mappings.users]]\ntarget = "userName"\nexpression = \'Join("@", [a]\'\nmatch = 1\n',
     "mappings.users[0] (userName): expression at position"),
    ('[[mappings.users]]\ntarget = "nosuch"\nsource = "x"\nmatch = 1\n',
     "no attribute 'nosuch'"),
    ('[[mappings.users]]\ntarget = "id"\nsource = "x"\nmatch = 1\n', "read-only"),
    ('[[mappings.users]]\ntarget = "userName"\nsource = "x"\n', "needs 'match'"),
    ('[[mappings.users]]\ntarget = "userName"\nsource = "x"\nconstant = "y"\nmatch = 1\n',
     "exactly one of"),
    ('[[scope.filters]]\nclauses = [{ attribute = "a", operator = "LIKE", value = "x" }]\n',
     "unknown scoping operator"),
])
def test_bad_jobs_are_refused_at_load_naming_the_mapping(tmp_path: Path, extra: str,
                                                         message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, extra)


def test_fingerprint_changes_with_mappings(tmp_path: Path) -> None:
    [a] = load(tmp_path)
    [b] = load(tmp_path, '[actions]\ndeprovision = "delete"\n')
    assert a.fingerprint != b.fingerprint
