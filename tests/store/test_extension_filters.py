"""Property: on a tenant-defined extension, SQL filters and sorting agree with the in-memory
matcher, on SQLite and PostgreSQL.

``test_filter_consistency.py`` does this for the built-in schemas, whose only
types are strings, booleans and dateTimes. An extension brings integers and
decimals (compared as numbers, not text, by each database's JSON functions),
case-exact strings and multi-valued complex values under a URN container:
random filters over all of them must select the same users in SQL as in
Python, and ``sortBy`` must order numbers numerically.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.extensions import Extension, parse_extension, tenant_schemas
from scimhub.scim.filter_parser import parse_attr_path, parse_filter
from scimhub.scim.matching import resource_matches
from scimhub.scim.render import render
from scimhub.scim.resource import normalize_resource
from scimhub.scim.schema import ResourceType
from scimhub.scim.types import TenantId
from scimhub.store.resources import ResourceStore
from scimhub.store.schemas import SchemaStore
from scimhub.store.tenants import TenantStore

URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
DOCUMENT: dict[str, Any] = {"id": URN, "attributes": [
    {"name": "code", "type": "string"},
    {"name": "exact", "type": "string", "caseExact": True},
    {"name": "badge", "type": "integer"},
    {"name": "rate", "type": "decimal"},
    {"name": "flag", "type": "boolean"},
    {"name": "hired", "type": "dateTime"},
    {"name": "tags", "type": "string", "multiValued": True},
    {"name": "desks", "type": "complex", "multiValued": True, "subAttributes": [
        {"name": "value"}, {"name": "floor", "type": "integer"},
        {"name": "primary", "type": "boolean"}]},
]}
PEOPLE: list[dict[str, Any]] = [
    {"code": "Alpha", "exact": "Falcon", "badge": 30, "rate": 2.5, "flag": True,
     "hired": "2020-01-01T00:00:00Z", "tags": ["red", "Blue"],
     "desks": [{"value": "d1", "floor": 1}, {"value": "d9", "floor": 9, "primary": True}]},
    {"code": "beta", "exact": "falcon", "badge": 4, "rate": 10, "flag": False,
     "hired": "2021-06-01T12:00:00+02:00", "tags": ["green"], "desks": [{"value": "d2"}]},
    {"code": "ALPHABET", "badge": -7, "rate": -0.5, "tags": []},
    {"badge": 100, "rate": 1e-3, "hired": "1999-12-31T23:59:59Z"},
    {"code": "", "exact": "", "flag": False},
    {},
]
PATHS = [f"{URN}:{name}" for name in ("code", "exact", "badge", "rate", "flag", "hired", "tags",
                                      "desks", "desks.value", "desks.floor", "desks.primary")]
VALUES = st.one_of(
    st.sampled_from(["alpha", "Alpha", "ALPHA", "falcon", "Falcon", "a", "", "red", "blue",
                     "d1", "d9", "2020-01-01T00:00:00Z", "2021-06-01T10:00:00Z", "1999", "4",
                     "30"]),
    st.sampled_from([0, 4, 5, 30, 100, -7, -10, 2.5, 10, 10.0, 0.001, 1e-3, -0.5, 9, 1]),
    st.booleans(), st.none())
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 6 if depth < 2 else 2))
    path = draw(st.sampled_from(PATHS))
    if kind == 0:
        return f"{path} {draw(st.sampled_from(OPS))} {json.dumps(draw(VALUES))}"
    if kind == 1:
        return f"{path} pr"
    if kind == 2:
        sub = draw(st.sampled_from(["value", "floor", "primary"]))
        return f"{URN}:desks[{sub} {draw(st.sampled_from(OPS))} {json.dumps(draw(VALUES))}]"
    if kind == 3:
        return f"not ({draw(filters(depth + 1))})"
    joiner = "and" if kind == 4 else "or"
    return f"({draw(filters(depth + 1))}) {joiner} ({draw(filters(depth + 1))})"


@pytest.fixture()
def loaded(tenants: TenantStore, resources: ResourceStore, schemas_store: SchemaStore
           ) -> tuple[TenantId, ResourceType, list[Any]]:
    tenant = tenants.create("people", "admin@people.example", "pw-long-enough")[0].id
    schemas_store.add(tenant, DOCUMENT, "User")
    rtype = schemas_store.tenant_schemas(tenant).user
    stored = [resources.create(tenant, rtype, normalize_resource(
        {"userName": f"u{i}", **({URN: block} if block else {})}, rtype))
        for i, block in enumerate(PEOPLE)]
    return tenant, rtype, [render(s, rtype, "https://x/scim/v2") for s in stored]


@pytest.fixture()
def schemas_store(resources: ResourceStore) -> SchemaStore:
    return SchemaStore(resources.db)


def test_the_stored_extension_is_the_pure_one(
        loaded: tuple[TenantId, ResourceType, list[Any]]) -> None:
    assert loaded[1] == tenant_schemas([Extension(parse_extension(DOCUMENT), "User")]).user


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=filters())
def test_sql_and_memory_select_the_same_users(
    resources: ResourceStore, loaded: tuple[TenantId, ResourceType, list[Any]], text: str
) -> None:
    tenant, rtype, docs = loaded
    node = parse_filter(text)
    try:
        expected = {d["userName"] for d in docs if resource_matches(node, d, rtype)}
    except InvalidFilter:
        with pytest.raises(InvalidFilter):
            resources.search(tenant, rtype, node, None, False, 1, 100)
        return
    page = resources.search(tenant, rtype, node, None, False, 1, 100)
    got = {r.doc["userName"] for r in page.resources}
    assert got == expected, f"{text}: SQL {sorted(got)} != memory {sorted(expected)}"


@pytest.mark.parametrize(("name", "order"), [
    ("badge", ["u2", "u1", "u0", "u3"]),  # -7 < 4 < 30 < 100: numbers, not text
    ("rate", ["u2", "u3", "u0", "u1"]),  # -0.5 < 0.001 < 2.5 < 10
    ("hired", ["u3", "u0", "u1"]),  # instants: 1999, 2020, 2021-06-01T10:00Z
    ("code", ["u0", "u2", "u1"]),  # case-insensitively: alpha < alphabet < beta
])
def test_sort_by_extension_attributes(
    resources: ResourceStore, loaded: tuple[TenantId, ResourceType, list[Any]], name: str,
    order: list[str],
) -> None:
    tenant, rtype, _ = loaded
    path = f"{URN}:{name}"
    page = resources.search(tenant, rtype, parse_filter(f"{path} pr"), parse_attr_path(path),
                            False, 1, 100)
    assert [r.doc["userName"] for r in page.resources] == order
    page = resources.search(tenant, rtype, parse_filter(f"{path} pr"), parse_attr_path(path),
                            True, 1, 100)
    assert [r.doc["userName"] for r in page.resources] == order[::-1]
