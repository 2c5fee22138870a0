"""``attributes`` and ``excludedAttributes`` (RFC 7644 §3.4.2.5) with ``returned`` (RFC 7643 §7)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimhub.scim.errors import InvalidValue
from scimhub.scim.filter_parser import parse_attr_path
from scimhub.scim.projection import Projection, _project, apply_projection, make_projection
from scimhub.scim.schema import Attribute, Schema
from scimhub.scim.schemas import USER
from scimhub.scim.types import CORE_USER, ENTERPRISE_USER

DOC: dict[str, Any] = {
    "schemas": [CORE_USER, ENTERPRISE_USER], "id": "1", "userName": "a", "password": "secret",
    "name": {"givenName": "G", "familyName": "F"},
    "emails": [{"value": "a@x", "type": "work"}],
    ENTERPRISE_USER: {"department": "D", "costCenter": "C"},
    "meta": {"resourceType": "User"},
}


def project(attributes: str = "", excluded: str = "") -> dict[str, Any]:
    attrs = [parse_attr_path(a) for a in attributes.split(",") if a]
    excl = [parse_attr_path(a) for a in excluded.split(",") if a]
    return apply_projection(DOC, USER, make_projection(USER, attrs, excl))


def test_password_is_never_returned() -> None:
    """RFC 7643 §4.1.1 password: returned "never"."""
    assert "password" not in project()
    assert "password" not in project("password")


def test_attributes_keep_id_and_schemas() -> None:
    """RFC 7644 §3.4.2.5: attributes with returned "always" are always included."""
    assert project("userName") == {"schemas": DOC["schemas"], "id": "1", "userName": "a"}


def test_sub_attribute_and_extension_selection() -> None:
    out = project(f"name.familyName,emails.value,{ENTERPRISE_USER}:department")
    assert out["name"] == {"familyName": "F"}
    assert out["emails"] == [{"value": "a@x"}]
    assert out[ENTERPRISE_USER] == {"department": "D"}


def test_excluded_attributes_remove_only_what_is_named() -> None:
    out = project(excluded=f"emails,name.givenName,{ENTERPRISE_USER}:costCenter,id")
    assert "emails" not in out and out["name"] == {"familyName": "F"}
    assert out[ENTERPRISE_USER] == {"department": "D"}
    assert out["id"] == "1", "id cannot be excluded (returned: always)"


def test_whole_extension_by_urn() -> None:
    assert project(ENTERPRISE_USER)[ENTERPRISE_USER] == DOC[ENTERPRISE_USER]
    assert ENTERPRISE_USER not in project(excluded=ENTERPRISE_USER)


def test_unknown_attribute_is_an_error() -> None:
    with pytest.raises(InvalidValue):
        project("nosuch")


def test_wants_tells_whether_members_or_groups_must_be_read() -> None:
    assert make_projection(USER).wants("groups")
    assert not make_projection(USER, [parse_attr_path("userName")]).wants("groups")
    assert not make_projection(USER, [], [parse_attr_path("groups")]).wants("groups")


# --- the default projection's fast path ----------------------------------------------

_SECRET_EXT = "urn:example:params:scim:schemas:extension:secrets:2.0:User"
_WITH_SECRET = replace(USER, extensions=(*USER.extensions, Schema(
    _SECRET_EXT, "Secrets", "", (Attribute("pin", returned="never"), Attribute("note")))))
_SCALARS = st.one_of(st.none(), st.text(max_size=3), st.booleans())
_BLOCKS = st.dictionaries(st.sampled_from(["pin", "note", "PIN", "department", "manager"]),
                          _SCALARS, max_size=3)
_KEYS = st.sampled_from(["userName", "username", "password", "PASSWORD", "nickName", "groups",
                         "meta", "externalId", "unknownKey"])
_EXTENSIONS = st.sampled_from([ENTERPRISE_USER, _SECRET_EXT, _SECRET_EXT.upper()])


@given(st.dictionaries(_KEYS, _SCALARS, max_size=6),
       st.dictionaries(_EXTENSIONS, _BLOCKS, max_size=3))
def test_default_projection_equals_the_general_path(
        core: dict[str, Any], extensions: dict[str, Any]) -> None:
    """Without ``attributes``/``excludedAttributes`` the document is returned as it is unless
    something must go (a ``returned: never`` attribute, in the core schema or an extension,
    a null, an empty extension object): the answer is the general path's, key for key."""
    doc = {"schemas": [CORE_USER], "id": "1", **core, **extensions}
    expected = _project(doc, _WITH_SECRET, Projection())
    assert apply_projection(doc, _WITH_SECRET, Projection()) == expected


def test_default_projection_drops_never_attributes_of_extensions() -> None:
    doc = {"schemas": [CORE_USER], "id": "1", "userName": "a", _SECRET_EXT: {"pin": "1"}}
    assert apply_projection(doc, _WITH_SECRET, Projection()) == {
        "schemas": [CORE_USER], "id": "1", "userName": "a"}
    doc[_SECRET_EXT] = {"pin": "1", "note": "n"}
    assert apply_projection(doc, _WITH_SECRET, Projection())[_SECRET_EXT] == {"note": "n"}
