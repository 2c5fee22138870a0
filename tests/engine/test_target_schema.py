"""The target's schema as the engine sees it: discovery, tolerance, binding, end to end.

The pure part (``parse_target_schema``, ``bind_to``) is tested on documents shaped as real
servers send them; discovery over HTTP on a mock transport (which requests, which fallbacks);
and end to end a scimhub tenant that registered a custom extension (``scimhub schema add``)
receives a job's custom attribute, typed by what the target advertises.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.engine.config import ConfigError, JobConfig, load_jobs
from scimhub.engine.errors import CredentialsRejected, SchemaMismatch
from scimhub.engine.mapping import typed
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.target.connection import test_connection
from scimhub.engine.target.retry import RetryPolicy
from scimhub.engine.target.schema import (
    attribute_rows,
    bind_to,
    discover,
    parse_target_schema,
    unmapped_required,
)
from scimhub.scim.schemas import USER
from tests.e2e.server import ServerProcess, scimhub
from tests.engine.jobs import USER_NAME, job_toml

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
URL = "https://target.example/scim/v2"

EXTENSION = {
    "id": CUSTOM, "name": "CustomExtensionName", "description": "Entra's example extension",
    "attributes": [
        {"name": "costCenterCode", "type": "string", "multiValued": False, "required": False,
         "caseExact": False, "mutability": "readWrite", "returned": "default",
         "uniqueness": "none", "description": "cost center"},
        {"name": "badgeNumber", "type": "integer", "multiValued": False, "required": False,
         "caseExact": False, "mutability": "readWrite", "returned": "default",
         "uniqueness": "none", "description": "badge"},
    ],
}


def attr(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, **extra}


def schemas_doc() -> dict[str, Any]:
    """A ListResponse as a loose real server sends it: lower-case keys, missing fields."""
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 4,
            "Resources": [
                {"id": CORE_USER, "attributes": [
                    attr("userName", type="String", required=True, uniqueness="Server"),
                    attr("active", type="BOOLEAN"),
                    attr("name", subAttributes=[attr("givenName"), attr("familyName")]),
                    attr("emails", type="complex", multiValued=True, subAttributes=[
                        attr("value"), attr("type")]),
                    attr("hireDate", type="datetime"),
                    attr("title", mutability="READONLY"),
                ]},
                {"ID": CORE_GROUP, "Attributes": [attr("displayName", required="true"),
                                                  attr("members", type="complex",
                                                       multiValued=True)]},
                {"id": ENTERPRISE, "attributes": [attr("department"), attr("costCenter")]},
                EXTENSION,
            ]}


def resource_types_doc() -> list[dict[str, Any]]:
    """A bare list (no ListResponse), endpoints without the leading slash."""
    return [{"name": "User", "endpoint": "Users", "schema": CORE_USER,
             "schemaExtensions": [{"schema": ENTERPRISE, "required": False},
                                  {"schema": CUSTOM, "required": True}]},
            {"name": "Group", "endpoint": "/Groups", "schema": CORE_GROUP}]


def job_file(tmp_path: Path, url: str, mappings: str) -> Path:
    (tmp_path / "directory.json").write_text(json.dumps({"users": [], "groups": []}))
    path = tmp_path / "job.toml"
    path.write_text(job_toml("schema-job", url, mappings=USER_NAME + mappings))
    return path


def load(tmp_path: Path, mappings: str, url: str = URL) -> JobConfig:
    return load_jobs(job_file(tmp_path, url, mappings))[0]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job files name their token by ``token_env``."""
    monkeypatch.setenv("SCIMHUB_TARGET_TOKEN", "t")


# -- parsing what targets send ---------------------------------------------------------------


