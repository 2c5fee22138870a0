"""Normalising what clients send (RFC 7643 §2, §4; docs/entra.md §1.3) and rendering it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scimhub.scim.errors import InvalidSyntax, InvalidValue
from scimhub.scim.render import Reference, StoredResource, render
from scimhub.scim.resource import normalize_resource
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import ENTERPRISE_USER

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text()))


def test_rfc7643_8_3_enterprise_user_keeps_every_writable_value() -> None:
    """RFC 7643 §8.3: the enterprise user example is a valid resource; id and meta are
    "assigned by the service provider" and are not taken from the client."""
    body = fixture("rfc7643-8.3-enterprise_user.json")
    doc = normalize_resource(body, USER)
    assert "id" not in doc and "meta" not in doc and "schemas" not in doc
    assert doc["userName"] == "bjensen@example.com"
    assert doc["emails"] == body["emails"]
    assert doc[ENTERPRISE_USER]["department"] == "Tour Operations"
    assert doc[ENTERPRISE_USER]["manager"] == {
        "value": "26118915-6090-4610-87e4-49d8ca9f808d",
        "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
    }, "manager.displayName is readOnly (RFC 7643 §4.3) and is dropped"


def test_rfc7643_8_2_full_user_round_trips_through_render() -> None:
    body = fixture("rfc7643-8.2-full_user.json")
    doc = normalize_resource(body, USER)
    stored = StoredResource("abc", 3, "2026-01-01T00:00:00.000000Z",
                            "2026-01-02T00:00:00.000000Z", doc, references=())
    rendered = render(stored, USER, "https://sp.example/scim/v2")
    assert rendered["id"] == "abc"
    assert rendered["meta"] == {
        "resourceType": "User", "created": "2026-01-01T00:00:00.000000Z",
        "lastModified": "2026-01-02T00:00:00.000000Z",
        "location": "https://sp.example/scim/v2/Users/abc", "version": 'W/"3"'}
    for key in ("name", "emails", "addresses", "phoneNumbers", "ims", "photos", "x509Certificates"):
        assert rendered[key] == body[key], key
    assert "groups" not in rendered, "the user's groups come from memberships, not the body"


def test_entra_create_body_is_accepted_as_sent() -> None:
    """docs/entra.md §1.3: string booleans, meta, roles: [] and nulls are all tolerated."""
    doc = normalize_resource({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
        "externalId": "0a21f0f2", "userName": "Test_User", "active": "True",
        "emails": [{"primary": True, "type": "work", "value": "t@x.com"}],
        "meta": {"resourceType": "User"}, "roles": [], "title": None, "addresses": None,
    }, USER)
    assert doc == {"externalId": "0a21f0f2", "userName": "Test_User", "active": True,
                   "emails": [{"primary": True, "type": "work", "value": "t@x.com"}]}


def test_attribute_names_are_case_insensitive() -> None:
    """RFC 7643 §2.1: "Attribute names are case insensitive"."""
    doc = normalize_resource({"USERNAME": "a", "Name": {"GIVENNAME": "b"}}, USER)
    assert doc == {"userName": "a", "name": {"givenName": "b"}}


@pytest.mark.parametrize(("body", "error"), [
    ([], InvalidSyntax),
    ({"userName": 5}, InvalidValue),
    ({"userName": "a", "active": "perhaps"}, InvalidValue),
    ({"userName": "a", "emails": [{"value": "a", "primary": True},
                                  {"value": "b", "primary": True}]}, InvalidValue),
    ({"userName": "a", "nosuch": 1}, InvalidValue),
    ({"userName": "a", "name": "not complex"}, InvalidValue),
    ({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "a"}, InvalidValue),
    ({"displayName": "no userName"}, InvalidValue),
])
def test_bad_user_bodies_are_rejected(body: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        normalize_resource(body, USER)


def test_group_render_lists_members_with_refs() -> None:
    stored = StoredResource("g1", 1, "c", "m", {"displayName": "Tour Guides"},
                            references=(Reference("u1", "User", "Babs"),))
    rendered = render(stored, GROUP, "https://sp.example/scim/v2")
    assert rendered["members"] == [{"value": "u1", "$ref": "https://sp.example/scim/v2/Users/u1",
                                    "display": "Babs", "type": "User"}]
