"""Property: the SQL filter compiler selects exactly what the in-memory matcher selects.

The two implement RFC 7644 §3.4.2.2 independently (SQL for listing, Python for
PATCH value filters), so agreeing on random filters over varied users is strong
evidence that both are right.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter_parser import parse_filter
from scimhub.scim.matching import resource_matches
from scimhub.scim.render import render
from scimhub.scim.resource import normalize_resource
from scimhub.scim.schemas import USER
from scimhub.scim.types import ENTERPRISE_USER, TenantId
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore

PEOPLE: list[dict[str, Any]] = [
    {"userName": "Alice@Example.com", "active": True, "title": "Engineer", "nickName": "Al",
     "name": {"givenName": "Alice", "familyName": "Smith"},
     "emails": [{"value": "alice@example.com", "type": "work", "primary": True},
                {"value": "al@home.org", "type": "home"}],
     ENTERPRISE_USER: {"department": "R&D", "employeeNumber": "100"}},
    {"userName": "bob", "active": False, "title": "engineer",
     "name": {"givenName": "Bob"}, "emails": [{"value": "BOB@example.com", "type": "work"}],
     ENTERPRISE_USER: {"department": "Sales"}},
    {"userName": "carol", "externalId": "ext-3", "displayName": "Carol Danvers",
     "phoneNumbers": [{"value": "555-0100", "type": "mobile"}]},
    {"userName": "dave_%", "active": True, "title": "",
     "emails": [{"value": "dave@example.org", "type": "other"}]},
    {"userName": "Ève", "externalId": "EXT-3", "nickName": "ève",
     ENTERPRISE_USER: {"manager": {"value": "m1"}}},
]

PATHS = ["userName", "title", "nickName", "active", "externalId", "displayName",
         "name.givenName", "name.familyName", "emails", "emails.value", "emails.type",
         "emails.primary", "phoneNumbers.value", f"{ENTERPRISE_USER}:department",
         f"{ENTERPRISE_USER}:employeeNumber", f"{ENTERPRISE_USER}:manager.value", "id",
         "meta.created"]
STRINGS = ["alice", "Alice@Example.com", "example.com", "EXAMPLE", "bob", "e", "%", "_", "",
           "engineer", "R&D", "sales", "ext-3", "ève", "ÈVE", "555", "work", "m1", "100",
           "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"]
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 6 if depth < 2 else 2))
    path = draw(st.sampled_from(PATHS))
    if kind == 0:
        value = draw(st.one_of(st.sampled_from(STRINGS), st.booleans(), st.none()))
        return f"{path} {draw(st.sampled_from(OPS))} {json.dumps(value)}"
    if kind == 1:
        return f"{path} pr"
    if kind == 2:
        sub = draw(st.sampled_from(["type", "value", "primary"]))
        value = draw(st.one_of(st.sampled_from(STRINGS), st.booleans()))
        return f"emails[{sub} {draw(st.sampled_from(OPS))} {json.dumps(value)}]"
    if kind == 3:
        return f"not ({draw(filters(depth + 1))})"
    joiner = "and" if kind == 4 else "or"
    return f"({draw(filters(depth + 1))}) {joiner} ({draw(filters(depth + 1))})"


@pytest.fixture()
def loaded(tenants: TenantStore, resources: ResourceStore) -> tuple[TenantId, list[Any]]:
    tenant = tenants.create("people", "admin@people.example", "pw-long-enough")[0].id
    stored = [resources.create(tenant, USER, normalize_resource(p, USER)) for p in PEOPLE]
    return tenant, [render(s, USER, "https://x/scim/v2") for s in stored]


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=filters())
def test_sql_and_memory_select_the_same_users(
    resources: ResourceStore, loaded: tuple[TenantId, list[Any]], text: str
) -> None:
    tenant, docs = loaded
    node = parse_filter(text)
    try:
        expected = {d["id"] for d in docs if resource_matches(node, d, USER)}
    except InvalidFilter:
        with pytest.raises(InvalidFilter):
            resources.search(tenant, USER, node, None, False, 1, 100)
        return
    page = resources.search(tenant, USER, node, None, False, 1, 100)
    got = {r.id for r in page.resources}
    assert got == expected, f"{text}: SQL {sorted(got)} != memory {sorted(expected)}"
    assert page.total == len(expected)