def test_discovered_documents_become_the_scim_model_whatever_their_case() -> None:
    found = parse_target_schema(URL, resource_types_doc(), schemas_doc())
    assert found.origin == "discovered" and found.notes == ()
    users = found.users
    assert users.schema_ids == (CORE_USER, ENTERPRISE, CUSTOM)
    assert users.required_extensions == frozenset({CUSTOM})
    user_name = users.schema.attribute("username")
    assert user_name is not None and user_name.required and user_name.uniqueness == "server"
    assert user_name.type == "string" and not user_name.case_exact  # RFC 7643 §2.2 default
    active, hire = users.schema.attribute("active"), users.schema.attribute("hireDate")
    assert active is not None and active.type == "boolean"
    assert hire is not None and hire.type == "dateTime"
    name = users.schema.attribute("name")
    assert name is not None and name.type == "complex", "subAttributes make it complex"
    title = users.schema.attribute("title")
    assert title is not None and title.mutability == "readOnly"
    badge = users.extension(CUSTOM.lower())
    assert badge is not None and badge.attribute("badgeNumber") is not None
    group_name = found.groups.schema.attribute("displayName")
    assert group_name is not None and group_name.required, "'true' as a string"


def test_a_single_resource_or_missing_resource_types_are_tolerated() -> None:
    only_schemas = parse_target_schema(URL, None, schemas_doc())
    assert only_schemas.origin == "discovered"
    assert only_schemas.users.schema_ids == (CORE_USER, ENTERPRISE, CUSTOM), \
        "extensions named after the core schema"
    assert any("no /ResourceTypes" in n for n in only_schemas.notes)
    single = parse_target_schema(URL, {"Resources": {"name": "User", "endpoint": "/Users",
                                                     "schema": CORE_USER}},
                                 {"id": CORE_USER, "attributes": [attr("userName")]})
    assert single.users.schema_ids == (CORE_USER,)
    assert single.groups is not None and any("no Group resource type" in n
                                             for n in single.notes)


@pytest.mark.parametrize("resource_types, schemas", [
    (None, None),
    ({"Resources": []}, {"totalResults": 0, "Resources": []}),
    ("not an object", ["neither"]),
])
def test_a_target_that_advertises_nothing_gets_the_built_in_schema(
        resource_types: Any, schemas: Any) -> None:
    found = parse_target_schema(URL, resource_types, schemas, ["GET /Schemas: 404 NotFound"])
    assert found.origin == "built-in" and found.users is USER
    assert found.notes[0] == "GET /Schemas: 404 NotFound"
    assert "built-in schema" in found.notes[-1]


def test_an_advertised_extension_that_schemas_does_not_describe_is_noted() -> None:
    docs = schemas_doc()
    docs["Resources"] = docs["Resources"][:2]  # neither the enterprise nor the custom one
    found = parse_target_schema(URL, resource_types_doc(), docs)
    assert found.users.schema_ids == (CORE_USER, ENTERPRISE, CUSTOM)
    enterprise = found.users.extension(ENTERPRISE)
    assert enterprise is not None and enterprise.attribute("manager") is not None, \
        "the built-in definition of a standard extension"
    custom = found.users.extension(CUSTOM)
    assert custom is not None and custom.attributes == ()
    assert any(CUSTOM in n and "no attributes" in n for n in found.notes)


# -- binding a job ---------------------------------------------------------------------------


def test_an_extension_attribute_loads_and_binds_to_the_target_type(tmp_path: Path) -> None:
    job = load(tmp_path, f'[[mappings.users]]\ntarget = "{CUSTOM}:badgeNumber"\n'
                         f'source = "employeeId"\n')
    assert job.user_mappings[1].leaf is None, "unknown until the target is read"
    bound = bind_to(job, parse_target_schema(URL, resource_types_doc(), schemas_doc()))
    leaf = bound.user_mappings[1].leaf
    assert leaf is not None and leaf.type == "integer"
    assert typed("42", leaf) == 42, "typed() converts with the target's definition"
    assert bound.user_type.extension(CUSTOM) is not None, "the cycle builds bodies with it"


def test_a_core_attribute_typo_is_still_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the target schema has no attribute 'userNmae'"):
        load(tmp_path, '[[mappings.users]]\ntarget = "userNmae"\nsource = "mail"\n')


