"""PATCH: RFC 7644 §3.5.2 examples, every Entra shape of docs/entra.md §1.4-1.6, and fuzzing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimhub.scim.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from scimhub.scim.patch import (
    NO_VALUE,
    AddMembers,
    Member,
    PatchOperation,
    RemoveAllMembers,
    RemoveMembers,
    RemoveMembersWhere,
    ReplaceMembers,
    apply_patch,
    parse_patch_request,
    split_member_operations,
)
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP, GROUP_SCHEMA, USER, USER_SCHEMA
from scimhub.scim.types import CORE_GROUP, CORE_USER, ENTERPRISE_USER, PATCH_OP

BJENSEN = "2819c223-7f76-453a-919d-413861904646"
MANDY = "902c246b-6245-4190-8e05-00816be7344a"

USER_DOC: dict[str, Any] = {
    "schemas": [CORE_USER, ENTERPRISE_USER],
    "id": BJENSEN,
    "externalId": "bjensen",
    "meta": {"resourceType": "User", "version": 'W/"3"'},
    "userName": "bjensen@example.com",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "displayName": "Babs Jensen",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "addresses": [
        {"type": "work", "streetAddress": "100 Universal City Plaza", "primary": True},
        {"type": "home", "streetAddress": "456 Hollywood Blvd"},
    ],
    ENTERPRISE_USER: {
        "employeeNumber": "701984",
        "manager": {"value": "m1", "$ref": "../Users/m1", "displayName": "John Smith"},
    },
}

GROUP_DOC: dict[str, Any] = {
    "schemas": [CORE_GROUP],
    "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
    "displayName": "Tour Guides",
    "members": [{"value": BJENSEN}, {"value": MANDY}],
}


def body(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def patch(doc: dict[str, Any], *ops: dict[str, Any], rtype: ResourceType = USER) -> dict[str, Any]:
    """Parse and apply, checking on the way that the input is never mutated."""
    before = copy.deepcopy(doc)
    result = apply_patch(doc, parse_patch_request(body(*ops)), rtype)
    assert doc == before
    return result


def members_of(*ops: dict[str, Any]) -> tuple[list[PatchOperation], list[Any]]:
    return split_member_operations(parse_patch_request(body(*ops)), GROUP)


def ext(doc: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = doc.get(ENTERPRISE_USER, {})
    return block


# ---------------------------------------------------------------------------
# Parsing the PatchOp message (RFC 7644 §3.5.2)


def test_parse_returns_lowercased_ops_and_parsed_paths() -> None:
    ops = parse_patch_request(
        body({"op": "Replace", "path": "active", "value": "False"}, {"op": "ADD", "value": {}})
    )
    assert [o.op for o in ops] == ["replace", "add"]
    assert ops[0].path is not None and ops[0].path.attr.attr == "active"
    assert ops[1].path is None


def test_parse_accepts_operations_before_schemas_and_any_key_case() -> None:
    """docs/entra.md §1.5: D-SCIM "Disable User" lists Operations before schemas."""
    raw = {
        "Operations": [{"OP": "Replace", "Path": "active", "Value": False}],
        "SCHEMAS": [PATCH_OP.upper()],
    }
    (op,) = parse_patch_request(raw)
    assert op.op == "replace" and op.value is False
    (op,) = parse_patch_request(
        {"schemas": [PATCH_OP], "operations": [{"op": "remove", "path": "x"}]}
    )
    assert op.value is NO_VALUE


@pytest.mark.parametrize(
    "raw",
    [
        [],
        "x",
        {"Operations": [{"op": "add", "value": {}}]},
        {"schemas": [CORE_USER], "Operations": [{"op": "add", "value": {}}]},
        {"schemas": PATCH_OP, "Operations": [{"op": "add", "value": {}}]},
        {"schemas": [PATCH_OP]},
        {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": {"op": "add"}},
        {"schemas": [PATCH_OP], "Operations": ["add"]},
        {"schemas": [PATCH_OP], "Operations": [{"path": "x", "value": 1}]},
        {"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "x", "value": 1}]},
        {"schemas": [PATCH_OP], "Operations": [{"op": 1, "path": "x", "value": 1}]},
    ],
)
def test_parse_rejects_malformed_messages_with_invalid_syntax(raw: object) -> None:
    with pytest.raises(InvalidSyntax):
        parse_patch_request(raw)


def test_parse_limits_the_number_of_operations() -> None:
    ops = [{"op": "add", "path": "nickName", "value": "x"}] * 3
    assert len(parse_patch_request(body(*ops), max_operations=3)) == 3
    with pytest.raises(InvalidSyntax, match="at most 2"):
        parse_patch_request(body(*ops), max_operations=2)


def test_parse_add_and_replace_require_a_value() -> None:
    """RFC 7644 §3.5.2.1: 'The operation MUST contain a "value" member'."""
    for op in ("add", "Replace"):
        with pytest.raises(InvalidValue):
            parse_patch_request(body({"op": op, "path": "nickName"}))


def test_parse_remove_without_path_is_no_target() -> None:
    """RFC 7644 §3.5.2.2: 'If "path" is unspecified, the operation fails with HTTP status
    code 400 and a "scimType" error code of "noTarget".'"""
    with pytest.raises(NoTarget) as info:
        parse_patch_request(body({"op": "remove"}))
    assert info.value.to_document()["scimType"] == "noTarget"


def test_parse_rejects_a_path_that_is_not_a_string() -> None:
    with pytest.raises(InvalidPath):
        parse_patch_request(body({"op": "add", "path": 5, "value": "x"}))


