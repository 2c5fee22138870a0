"""Tenant-defined schema extensions in the pure protocol code (issue 11 §3).

A registered extension is checked when it is registered (bad documents never
reach storage), and once part of the tenant's resource types it behaves as the
enterprise extension does: values normalised and type-checked, PATCH paths
with the URN prefix, projections, required attributes.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimhub.scim.errors import InvalidValue
from scimhub.scim.extensions import (
    BUILTIN,
    MAX_ATTRIBUTES,
    MAX_EXTENSIONS,
    Extension,
    ExtensionError,
    check_compatible,
    parse_extension,
    schema_to_document,
    tenant_schemas,
)
from scimhub.scim.filter_parser import parse_attr_path
from scimhub.scim.patch import apply_patch, parse_patch_request
from scimhub.scim.projection import apply_projection, make_projection
from scimhub.scim.render import StoredResource, render
from scimhub.scim.resolve import resolve
from scimhub.scim.resource import check_required, normalize_resource
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import CORE_USER, ENTERPRISE_USER, PATCH_OP

URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
GROUP_URN = "urn:example:params:scim:schemas:extension:Acme:2.0:Group"

DOCUMENT: dict[str, Any] = {
    "id": URN,
    "name": "CustomExtension",
    "description": "Acme's attributes",
    "attributes": [
        {"name": "costCenterCode", "type": "string"},
        {"name": "badge", "type": "integer"},
        {"name": "rate", "type": "decimal"},
        {"name": "contractor", "type": "boolean"},
        {"name": "hired", "type": "dateTime"},
        {"name": "homePage", "type": "reference", "referenceTypes": ["external"]},
        {"name": "codeName", "type": "string", "caseExact": True},
        {"name": "skills", "type": "string", "multiValued": True},
        {"name": "desk", "type": "complex",
         "subAttributes": [{"name": "building"}, {"name": "floor", "type": "integer"}]},
        {"name": "secret", "type": "string", "mutability": "writeOnly", "returned": "never"},
        {"name": "tier", "type": "string", "canonicalValues": ["gold", "silver"]},
    ],
}


def extended(required: bool = False, **changes: Any) -> Any:
    doc = {**copy.deepcopy(DOCUMENT), **changes}
    return tenant_schemas([Extension(parse_extension(doc), "User", required)])


def user_type(required: bool = False) -> Any:
    return extended(required).user


def test_a_document_becomes_an_extension_of_the_tenants_user_type_only() -> None:
    schemas = extended()
    assert schemas.user.schema_ids == (CORE_USER, ENTERPRISE_USER, URN)
    assert schemas.group is GROUP
    assert USER.extension(URN) is None  # the shared built-in type is never changed
    assert [s.id for s in schemas.schemas][-1] == URN
    document = schemas.user.to_document("http://x/scim/v2")
    assert document["schemaExtensions"][-1] == {"schema": URN, "required": False}


def test_no_extensions_is_the_shared_builtin_set() -> None:
    assert tenant_schemas([]) is BUILTIN
    assert BUILTIN.user is USER and BUILTIN.group is GROUP


def test_the_stored_form_reads_back_as_the_same_schema() -> None:
    schema = parse_extension(DOCUMENT)
    assert parse_extension(schema_to_document(schema)) == schema


@pytest.mark.parametrize(("document", "complaint"), [
    ([], "must be a JSON object"),
    ({"attributes": [{"name": "a"}]}, "'id'"),
    ({"id": "not a urn", "attributes": [{"name": "a"}]}, "must be a URN"),
    ({"id": "urn:x:y:", "attributes": [{"name": "a"}]}, "must be a URN"),
    ({"id": CORE_USER, "attributes": [{"name": "a"}]}, "cannot be redefined"),
    ({"id": ENTERPRISE_USER, "attributes": [{"name": "a"}]}, "cannot be redefined"),
    ({"id": "urn:ietf:params:scim:schemas:core:2.0:Thing", "attributes": [{"name": "a"}]},
     "cannot be redefined"),
    ({"id": "urn:ietf:params:scim:api:messages:2.0:Mine", "attributes": [{"name": "a"}]},
     "cannot be redefined"),
    ({"id": URN}, "'attributes'"),
    ({"id": URN, "attributes": []}, "'attributes'"),
    ({"id": URN, "attributes": [{"name": "a b"}]}, "attribute name"),
    ({"id": URN, "attributes": [{"name": "a:b"}]}, "attribute name"),
    ({"id": URN, "attributes": [{"name": "a.b"}]}, "attribute name"),
    ({"id": URN, "attributes": [{"name": "a", "type": "text"}]}, "'text' is not one of"),
    ({"id": URN, "attributes": [{"name": "a", "multiValued": "yes"}]}, "true or false"),
    ({"id": URN, "attributes": [{"name": "a", "mutability": "sometimes"}]}, "not one of"),
    ({"id": URN, "attributes": [{"name": "a", "uniqueness": "server"}]}, "uniqueness"),
    ({"id": URN, "attributes": [{"name": "a", "canonicalValues": "x"}]}, "array of strings"),
    ({"id": URN, "attributes": [{"name": "a", "colour": "red"}]}, "unknown characteristic"),
    ({"id": URN, "attributes": [{"name": "a"}, {"name": "A"}]}, "defined twice"),
    ({"id": URN, "attributes": [{"name": "a", "type": "complex"}]}, "subAttributes"),
    ({"id": URN, "attributes": [{"name": "a", "subAttributes": [{"name": "b"}]}]},
     "only a complex attribute"),
    ({"id": URN, "attributes": [{"name": "a", "type": "complex", "subAttributes": [
        {"name": "b", "type": "complex", "subAttributes": [{"name": "c"}]}]}]},
     "cannot be complex"),
    ({"id": URN, "attributes": [{"name": "a", "mutability": "writeOnly",
                                 "returned": "default"}]}, "writeOnly"),
])
def test_a_bad_document_is_refused_with_what_to_fix(document: Any, complaint: str) -> None:
    with pytest.raises(ExtensionError, match=complaint):
        parse_extension(document)


def test_a_urn_is_registered_once_and_never_overlaps_another() -> None:
    first = Extension(parse_extension(DOCUMENT), "User")
    with pytest.raises(ExtensionError, match="already registered"):
        check_compatible(Extension(parse_extension({**DOCUMENT, "id": URN.upper()}), "User"),
                         [first])
    longer = Extension(parse_extension({**DOCUMENT, "id": URN + ":more"}), "User")
    with pytest.raises(ExtensionError, match="overlap"):
        check_compatible(longer, [first])
    check_compatible(Extension(parse_extension({**DOCUMENT, "id": GROUP_URN}), "Group"), [first])


def test_the_number_and_size_of_extensions_are_bounded() -> None:
    many = [Extension(parse_extension({**DOCUMENT, "id": f"urn:example:ext{i}"}), "User")
            for i in range(MAX_EXTENSIONS)]
    check_compatible(Extension(parse_extension(DOCUMENT), "User"), many[:-1])
    with pytest.raises(ExtensionError, match=f"at most {MAX_EXTENSIONS} extensions"):
        check_compatible(Extension(parse_extension(DOCUMENT), "User"), many)
    wide = [{"name": f"a{i}"} for i in range(MAX_ATTRIBUTES + 1)]
    with pytest.raises(ExtensionError, match=f"at most {MAX_ATTRIBUTES}"):
        parse_extension({"id": URN, "attributes": wide})
    with pytest.raises(ExtensionError, match=f"at most {MAX_ATTRIBUTES} sub-attributes"):
        parse_extension({"id": URN, "attributes": [
            {"name": "c", "type": "complex", "subAttributes": wide}]})


def test_values_are_normalised_and_type_checked() -> None:
    rtype = user_type()
    doc = normalize_resource({
        "schemas": [CORE_USER], "userName": "ann",
        URN: {"COSTCENTERCODE": "CC-1", "badge": 7, "rate": 1.5, "contractor": "True",
              "hired": "2024-01-02T03:04:05+01:00", "skills": "python",
              "desk": {"building": "B", "floor": 3}},
    }, rtype)
    assert doc[URN] == {"costCenterCode": "CC-1", "badge": 7, "rate": 1.5, "contractor": True,
                        "hired": "2024-01-02T02:04:05.000000Z", "skills": ["python"],
                        "desk": {"building": "B", "floor": 3}}


@pytest.mark.parametrize("block", [
    {"badge": "7"}, {"badge": 1.5}, {"badge": True}, {"contractor": "yes"}, {"rate": "1"},
    {"hired": "yesterday"}, {"costCenterCode": 5}, {"costCenterCode": ["a", "b"]},
    {"desk": "B"}, {"desk": {"floor": "3"}}, {"desk": {"room": "1"}}, {"nosuch": "x"},
])
def test_a_wrong_type_or_unknown_attribute_is_invalid_value(block: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        normalize_resource({"userName": "ann", URN: block}, user_type())


def test_the_flat_urn_qualified_key_entra_may_send_is_accepted() -> None:
    doc = normalize_resource({"userName": "ann", f"{URN}:costCenterCode": "CC-9"}, user_type())
    assert doc[URN] == {"costCenterCode": "CC-9"}


def test_an_unregistered_extension_is_still_ignored_as_before() -> None:
    doc = normalize_resource({"userName": "ann", URN: {"costCenterCode": "x"}}, USER)
    assert URN not in doc


def test_required_attributes_of_a_carried_extension_are_enforced() -> None:
    schemas = extended(attributes=[{"name": "code", "required": True}, {"name": "note"}])
    with pytest.raises(InvalidValue, match=f"'{URN}:code' is required"):
        normalize_resource({"userName": "ann", URN: {"note": "x"}}, schemas.user)
    with pytest.raises(InvalidValue, match="is required"):
        normalize_resource({"userName": "ann", URN: {"code": "  ", "note": "x"}}, schemas.user)
    # Not carried, not required of the resource type: nothing to enforce.
    normalize_resource({"userName": "ann"}, schemas.user)


def test_a_required_extension_must_be_carried() -> None:
    rtype = user_type(required=True)
    with pytest.raises(InvalidValue, match=f"The extension {URN} is required"):
        normalize_resource({"userName": "ann"}, rtype)
    normalize_resource({"userName": "ann", URN: {"badge": 1}}, rtype)
    with pytest.raises(InvalidValue, match="required"):
        check_required({"userName": "ann"}, rtype)


def _patch(doc: dict[str, Any], *ops: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_patch_request({"schemas": [PATCH_OP], "Operations": list(ops)})
    return apply_patch(doc, parsed, user_type())


def test_patch_with_entras_urn_prefixed_paths() -> None:
    doc = {"userName": "ann"}
    doc = _patch(doc, {"op": "Add", "path": f"{URN}:costCenterCode", "value": "CC-1"},
                 {"op": "Replace", "path": f"{URN}:badge", "value": 9},
                 {"op": "add", "path": f"{URN}:desk.floor", "value": 2})
    assert doc[URN] == {"costCenterCode": "CC-1", "badge": 9, "desk": {"floor": 2}}
    doc = _patch(doc, {"op": "Remove", "path": f"{URN}:costCenterCode"})
    assert doc[URN] == {"badge": 9, "desk": {"floor": 2}}
    doc = _patch(doc, {"op": "replace", "value": {f"{URN}:badge": 10}})
    assert doc[URN]["badge"] == 10
    doc = _patch(doc, {"op": "remove", "path": URN})
    assert URN not in doc


def test_patch_values_are_type_checked_too() -> None:
    with pytest.raises(InvalidValue):
        _patch({"userName": "ann"}, {"op": "add", "path": f"{URN}:badge", "value": "nine"})
    with pytest.raises(Exception, match="nosuch"):
        _patch({"userName": "ann"}, {"op": "add", "path": f"{URN}:nosuch", "value": "x"})


def test_names_resolve_with_and_without_the_urn() -> None:
    rtype = user_type()
    found = resolve(parse_attr_path(f"{URN}:desk.floor"), rtype)
    assert found is not None and found.names == (URN, "desk", "floor")
    bare = resolve(parse_attr_path("costCenterCode"), rtype)  # only in one extension
    assert bare is not None and bare.container == URN
    assert resolve(parse_attr_path(f"{URN}:nosuch"), rtype) is None


def test_projection_and_the_schemas_list() -> None:
    rtype = user_type()
    stored = StoredResource("1", 1, "t", "t", {
        "userName": "ann", URN: {"costCenterCode": "CC", "badge": 1, "secret": "s"}})
    full = render(stored, rtype, "http://x")
    assert full["schemas"] == [CORE_USER, URN]
    assert render(StoredResource("1", 1, "t", "t", {"userName": "ann"}), rtype,
                  "http://x")["schemas"] == [CORE_USER]
    only = apply_projection(full, rtype, make_projection(rtype, [
        parse_attr_path(f"{URN}:badge")]))
    assert only[URN] == {"badge": 1} and "userName" not in only
    without = apply_projection(full, rtype, make_projection(rtype, [], [
        parse_attr_path(f"{URN}:costCenterCode")]))
    assert without[URN] == {"badge": 1}  # the writeOnly secret is never returned
    whole = apply_projection(full, rtype, make_projection(rtype, [], [parse_attr_path(URN)]))
    assert URN not in whole