def test_binding_names_each_mapping_the_target_lacks(tmp_path: Path) -> None:
    job = load(tmp_path, f"""
[[mappings.users]]
target = "{CUSTOM}:costCentreCode"
source = "department"
[[mappings.users]]
target = "urn:ietf:params:scim:schemas:extension:Other:2.0:User:x"
source = "department"
[[mappings.users]]
target = "nickName"
source = "mailNickname"
[[mappings.users]]
target = "title"
source = "jobTitle"
""")
    with pytest.raises(SchemaMismatch) as caught:
        bind_to(job, parse_target_schema(URL, resource_types_doc(), schemas_doc()))
    assert caught.value.problems == (
        f"job schema-job: mappings.users[1] ({CUSTOM}:costCentreCode): the target ({URL}) "
        f"has no attribute 'costCentreCode' in extension {CUSTOM}",
        "job schema-job: mappings.users[2] (urn:ietf:params:scim:schemas:extension:Other:2.0:"
        f"User:x): the target ({URL}) has no extension urn:ietf:params:scim:schemas:extension:"
        f"Other:2.0:User for User (its extensions: {ENTERPRISE}, {CUSTOM})",
        f"job schema-job: mappings.users[3] (nickName): the target ({URL}) has no attribute "
        f"'nickName' in core schema {CORE_USER} or its extensions",
        f"job schema-job: mappings.users[4] (title): 'title' is read-only at the target "
        f"({URL})",
    )


def test_required_attributes_no_mapping_gives_are_listed(tmp_path: Path) -> None:
    docs = schemas_doc()
    docs["Resources"][0]["attributes"].append(attr("locale", required=True))
    found = parse_target_schema(URL, resource_types_doc(), docs)
    bound = bind_to(load(tmp_path, ""), found)
    assert unmapped_required(bound.user_mappings, bound.user_type) == ["locale"]


def test_attribute_rows_name_extension_attributes_by_their_full_path() -> None:
    rows = {(r.resource, r.name): r
            for r in attribute_rows(parse_target_schema(URL, resource_types_doc(),
                                                        schemas_doc()))}
    badge = rows[("User", f"{CUSTOM}:badgeNumber")]
    assert (badge.type, badge.extension, badge.multi_valued) == ("integer", CUSTOM, False)
    assert rows[("User", "name.givenName")].extension is None
    assert rows[("Group", "displayName")].required is True


# -- discovery over HTTP ---------------------------------------------------------------------


def discovered(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[Any, list[str]]:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return handler(request)

    async def go() -> Any:
        async with ScimTarget(URL, "t", transport=httpx.MockTransport(record),
                              policy=RetryPolicy(max_attempts=1)) as target:
            return await discover(target)
    return asyncio.run(go()), seen


def test_discovery_reads_schemas_then_resource_types() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Schemas"):
            return httpx.Response(200, json=schemas_doc())
        return httpx.Response(200, json=resource_types_doc())

    found, seen = discovered(handler)
    assert seen == ["/scim/v2/Schemas", "/scim/v2/ResourceTypes"]
    assert found.origin == "discovered" and found.url == URL


@pytest.mark.parametrize("answer", [httpx.Response(404, json={"detail": "no"}),
                                    httpx.Response(200, text="<html>hello</html>"),
                                    httpx.Response(200, json={"Resources": []})])
def test_no_schemas_falls_back_without_reading_resource_types(answer: httpx.Response) -> None:
    found, seen = discovered(lambda _: answer)
    assert seen == ["/scim/v2/Schemas"]
    assert found.origin == "built-in" and found.users is USER


def test_a_rejected_token_during_discovery_is_raised_not_hidden() -> None:
    with pytest.raises(CredentialsRejected):
        discovered(lambda _: httpx.Response(401, json={"detail": "bad token"}))


def test_test_connection_with_a_job_fails_on_a_mapping_the_target_lacks(
        tmp_path: Path) -> None:
    empty = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
             "totalResults": 0, "Resources": []}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/Schemas"):
            docs = schemas_doc()
            docs["Resources"] = docs["Resources"][:3]  # no custom extension
            return httpx.Response(200, json=docs)
        if path.endswith("/ResourceTypes"):
            types = resource_types_doc()
            types[0]["schemaExtensions"] = types[0]["schemaExtensions"][:1]
            return httpx.Response(200, json=types)
        if path.endswith("/ServiceProviderConfig"):
            return httpx.Response(200, json={"patch": {"supported": True}})
        return httpx.Response(200, json=empty)

    job = load(tmp_path, f'[[mappings.users]]\ntarget = "{CUSTOM}:costCenterCode"\n'
                         f'source = "department"\n')
    report = asyncio.run(test_connection(URL, "t", job=job,
                                         transport=httpx.MockTransport(handler)))
    names = [s.name for s in report.steps]  # the source's own checks follow the target's
    assert names.index("Schemas") + 1 == names.index("mappings")
    assert not report.ok
    assert report.reason == (f"mappings: job schema-job: mappings.users[1] "
                             f"({CUSTOM}:costCenterCode): the target ({URL}) has no extension "
                             f"{CUSTOM} for User (its extensions: {ENTERPRISE})")