def test_parse_rejects_a_malformed_path() -> None:
    with pytest.raises(InvalidPath):
        parse_patch_request(body({"op": "add", "path": 'emails[type eq "work"', "value": "x"}))


# ---------------------------------------------------------------------------
# RFC 7644 §3.5.2.1 add


def test_rfc7644_3_5_2_1_add_member() -> None:
    """RFC 7644 §3.5.2.1: 'The following example shows how to add a member to a group.'"""
    op = {
        "op": "add",
        "path": "members",
        "value": [
            {
                "display": "Babs Jensen",
                "$ref": f"https://example.com/v2/Users/{BJENSEN}",
                "value": BJENSEN,
            }
        ],
    }
    rest, changes = members_of(op)
    assert rest == []
    assert changes == [AddMembers((Member(BJENSEN),))]
    # Applied to a document, the member already present is not duplicated.
    result = patch(GROUP_DOC, op, rtype=GROUP)
    assert [m["value"] for m in result["members"]] == [BJENSEN, MANDY]


def test_rfc7644_3_5_2_1_add_emails_and_nickname_pathless() -> None:
    """RFC 7644 §3.5.2.1: path-less add of "emails" and "nickname" (note the RFC's own
    lower-case "nickname": attribute names are case-insensitive, RFC 7643 §2.1)."""
    result = patch(
        USER_DOC,
        {
            "op": "add",
            "value": {
                "emails": [{"value": "babs@jensen.org", "type": "home"}],
                "nickname": "Babs",
            },
        },
    )
    assert result["nickName"] == "Babs"
    assert "nickname" not in result
    assert result["emails"] == USER_DOC["emails"]  # "already contains the value": no change


def test_rfc7644_3_5_2_1_add_appends_a_new_value_to_a_multi_valued_attribute() -> None:
    """RFC 7644 §3.5.2.1: 'If the target location specifies a multi-valued attribute, a new
    value is added to the attribute.'"""
    result = patch(USER_DOC, {"op": "add", "path": "emails", "value": {"value": "b@x.org"}})
    assert result["emails"][-1] == {"value": "b@x.org"}
    assert len(result["emails"]) == 3


def test_rfc7644_3_5_2_1_add_replaces_a_single_valued_attribute() -> None:
    """RFC 7644 §3.5.2.1: 'If the target location specifies a single-valued attribute, the
    existing value is replaced.'"""
    result = patch(USER_DOC, {"op": "add", "path": "displayName", "value": "Barbara"})
    assert result["displayName"] == "Barbara"


