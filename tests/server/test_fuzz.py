"""Property: no filter and no PATCH body, however strange, produces a 500."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

NAMES = ["userName", "name.givenName", "emails", "emails.value", "emails.type", "active",
         "meta.created", "members", "members.value", "title", "nosuch", "id", "externalId",
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
         'emails[type eq "work"].value', 'members[value eq "x"]', "phoneNumbers", "groups"]
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                   st.text(max_size=8), st.just("2011-05-13T04:42:34Z"))

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from([*NAMES, "value", "type"]), inner,
                                            max_size=3)),
    max_leaves=6,
)


def _literal(value: object) -> str:
    import json

    return json.dumps(value)


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 3 else 1))
    if kind == 0:
        name, op = draw(st.sampled_from(NAMES)), draw(st.sampled_from(OPS))
        return f"{name} {op} {_literal(draw(VALUES))}"
    if kind == 1:
        return f"{draw(st.sampled_from(NAMES))} pr"
    if kind == 2:
        return f"({draw(filters(depth + 1))}) and {draw(filters(depth + 1))}"
    if kind == 3:
        return f"{draw(filters(depth + 1))} or {draw(filters(depth + 1))}"
    if kind == 4:
        return f"not ({draw(filters(depth + 1))})"
    return f'emails[{draw(filters(depth + 1))}]'


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(text=st.one_of(filters(), st.text(max_size=40)))
def test_random_filters_never_500(client: TestClient, text: str) -> None:
    for endpoint in ("/Users", "/Groups"):
        response = client.get(endpoint, params={"filter": text, "sortBy": "userName"})
        assert response.status_code in (200, 400), (text, response.text)
        assert response.headers["content-type"].startswith("application/scim+json")


@st.composite
def operations(draw: st.DrawFn) -> dict[str, Any]:
    op: dict[str, Any] = {"op": draw(st.sampled_from(["add", "Replace", "remove", "bogus"]))}
    if draw(st.booleans()):
        op["path"] = draw(st.one_of(st.sampled_from(NAMES), st.text(max_size=12)))
    if draw(st.booleans()):
        op["value"] = draw(json_values)
    return op


@SETTINGS
@given(ops=st.lists(operations(), min_size=0, max_size=4), junk=st.booleans())
def test_random_patch_bodies_never_500(client: TestClient, ops: list[Any], junk: bool) -> None:
    created = client.post("/Users", json={"userName": f"fuzz-{id(ops)}-{len(ops)}-{junk}"})
    uid = created.json()["id"] if created.status_code == 201 else "missing"
    body: Any = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                 "Operations": ops}
    if junk:
        body = ops
    response = client.patch(f"/Users/{uid}", json=body)
    assert response.status_code in (200, 204, 400, 404, 409), response.text
    group = client.post("/Groups", json={"displayName": f"fuzz-{id(ops)}-{junk}"})
    if group.status_code == 201:
        response = client.patch(f"/Groups/{group.json()['id']}", json=body)
        assert response.status_code in (200, 204, 400, 409), response.text
        client.delete(f"/Groups/{group.json()['id']}")
    if created.status_code == 201:
        client.delete(f"/Users/{uid}")