# -- end to end: a scimhub tenant with a custom extension ------------------------------------


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A scimhub tenant that registered Entra's example extension."""
    workdir = tmp_path_factory.mktemp("extended")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.tenants = {"fabrikam": proc.create_tenant("fabrikam")}  # type: ignore[attr-defined]
    (workdir / "ext.json").write_text(json.dumps(EXTENSION))
    scimhub("schema", "add", "fabrikam", "--file", str(workdir / "ext.json"), env=proc.env)
    proc.start()
    yield proc
    proc.stop()


def sync(workdir: Path, token: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scimhub", "sync", "--config", str(workdir / "job.toml"),
         "--once", "--json", "--database", f"sqlite:///{workdir}/engine.db"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"SCIMHUB_TARGET_TOKEN": token, "PATH": "/usr/bin:/bin",
             "SCIMHUB_KEY_FILE": str(workdir / "key")})


def test_a_custom_extension_attribute_is_provisioned_into_a_tenant_that_registered_it(
        extended: ServerProcess, tmp_path: Path) -> None:
    token = extended.tenants["fabrikam"]["token"]  # type: ignore[attr-defined]
    job_file(tmp_path, extended.scim_url, f"""
[[mappings.users]]
target = "{CUSTOM}:costCenterCode"
source = "department"
[[mappings.users]]
target = "{CUSTOM}:badgeNumber"
source = "employeeId"
""")
    (tmp_path / "directory.json").write_text(json.dumps({"users": [
        {"objectId": "u1", "userPrincipalName": "ada@fabrikam.example",
         "department": "CC-1234", "employeeId": "42", "accountEnabled": True}], "groups": []}))
    done = sync(tmp_path, token)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["failures"] == 0, summary
    with httpx.Client(base_url=extended.scim_url,
                      headers={"Authorization": f"Bearer {token}"}) as scim:
        found = scim.get("/Users", params={"filter": 'userName eq "ada@fabrikam.example"'})
        (user,) = found.json()["Resources"]
        assert user[CUSTOM] == {"costCenterCode": "CC-1234", "badgeNumber": 42}, user
        assert CUSTOM in user["schemas"]
        by_filter = scim.get("/Users", params={"filter": f'{CUSTOM}:costCenterCode eq '
                                                         '"CC-1234"'}).json()
        assert by_filter["totalResults"] == 1


def test_a_mapping_to_an_attribute_the_tenant_lacks_fails_with_nothing_written(
        extended: ServerProcess, tmp_path: Path) -> None:
    token = extended.tenants["fabrikam"]["token"]  # type: ignore[attr-defined]
    job_file(tmp_path, extended.scim_url, f"""
[[mappings.users]]
target = "{CUSTOM}:costCentreCode"
source = "department"
""")
    (tmp_path / "directory.json").write_text(json.dumps({"users": [
        {"objectId": "u9", "userPrincipalName": "typo@fabrikam.example",
         "department": "CC-1", "accountEnabled": True}], "groups": []}))
    done = sync(tmp_path, token)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"mappings.users[1] ({CUSTOM}:costCentreCode): the target ({extended.scim_url}) "
            f"has no attribute 'costCentreCode' in extension {CUSTOM}") in done.stderr
    with httpx.Client(base_url=extended.scim_url,
                      headers={"Authorization": f"Bearer {token}"}) as scim:
        found = scim.get("/Users", params={"filter": 'userName eq "typo@fabrikam.example"'})
        assert found.json()["totalResults"] == 0, "nothing written"