def test_rfc7644_3_5_2_1_add_complex_merges_sub_attributes() -> None:
    """RFC 7644 §3.5.2.1: 'If the target location specifies a complex attribute, a set of
    sub-attributes SHALL be specified in the "value" parameter.'"""
    result = patch(USER_DOC, {"op": "add", "path": "name", "value": {"middleName": "Jane"}})
    assert result["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}


def test_add_sub_attribute_creates_the_parent() -> None:
    doc = {k: v for k, v in USER_DOC.items() if k != "name"}
    result = patch(doc, {"op": "add", "path": "name.givenName", "value": "Barbara"})
    assert result["name"] == {"givenName": "Barbara"}


def test_add_primary_value_demotes_the_previous_primary() -> None:
    """RFC 7644 §3.5.2: 'a PATCH operation that sets a value's "primary" sub-attribute to
    "true" SHALL cause the server to automatically set "primary" to "false" for any other
    values in the array.'"""
    result = patch(
        USER_DOC,
        {"op": "add", "path": "emails", "value": [{"value": "n@x.org", "primary": "True"}]},
    )
    assert [e.get("primary") for e in result["emails"]] == [False, None, True]


def test_two_primary_values_are_invalid() -> None:
    """RFC 7643 §2.4: 'The primary attribute value "true" MUST appear no more than once.'"""
    with pytest.raises(InvalidValue, match="primary"):
        patch(
            USER_DOC,
            {
                "op": "replace",
                "path": "emails",
                "value": [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": True}],
            },
        )


# ---------------------------------------------------------------------------
# RFC 7644 §3.5.2.2 remove


def test_rfc7644_3_5_2_2_remove_single_member() -> None:
    """RFC 7644 §3.5.2.2: 'The following example shows how to remove a single member from a
    group.' path: members[value eq "2819c223-7f76-...413861904646"]"""
    op = {"op": "remove", "path": f'members[value eq "{BJENSEN}"]'}
    assert members_of(op) == ([], [RemoveMembers((BJENSEN,))])
    assert patch(GROUP_DOC, op, rtype=GROUP)["members"] == [{"value": MANDY}]


def test_rfc7644_3_5_2_2_remove_all_members() -> None:
    """RFC 7644 §3.5.2.2: 'The following example shows how to remove all members of a group.'"""
    op = {"op": "remove", "path": "members"}
    assert members_of(op) == ([], [RemoveAllMembers()])
    assert "members" not in patch(GROUP_DOC, op, rtype=GROUP)


def test_rfc7644_3_5_2_2_remove_by_value_filter() -> None:
    """RFC 7644 §3.5.2.2: 'If the target location is a multi-valued attribute and a complex
    filter is specified comparing a "value", the values matched by the filter are removed.'
    (The RFC's example: emails[type eq "work" and value ew "example.com"].)"""
    result = patch(
        USER_DOC, {"op": "remove", "path": 'emails[type eq "work" and value ew "example.com"]'}
    )
    assert result["emails"] == [{"value": "babs@jensen.org", "type": "home"}]


def test_rfc7644_3_5_2_2_remove_all_then_add_members() -> None:
    """RFC 7644 §3.5.2.2: 'The following example shows how to replace all of the members of a
    group with a different members list' (remove then add, in order)."""
    rest, changes = members_of(
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
    )
    assert changes == [RemoveAllMembers(), AddMembers((Member("a"), Member("b")))]
    assert rest == []


def test_remove_last_value_unassigns_the_attribute() -> None:
    """RFC 7644 §3.5.2.2: 'If after removal of the selected values, no other values remain,
    the multi-valued attribute SHALL be considered unassigned.'"""
    result = patch(USER_DOC, {"op": "remove", "path": "emails[value pr]"})
    assert "emails" not in result


def test_remove_single_valued_and_sub_attribute() -> None:
    """RFC 7644 §3.5.2.2: 'If the target location is a single-value attribute, the attribute
    and its associated value is removed'."""
    result = patch(
        USER_DOC,
        {"op": "remove", "path": "displayName"},
        {"op": "remove", "path": "name.givenName"},
        {"op": "remove", "path": 'addresses[type eq "work"].streetAddress'},
    )
    assert "displayName" not in result
    assert result["name"] == {"familyName": "Jensen"}
    assert result["addresses"][0] == {"type": "work", "primary": True}


def test_remove_value_sub_attribute_removes_the_element() -> None:
    result = patch(USER_DOC, {"op": "remove", "path": 'emails[type eq "work"].value'})
    assert result["emails"] == [{"value": "babs@jensen.org", "type": "home"}]


def test_remove_with_filter_matching_nothing_changes_nothing() -> None:
    """Decision: remove of values that are not there succeeds; the requested state holds."""
    result = patch(USER_DOC, {"op": "remove", "path": 'emails[type eq "other"]'})
    assert result == USER_DOC


def test_remove_required_attribute_is_mutability() -> None:
    """RFC 7644 §3.5.2.2: 'If an attribute is removed or becomes unassigned and is defined as
    a required attribute or a read-only attribute, the server SHALL return ... a "scimType"
    error code of "mutability".'"""
    with pytest.raises(Mutability):
        patch(USER_DOC, {"op": "remove", "path": "userName"})
    with pytest.raises(Mutability):
        patch(USER_DOC, {"op": "replace", "path": "userName", "value": ""})
    with pytest.raises(Mutability):
        patch(GROUP_DOC, {"op": "Remove", "path": "displayName"}, rtype=GROUP)


# ---------------------------------------------------------------------------
# RFC 7644 §3.5.2.3 replace


def test_rfc7644_3_5_2_3_replace_members() -> None:
    """RFC 7644 §3.5.2.3: 'The following example shows how to replace all of the members of a
    group with a different members list.'"""
    op = {
        "op": "replace",
        "path": "members",
        "value": [
            {
                "display": "Babs Jensen",
                "$ref": f"https://example.com/v2/Users/{BJENSEN}",
                "value": BJENSEN,
            },
            {
                "display": "James Smith",
                "$ref": "https://example.com/v2/Users/08e1d05d",
                "value": "08e1d05d-121c-4561-8b96-473d93df9210",
            },
        ],
    }
    assert members_of(op)[1] == [
        ReplaceMembers((Member(BJENSEN), Member("08e1d05d-121c-4561-8b96-473d93df9210")))
    ]
    result = patch(GROUP_DOC, op, rtype=GROUP)
    assert [m["value"] for m in result["members"]] == [
        BJENSEN,
        "08e1d05d-121c-4561-8b96-473d93df9210",
    ]
    assert "display" not in result["members"][0]  # readOnly: the server derives it


def test_rfc7644_3_5_2_3_replace_pathless_emails_and_nickname() -> None:
    """RFC 7644 §3.5.2.3: 'The following example shows how to replace all values of one or
    more specific attributes of a User resource' (path-less "emails" and "nickname");
    'If the target location is a multi-valued attribute and no filter is specified, the
    attribute and all values are replaced.'"""
    result = patch(
        USER_DOC,
        {
            "op": "replace",
            "value": {
                "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
                "nickname": "Babs",
            },
        },
    )
    assert result["emails"] == [{"value": "bjensen@example.com", "type": "work", "primary": True}]
    assert result["nickName"] == "Babs"


def test_rfc7644_3_5_2_3_replace_work_address() -> None:
    """RFC 7644 §3.5.2.3: 'all matching record values SHALL be replaced' —
    path addresses[type eq "work"]."""
    new = {
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": True,
    }
    result = patch(USER_DOC, {"op": "replace", "path": 'addresses[type eq "work"]', "value": new})
    assert result["addresses"] == [new, USER_DOC["addresses"][1]]


def test_rfc7644_3_5_2_3_replace_sub_attribute_of_multi_valued_element() -> None:
    """RFC 7644 §3.5.2.3: 'the matching sub-attribute of all matching records is replaced'
    — path addresses[type eq "work"].streetAddress."""
    result = patch(
        USER_DOC,
        {
            "op": "replace",
            "path": 'addresses[type eq "work"].streetAddress',
            "value": "1010 Broadway Ave",
        },
    )
    assert result["addresses"][0] == {
        "type": "work",
        "streetAddress": "1010 Broadway Ave",
        "primary": True,
    }


def test_rfc7644_3_5_2_3_replace_complex_leaves_unspecified_sub_attributes() -> None:
    """RFC 7644 §3.5.2.3: 'Sub-attributes that are not specified in the "value" parameter
    are left unchanged.'"""
    result = patch(USER_DOC, {"op": "replace", "path": "name", "value": {"givenName": "Babs"}})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_rfc7644_3_5_2_3_replace_whole_element_without_match_is_no_target() -> None:
    """RFC 7644 §3.5.2.3: 'no record match was made, the service provider SHALL indicate
    failure by returning HTTP status code 400 and a "scimType" error code of "noTarget".'"""
    with pytest.raises(NoTarget):
        patch(
            USER_DOC,
            {"op": "replace", "path": 'addresses[type eq "other"]', "value": {"type": "other"}},
        )


def test_replace_missing_attribute_is_an_add() -> None:
    """RFC 7644 §3.5.2.3: 'If the target location path specifies an attribute that does not
    exist, the service provider SHALL treat the operation as an "add".'"""
    result = patch(USER_DOC, {"op": "replace", "path": "title", "value": "Tour Guide"})
    assert result["title"] == "Tour Guide"


# ---------------------------------------------------------------------------
# Entra ID (docs/entra.md §1.4 - §1.6)


@pytest.mark.parametrize("value", ["False", "false", "FALSE", False])
def test_entra_disable_user_with_string_or_boolean(value: object) -> None:
    """docs/entra.md §1.4.1: disable user `{"op":"Replace","path":"active","value":"False"}`
    (string) without the flag, `{"op":"replace","path":"active","value":false}` with it."""
    result = patch(USER_DOC, {"op": "Replace", "path": "active", "value": value})
    assert result["active"] is False


def test_entra_reenable_user_with_string_true() -> None:
    """docs/entra.md §1.5: 'Re-enable = active true/"True"'."""
    result = patch(
        {**USER_DOC, "active": False}, {"op": "Replace", "path": "active", "value": "True"}
    )
    assert result["active"] is True


def test_entra_string_booleans_in_pathless_and_sub_attribute_values() -> None:
    """docs/entra.md §4 item 7: 'active as string "False"/"True" as well as boolean, stored and
    returned as a JSON boolean'."""
    result = patch(
        USER_DOC,
        {"op": "replace", "value": {"active": "False"}},
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"},
    )
    assert result["active"] is False
    assert [e["primary"] for e in result["emails"]] == [False, True]


@pytest.mark.parametrize("op", ["Add", "add"])
def test_entra_add_single_valued_string(op: str) -> None:
    """docs/entra.md §1.4.1: `{"op":"Add","path":"nickName","value":"Babs"}`."""
    assert patch(USER_DOC, {"op": op, "path": "nickName", "value": "Babs"})["nickName"] == "Babs"


def test_entra_replace_several_attributes_one_op_each() -> None:
    """docs/entra.md §1.4.1: 'one op per attribute, all "op":"Replace" with paths displayName,
    emails[type eq "work"].value, name.givenName, name.familyName, externalId,
    urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber'."""
    result = patch(
        USER_DOC,
        {"op": "Replace", "path": "displayName", "value": "Bjfe"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "w@x.org"},
        {"op": "Replace", "path": "name.givenName", "value": "Kkom"},
        {"op": "Replace", "path": "name.familyName", "value": "Unua"},
        {"op": "Replace", "path": "externalId", "value": "ext-2"},
        {"op": "Replace", "path": f"{ENTERPRISE_USER}:employeeNumber", "value": "Aklq"},
    )
    assert result["displayName"] == "Bjfe"
    assert result["emails"][0] == {"value": "w@x.org", "type": "work", "primary": True}
    assert result["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert result["externalId"] == "ext-2"
    assert ext(result)["employeeNumber"] == "Aklq"


def test_entra_flag_pathless_replace_with_dotted_and_urn_keys() -> None:
    """docs/entra.md §1.4.1 (aadOptscim062020): `{"op":"replace","value":{"displayName":"Bjfe",
    "name.givenName":"Kkom","name.familyName":"Unua","urn:ietf:params:scim:schemas:extension:
    enterprise:2.0:User:employeeNumber":"Aklq"}}` — 'note dotted / URN-qualified keys inside
    the value object'."""
    result = patch(
        USER_DOC,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x.org"},
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE_USER}:employeeNumber": "Aklq",
            },
        },
    )
    assert result["displayName"] == "Bjfe"
    assert result["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert ext(result)["employeeNumber"] == "Aklq"
    assert result["emails"][0]["value"] == "w@x.org"


def test_entra_pathless_value_with_extension_object() -> None:
    """docs/entra.md §1.4.5: extension attributes under the URN key."""
    result = patch(
        USER_DOC,
        {"op": "add", "value": {ENTERPRISE_USER: {"department": "Tours", "costCenter": "4130"}}},
    )
    assert ext(result)["department"] == "Tours"
    assert ext(result)["costCenter"] == "4130"
    assert ext(result)["employeeNumber"] == "701984"


@pytest.mark.parametrize("op", ["Add", "Replace"])
def test_entra_value_filter_creates_the_missing_typed_element(op: str) -> None:
    """docs/entra.md §1.4.2: 'When the typed element does not yet exist (e.g. a user gets a mobile
    number later) Entra sends a PATCH with the filtered path for a type that is absent ...
    for Entra the server should create the element ... accept Add and Replace.'"""
    result = patch(
        USER_DOC,
        {"op": op, "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0100"},
    )
    assert result["phoneNumbers"] == [{"type": "mobile", "value": "+1 555 0100"}]


def test_entra_value_filter_with_and_of_eq_creates_the_element() -> None:
    result = patch(
        USER_DOC,
        {
            "op": "Add",
            "path": 'addresses[type eq "other" and country eq "US"].locality',
            "value": "Boston",
        },
    )
    assert result["addresses"][-1] == {"type": "other", "country": "US", "locality": "Boston"}


def test_value_filter_not_made_of_eq_cannot_create() -> None:
    """RFC 7644 §3.5.2.3: noTarget when no record matches and we cannot build one."""
    with pytest.raises(NoTarget):
        patch(USER_DOC, {"op": "add", "path": 'phoneNumbers[type ne "x"].value', "value": "1"})
    with pytest.raises(NoTarget):
        patch(
            USER_DOC,
            {"op": "add", "path": 'phoneNumbers[type eq "a" or type eq "b"].value', "value": "1"},
        )


def test_entra_replace_work_email_and_family_name_in_one_request() -> None:
    """docs/entra.md §1.4.2: `{"op":"Replace","path":"emails[type eq \\"work\\"].value","value":
    "updatedEmail@microsoft.com"}` together with `{"op":"Replace","path":"name.familyName",
    "value":"updatedFamilyName"}` in one request."""
    result = patch(
        USER_DOC,
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "updatedEmail@microsoft.com",
        },
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )
    assert result["emails"][0]["value"] == "updatedEmail@microsoft.com"
    assert result["name"]["familyName"] == "updatedFamilyName"


def test_entra_replace_user_name_with_path_and_pathless() -> None:
    """docs/entra.md §1.4.3: `{"op":"Replace","path":"userName","value":"…"}`; the validator's
    path-less `{"op":"replace","value":{"userName":"…"}}`."""
    assert (
        patch(USER_DOC, {"op": "Replace", "path": "userName", "value": "a@b"})["userName"] == "a@b"
    )
    assert patch(USER_DOC, {"op": "replace", "value": {"userName": "c@d"}})["userName"] == "c@d"


@pytest.mark.parametrize(
    "op",
    [
        {"op": "add", "path": f"{ENTERPRISE_USER}:manager", "value": "m2"},
        {"op": "replace", "path": f"{ENTERPRISE_USER}:manager", "value": {"value": "m2"}},
        {
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": "http://x/scim/Users/m2", "value": "m2"}],
        },
        {"op": "Replace", "path": "manager", "value": "m2"},
        {"op": "replace", "value": {f"{ENTERPRISE_USER}:manager": "m2"}},
        {"op": "replace", "value": {ENTERPRISE_USER: {"manager": {"value": "m2"}}}},
    ],
)
def test_entra_set_manager_shapes(op: dict[str, Any]) -> None:
    """docs/entra.md §1.4.6: bare string (`{"op":"add","path":"urn:…:User:manager","value":
    "<manager-id>"}`), `value: {"value":"X"}`, and the legacy `{"op":"Add","path":"manager",
    "value":[{"$ref":"http://.../scim/Users/<id>","value":"<id>"}]}`."""
    manager = ext(patch(USER_DOC, op))["manager"]
    assert manager["value"] == "m2"
    assert "displayName" not in manager  # described the previous manager
    assert manager.get("$ref") in (None, "http://x/scim/Users/m2")