def job_schema(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scimhub", "job", "schema", "schema-job", *args,
         "--database", f"sqlite:///{workdir}/engine.db"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "SCIMHUB_KEY_FILE": str(workdir / "key")})


def test_job_schema_without_the_job_file_shows_what_the_last_cycle_discovered(
        extended: ServerProcess, tmp_path: Path) -> None:
    """``scimhub job schema NAME [--json]`` as the command-line contract has it: no job file
    (so no token) is needed to see the attribute list the engine discovered."""
    token = extended.tenants["fabrikam"]["token"]  # type: ignore[attr-defined]
    job_file(tmp_path, extended.scim_url, f"""
[[mappings.users]]
target = "{CUSTOM}:costCentreCode"
source = "department"
""")
    (tmp_path / "directory.json").write_text(json.dumps({"users": [], "groups": []}))
    before = job_schema(tmp_path, "--json")
    assert before.returncode == 1 and "no job named" in before.stderr, before.stderr
    assert sync(tmp_path, token).returncode == 1  # the misspelt mapping does not bind
    shown = job_schema(tmp_path, "--json")
    assert shown.returncode == 1, shown.stderr  # ... and the recorded listing says so
    doc = json.loads(shown.stdout)
    assert doc["url"] == extended.scim_url and doc["discovered"]
    names = {row["name"] for row in doc["attributes"]}
    assert {"userName", f"{CUSTOM}:costCenterCode"} <= names
    assert any("costCentreCode" in p for p in doc["mappings"]["problems"])
    text = job_schema(tmp_path)
    assert f"{CUSTOM}:costCenterCode" in text.stdout and "discovered" in text.stdout
    assert token not in shown.stdout + text.stdout


def provision(workdir: Path, token: str, object_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scimhub", "provision", "--config", str(workdir / "job.toml"),
         "--job", "schema-job", "--user", object_id, "--json",
         "--database", f"sqlite:///{workdir}/engine.db"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"SCIMHUB_TARGET_TOKEN": token, "PATH": "/usr/bin:/bin",
             "SCIMHUB_KEY_FILE": str(workdir / "key")})


def test_on_demand_provisioning_binds_to_the_target_schema_too(
        extended: ServerProcess, tmp_path: Path) -> None:
    token = extended.tenants["fabrikam"]["token"]  # type: ignore[attr-defined]
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    users = {"users": [{"objectId": "u5", "userPrincipalName": "grace@fabrikam.example",
                        "department": "CC-7", "accountEnabled": True}], "groups": []}
    for name, attribute in (("good", "costCenterCode"), ("bad", "costCentreCode")):
        job_file(tmp_path / name, extended.scim_url,
                 f'[[mappings.users]]\ntarget = "{CUSTOM}:{attribute}"\nsource = "department"\n')
        (tmp_path / name / "directory.json").write_text(json.dumps(users))
    bad = provision(tmp_path / "bad", token, "u5")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    step = json.loads(bad.stdout)["steps"][-1]
    assert step["step"] == "Target schema" and not step["ok"]
    assert f"has no attribute 'costCentreCode' in extension {CUSTOM}" in step["detail"]
    good = provision(tmp_path / "good", token, "u5")
    assert good.returncode == 0, good.stdout + good.stderr
    with httpx.Client(base_url=extended.scim_url,
                      headers={"Authorization": f"Bearer {token}"}) as scim:
        found = scim.get("/Users", params={"filter": 'userName eq "grace@fabrikam.example"'})
        (user,) = found.json()["Resources"]
        assert user[CUSTOM] == {"costCenterCode": "CC-7"}