@pytest.mark.parametrize(
    "op",
    [
        {"op": "remove", "path": f"{ENTERPRISE_USER}:manager"},
        {"op": "Replace", "path": f"{ENTERPRISE_USER}:manager", "value": ""},
        {"op": "replace", "path": "manager", "value": None},
        {"op": "replace", "path": "manager", "value": {"value": ""}},
        {"op": "replace", "value": {f"{ENTERPRISE_USER}:manager": ""}},
    ],
)
def test_entra_remove_manager_shapes(op: dict[str, Any]) -> None:
    """docs/entra.md §1.4.6: 'removal as {"op":"remove","path":"urn:…:manager"} or as replace
    with ""'; R-LA SCIM_Update_Manager_Test 'remove (Replace with empty)'."""
    result = patch(USER_DOC, op)
    assert "manager" not in ext(result)
    assert ext(result)["employeeNumber"] == "701984"


def test_entra_removing_last_extension_attribute_drops_extension_and_schema() -> None:
    result = patch(
        USER_DOC,
        {"op": "remove", "path": "manager"},
        {"op": "remove", "path": "employeeNumber"},
    )
    assert ENTERPRISE_USER not in result
    assert result["schemas"] == [CORE_USER]
    added = patch(result, {"op": "add", "path": "employeeNumber", "value": "1"})
    assert added["schemas"] == [CORE_USER, ENTERPRISE_USER]


def test_entra_roles_add_json_string_value_and_replace() -> None:
    """docs/entra.md §1.4.7: `{"op":"Add","path":"roles","value":[{"value":"{\\"id\\":\\"…\\",
    \\"value\\":\\"25\\",\\"displayName\\":\\"Role1234\\"}"}]}` and replace with objects."""
    encoded = '{"id":"r1","value":"25","displayName":"Role1234"}'
    result = patch(USER_DOC, {"op": "Add", "path": "roles", "value": [{"value": encoded}]})
    assert result["roles"] == [{"value": encoded}]
    result = patch(
        result,
        {
            "op": "replace",
            "path": "roles",
            "value": [
                {"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}
            ],
        },
    )
    assert result["roles"] == [
        {"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}
    ]


def test_entra_null_update_empty_strings_unassign() -> None:
    """docs/entra.md §3.2 SCIM_Null_Update_Test: 'PATCH empty strings → null/empty; PATCH nulls →
    remain empty'."""
    result = patch(
        USER_DOC,
        {"op": "replace", "value": {"displayName": "", "name.givenName": "", "title": None}},
        {"op": "Replace", "path": 'emails[type eq "home"].value', "value": ""},
        {"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": ""},
    )
    assert "displayName" not in result and "title" not in result
    assert result["name"] == {"familyName": "Jensen"}
    assert [e["type"] for e in result["emails"]] == ["work"]
    assert "phoneNumbers" not in result


def test_entra_group_rename() -> None:
    """docs/entra.md §1.6: rename
    `{"op":"Replace","path":"displayName","value":"…updatedDisplayName"}`."""
    op = {"op": "Replace", "path": "displayName", "value": "Guides 2"}
    rest, changes = members_of(op)
    assert changes == [] and len(rest) == 1
    assert patch(GROUP_DOC, op, rtype=GROUP)["displayName"] == "Guides 2"


def test_entra_group_add_members() -> None:
    """docs/entra.md §1.6: add members `{"op":"Add","path":"members","value":[{"$ref":null,
    "value":"f648f8d5ea4e4cd38e9c"}]}`; §4 item 11: several members in one PATCH."""
    _, changes = members_of(
        {
            "op": "Add",
            "path": "members",
            "value": [
                {"$ref": None, "value": "f648f8d5ea4e4cd38e9c"},
                {"value": "u2", "type": "user"},
            ],
        }
    )
    assert changes == [AddMembers((Member("f648f8d5ea4e4cd38e9c"), Member("u2", "User")))]


def test_entra_group_remove_members_with_value_array() -> None:
    """docs/entra.md §1.4.1: 'treat Remove + path:"members" + value array as "remove these
    members" (not "remove all members")' — `{"op":"Remove","path":"members","value":
    [{"value":"u1091"}]}` and D-SCIM's `[{"$ref":null,"value":"f648…"}]`."""
    op = {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": BJENSEN}]}
    assert members_of(op) == ([], [RemoveMembers((BJENSEN,))])
    assert patch(GROUP_DOC, op, rtype=GROUP)["members"] == [{"value": MANDY}]
    op = {"op": "Remove", "path": "members", "value": [{"value": "u1091"}, {"value": "u1092"}]}
    assert members_of(op)[1] == [RemoveMembers(("u1091", "u1092"))]


def test_entra_flag_group_remove_member_by_filter() -> None:
    """docs/entra.md §1.4.1, flag shape:
    `{"op":"remove","path":"members[value eq \\"7f4bc1a3-…\\"]"}`."""
    op = {"op": "remove", "path": 'members[value eq "7f4bc1a3"]'}
    assert members_of(op)[1] == [RemoveMembers(("7f4bc1a3",))]
    op = {"op": "remove", "path": 'members[value eq "a" or value eq "b" or value eq "c"]'}
    assert members_of(op)[1] == [RemoveMembers(("a", "b", "c"))]


def test_rpostman_add_member_with_display_name() -> None:
    """docs/entra.md §3.3: member add `{"op":"add","path":"members","value":[{"displayName":…,
    "value":id}]}` — unknown keys in a member are ignored."""
    _, changes = members_of(
        {"op": "add", "path": "members", "value": [{"displayName": "Babs", "value": BJENSEN}]}
    )
    assert changes == [AddMembers((Member(BJENSEN),))]


def test_adding_an_existing_member_does_not_duplicate_it() -> None:
    """docs/entra.md §4 item 11: 'Add with a value array (several members in one PATCH,
    idempotent)'; members are compared by value."""
    result = patch(
        GROUP_DOC,
        {"op": "add", "path": "members", "value": [{"value": BJENSEN, "type": "User"}]},
        rtype=GROUP,
    )
    assert result["members"] == GROUP_DOC["members"]
    _, changes = members_of(
        {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "a"}]}
    )
    assert changes == [AddMembers((Member("a"),))]


# ---------------------------------------------------------------------------
# Member operations


def test_split_keeps_order_and_splits_pathless_members_key() -> None:
    rest, changes = members_of(
        {"op": "replace", "value": {"displayName": "New", "members": [{"value": "a"}]}},
        {"op": "remove", "path": 'members[value eq "a"]'},
        {"op": "add", "value": {"Members": [{"value": "b"}]}},
        {"op": "replace", "path": "externalId", "value": "x"},
    )
    assert changes == [
        ReplaceMembers((Member("a"),)),
        RemoveMembers(("a",)),
        AddMembers((Member("b"),)),
    ]
    assert [(o.op, o.value) for o in rest] == [
        ("replace", {"displayName": "New"}),
        ("replace", "x"),
    ]
    assert apply_patch(GROUP_DOC, rest, GROUP)["displayName"] == "New"


def test_split_other_filters_are_left_to_the_store() -> None:
    op = {"op": "remove", "path": 'members[type eq "Group"]'}
    (change,) = members_of(op)[1]
    assert isinstance(change, RemoveMembersWhere)
    (change,) = members_of({"op": "remove", "path": 'members[value eq "a" and type eq "User"]'})[1]
    assert isinstance(change, RemoveMembersWhere)


def test_split_urn_qualified_members_path() -> None:
    _, changes = members_of({"op": "add", "path": f"{CORE_GROUP}:members", "value": {"value": "a"}})
    assert changes == [AddMembers((Member("a"),))]


def test_split_is_a_no_op_for_users() -> None:
    ops = parse_patch_request(body({"op": "add", "path": "nickName", "value": "x"}))
    assert split_member_operations(ops, USER) == (ops, [])


@pytest.mark.parametrize(
    "op",
    [
        {"op": "replace", "path": 'members[value eq "a"].display', "value": "x"},
        {"op": "replace", "path": 'members[value eq "a"].value', "value": "b"},
        {"op": "remove", "path": "members.value"},
        {"op": "replace", "path": 'members[value eq "a"]', "value": {"value": "b"}},
    ],
)
def test_split_member_sub_attributes_are_immutable(op: dict[str, Any]) -> None:
    """RFC 7644 §3.5.2: 'a client MUST NOT modify an attribute that has mutability
    "readOnly" or "immutable"' (members.value/type/$ref immutable, display readOnly)."""
    with pytest.raises(Mutability):
        members_of(op)


@pytest.mark.parametrize(
    "value",
    [[{"value": ""}], [{"value": 5}], ["u1"], [{"display": "x"}], [{"value": "a", "type": 1}]],
)
def test_split_invalid_member_values(value: object) -> None:
    with pytest.raises(InvalidValue):
        members_of({"op": "add", "path": "members", "value": value})


def test_members_value_is_immutable_in_apply_patch_too() -> None:
    with pytest.raises(Mutability):
        patch(
            GROUP_DOC,
            {"op": "replace", "path": f'members[value eq "{BJENSEN}"].value', "value": "x"},
            rtype=GROUP,
        )
    with pytest.raises(Mutability):
        patch(
            GROUP_DOC,
            {"op": "replace", "path": "members[value pr].display", "value": "x"},
            rtype=GROUP,
        )


# ---------------------------------------------------------------------------
# Names, mutability, types


def test_attribute_names_are_case_insensitive_and_canonicalised() -> None:
    """RFC 7643 §2.1: 'Attribute names are case insensitive'."""
    result = patch(
        USER_DOC,
        {"op": "replace", "path": "USERNAME", "value": "x@y"},
        {"op": "replace", "path": "Name.GIVENNAME", "value": "B"},
        {"op": "replace", "path": 'EMAILS[TYPE eq "work"].VALUE', "value": "w@y"},
        {"op": "replace", "value": {"DisplayName": "D", "NAME.middlename": "M"}},
        {"op": "add", "path": f"{ENTERPRISE_USER.lower()}:DEPARTMENT", "value": "Tours"},
        {"op": "add", "value": {ENTERPRISE_USER.upper(): {"Division": "West"}}},
        {"op": "add", "path": "ExternalID", "value": "e"},
    )
    assert result["userName"] == "x@y"
    assert result["name"] == {"givenName": "B", "familyName": "Jensen", "middleName": "M"}
    assert result["emails"][0]["value"] == "w@y"
    assert result["displayName"] == "D"
    assert ext(result)["department"] == "Tours"
    assert ext(result)["division"] == "West"
    assert result["externalId"] == "e"
    assert not {"USERNAME", "DisplayName", "ExternalID"} & set(result)


def test_bare_name_of_an_extension_attribute_resolves_to_the_extension() -> None:
    result = patch(USER_DOC, {"op": "add", "path": "department", "value": "Tours"})
    assert ext(result)["department"] == "Tours"
    assert "department" not in result


def test_whole_extension_path() -> None:
    """A path naming the extension schema URN targets its whole object (RFC 7644 §3.10)."""
    result = patch(
        USER_DOC, {"op": "replace", "path": ENTERPRISE_USER, "value": {"costCenter": "9"}}
    )
    assert ext(result) == {**USER_DOC[ENTERPRISE_USER], "costCenter": "9"}
    result = patch(USER_DOC, {"op": "remove", "path": ENTERPRISE_USER})
    assert ENTERPRISE_USER not in result and result["schemas"] == [CORE_USER]


@pytest.mark.parametrize(
    "path",
    [
        "id",
        "meta",
        "meta.created",
        "groups",
        f"{ENTERPRISE_USER}:manager.displayName",
        'groups[value eq "x"].display',
    ],
)
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_read_only_targets_are_mutability(path: str, op: str) -> None:
    """RFC 7644 §3.5.2: 'a client MUST NOT modify an attribute that has mutability
    "readOnly" or "immutable".'"""
    raw: dict[str, Any] = {"op": op, "path": path}
    if op != "remove":
        raw["value"] = "x"
    with pytest.raises(Mutability):
        patch(USER_DOC, raw)


def test_pathless_echoed_read_only_keys_are_ignored() -> None:
    result = patch(
        USER_DOC,
        {
            "op": "replace",
            "value": {
                "schemas": [CORE_USER],
                "id": "other",
                "meta": {"version": "x"},
                "groups": [{"value": "g"}],
                "manager.displayName": "y",
                "urn:ietf:params:scim:schemas:extension:unknown:2.0:User:foo": "bar",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group": {},
                "nickName": "Babs",
            },
        },
    )
    assert result == {**USER_DOC, "nickName": "Babs"}


def test_unknown_attributes() -> None:
    """Decision: an unknown path is invalidPath (RFC 7644 Table 9: 'The "path" attribute was
    invalid or malformed'); an unknown key of a path-less value is invalidValue, as on POST."""
    with pytest.raises(InvalidPath):
        patch(USER_DOC, {"op": "add", "path": "shoeSize", "value": "9"})
    with pytest.raises(InvalidPath):
        patch(USER_DOC, {"op": "add", "path": "name.shoeSize", "value": "9"})
    with pytest.raises(InvalidPath):
        patch(USER_DOC, {"op": "add", "path": 'emails[type eq "work"].shoeSize', "value": "9"})
    with pytest.raises(InvalidPath):
        patch(USER_DOC, {"op": "add", "path": "urn:x:y:shoeSize", "value": "9"})
    with pytest.raises(InvalidPath):
        patch(USER_DOC, {"op": "add", "path": 'name[givenName eq "x"]', "value": "9"})
    with pytest.raises(InvalidValue):
        patch(USER_DOC, {"op": "add", "value": {"shoeSize": "9"}})
    with pytest.raises(InvalidValue):
        patch(USER_DOC, {"op": "add", "path": "name", "value": {"shoeSize": "9"}})


@pytest.mark.parametrize(
    ("op", "name"),
    [
        ({"op": "replace", "path": "userName", "value": 5}, "userName"),
        ({"op": "replace", "path": "active", "value": "maybe"}, "active"),
        ({"op": "replace", "path": "emails", "value": "x"}, "emails"),
        ({"op": "add", "value": {"emails": ["x"]}}, "emails"),
        ({"op": "replace", "path": "displayName", "value": ["x"]}, "displayName"),
        ({"op": "replace", "path": "name", "value": 3}, "name"),
        ({"op": "replace", "path": "name.givenName", "value": {"a": 1}}, "givenName"),
        ({"op": "replace", "path": 'emails[type eq "work"].primary', "value": 1}, "primary"),
        ({"op": "add", "value": {ENTERPRISE_USER: "x"}}, ENTERPRISE_USER),
        ({"op": "add", "value": []}, "object"),
    ],
)
def test_wrong_value_types_are_invalid_value(op: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidValue, match=name):
        patch(USER_DOC, op)


def test_immutable_may_be_added_when_absent_only() -> None:
    """RFC 7644 §3.5.2: 'a client MAY "add" a value to an "immutable" attribute if the
    attribute had no previous value.' (members.type is immutable.)"""
    result = patch(
        GROUP_DOC,
        {"op": "add", "path": f'members[value eq "{BJENSEN}"].type', "value": "User"},
        rtype=GROUP,
    )
    assert result["members"][0] == {"value": BJENSEN, "type": "User"}
    with pytest.raises(Mutability):
        patch(
            result,
            {"op": "replace", "path": f'members[value eq "{BJENSEN}"].type', "value": "Group"},
            rtype=GROUP,
        )


# ---------------------------------------------------------------------------
# Atomicity


def test_failure_in_the_last_operation_changes_nothing() -> None:
    """RFC 7644 §3.5.2: 'If a single operation encounters an error condition, the original
    SCIM resource MUST be restored, and a failure status SHALL be returned.'"""
    before = copy.deepcopy(USER_DOC)
    ops = parse_patch_request(
        body(
            {"op": "replace", "path": "displayName", "value": "changed"},
            {"op": "remove", "path": "emails"},
            {"op": "add", "path": "name.givenName", "value": "X"},
            {"op": "replace", "path": "id", "value": "nope"},
        )
    )
    with pytest.raises(Mutability):
        apply_patch(USER_DOC, ops, USER)
    assert before == USER_DOC


def test_success_returns_a_new_document() -> None:
    ops = parse_patch_request(
        body({"op": "add", "path": 'emails[type eq "work"].display', "value": "W"})
    )
    result = apply_patch(USER_DOC, ops, USER)
    assert result is not USER_DOC and result["emails"] is not USER_DOC["emails"]
    assert "display" not in USER_DOC["emails"][0]


# ---------------------------------------------------------------------------
# Fuzzing: any input either applies or raises a ScimError


def _names() -> list[str]:
    names = [
        "id",
        "meta",
        "externalId",
        "schemas",
        "junk",
        "",
        "members",
        "manager",
        ENTERPRISE_USER,
        f"{ENTERPRISE_USER}:manager",
        f"{ENTERPRISE_USER}:employeeNumber",
        f"{ENTERPRISE_USER}:manager.value",
        "urn:x:y",
        'emails[type eq "work"].value',
        'emails[type eq "work"]',
        'members[value eq "u1"]',
        "members[value pr].display",
        'addresses[type eq "work" and primary eq true].locality',
        "name[",
        "a b",
        "]",
    ]
    for schema in (USER_SCHEMA, GROUP_SCHEMA):
        for attr in schema.attributes:
            names.append(attr.name)
            names.extend(f"{attr.name}.{sub.name}" for sub in attr.sub_attributes)
    return names


_NAMES = _names()
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["True", "false", "work", "", "u1", "2024-01-01T00:00:00Z"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(_NAMES), st.text(max_size=6)), inner, max_size=3),
    ),
    max_leaves=8,
)
_JUNK_OPERATIONS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Add", "replace", "REPLACE", "remove", "Remove", "move"])},
    optional={
        "path": st.one_of(st.sampled_from(_NAMES), st.text(max_size=12), _SCALARS),
        "value": _VALUES,
    },
)
# Mostly well-formed operations with values shaped like SCIM attributes, so that
# the fuzzing reaches apply_patch rather than stopping at parse errors.
_PLAIN = st.sampled_from(["x", "True", "false", "work", "", None, "u1", True, 3])
_ELEMENT = st.dictionaries(
    st.sampled_from(["value", "type", "primary", "display", "$ref", "givenName", "Value"]),
    _PLAIN,
    max_size=3,
)
_SHAPED = st.one_of(
    _PLAIN,
    _ELEMENT,
    st.lists(_ELEMENT, max_size=3),
    st.dictionaries(st.sampled_from(_NAMES), st.one_of(_PLAIN, _ELEMENT), max_size=3),
)
_WELL_FORMED = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "Remove"]), "value": _SHAPED},
    optional={"path": st.sampled_from(_NAMES)},
).map(lambda op: op if op["op"] != "Remove" or "path" in op else {**op, "path": "emails"})
_OPERATION_LISTS = st.one_of(
    st.lists(_WELL_FORMED, min_size=1, max_size=4),
    st.lists(st.one_of(_WELL_FORMED, _JUNK_OPERATIONS), min_size=1, max_size=4),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPERATION_LISTS, st.sampled_from([USER, GROUP]))
def test_random_operations_raise_only_scim_errors(raw_ops: list[Any], rtype: ResourceType) -> None:
    doc = USER_DOC if rtype is USER else GROUP_DOC
    before = copy.deepcopy(doc)
    try:
        ops = parse_patch_request(body(*raw_ops))
        rest, _ = split_member_operations(ops, rtype)
        apply_patch(doc, rest, rtype)
        apply_patch(doc, ops, rtype)
    except ScimError:
        pass
    assert doc == before
