"""What one resource may hold and what one PATCH may cost (``scim/limits.py``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimhub.scim.errors import InvalidValue, TooMany
from scimhub.scim.limits import Limits
from scimhub.scim.patch import apply_patch, parse_patch_request, split_member_operations
from scimhub.scim.resource import normalize_resource
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import CORE_USER, ENTERPRISE_USER, PATCH_OP

LIMITS = Limits()
MAX = LIMITS.max_values_per_attribute


def emails(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"value": f"{i}@e.co"} for i in range(start, start + n)]


def patch(doc: dict[str, Any], *ops: dict[str, Any], limits: Limits = LIMITS) -> dict[str, Any]:
    parsed = parse_patch_request({"schemas": [PATCH_OP], "Operations": list(ops)})
    return apply_patch(doc, parsed, USER, limits)


def user(n: int) -> dict[str, Any]:
    return {"userName": "u", "emails": emails(n)}


def test_a_created_user_may_hold_the_limit_of_values_and_not_one_more() -> None:
    body = {"schemas": [CORE_USER], "userName": "u", "emails": emails(MAX)}
    assert len(normalize_resource(body, USER, MAX)["emails"]) == MAX
    with pytest.raises(InvalidValue, match="at most 100"):
        normalize_resource({**body, "emails": emails(MAX + 1)}, USER, MAX)


def test_every_multi_valued_attribute_of_a_user_is_limited() -> None:
    phones = [{"value": f"+1 555 {i:04d}"} for i in range(MAX + 1)]
    with pytest.raises(InvalidValue, match="phoneNumbers"):
        normalize_resource({"schemas": [CORE_USER], "userName": "u", "phoneNumbers": phones},
                           USER, MAX)
    roles = [{"value": f"r{i}"} for i in range(MAX + 1)]
    with pytest.raises(InvalidValue, match="roles"):
        normalize_resource({"schemas": [CORE_USER], "userName": "u", "roles": roles}, USER, MAX)


def test_a_patch_that_grows_an_attribute_past_the_limit_is_refused_and_changes_nothing() -> None:
    doc = user(MAX)
    before = copy.deepcopy(doc)
    with pytest.raises(InvalidValue, match="at most 100"):
        patch(doc, {"op": "add", "path": "emails", "value": [{"value": "new@e.co"}]})
    with pytest.raises(InvalidValue):  # a value filter that creates the element it misses
        patch(doc, {"op": "add", "path": 'emails[type eq "x"].value', "value": "x@e.co"})
    assert doc == before


def test_an_intermediate_state_past_the_limit_is_refused_even_if_a_later_op_shrinks_it() -> None:
    with pytest.raises(InvalidValue):
        patch(user(MAX), {"op": "add", "path": "emails", "value": emails(1, start=MAX)},
              {"op": "remove", "path": 'emails[value eq "0@e.co"]'})


def test_an_operation_sending_more_values_than_the_limit_is_refused() -> None:
    with pytest.raises(InvalidValue, match="were sent"):
        patch(user(0), {"op": "replace", "path": "emails", "value": emails(MAX + 1)})


def test_a_resource_stored_before_the_limit_may_shrink_but_not_grow() -> None:
    legacy = user(MAX + 50)
    smaller = patch(legacy, {"op": "remove", "path": 'emails[value eq "0@e.co"]'})
    assert len(smaller["emails"]) == MAX + 49
    renamed = patch(legacy, {"op": "replace", "path": "displayName", "value": "Legacy"})
    assert renamed["displayName"] == "Legacy"
    with pytest.raises(InvalidValue):
        patch(legacy, {"op": "add", "path": "emails", "value": [{"value": "new@e.co"}]})


def test_a_patch_visiting_more_values_than_its_work_bound_is_too_many() -> None:
    doc = user(MAX)
    op = {"op": "replace", "path": 'emails[value co "@"].type', "value": "work"}
    # every operation visits the 100 values plus itself: 99 fit in 10,000, 100 do not
    assert all(e["type"] == "work" for e in patch(doc, *[op] * 99)["emails"])
    with pytest.raises(TooMany) as refused:
        patch(doc, *[op] * 100)
    assert refused.value.status == 400
    assert refused.value.scim_type == "tooMany"


def test_many_cheap_operations_stay_within_the_work_bound() -> None:
    ops = [{"op": "replace", "path": "displayName", "value": f"n{i}"}
           for i in range(LIMITS.max_patch_operations)]
    assert patch(user(1), *ops)["displayName"] == f"n{LIMITS.max_patch_operations - 1}"


def test_adding_values_already_present_keeps_one_of_each() -> None:
    doc = user(MAX)
    assert patch(doc, {"op": "add", "path": "emails", "value": emails(MAX)}) == doc
    fewer = patch(doc, {"op": "remove", "path": "emails", "value": emails(MAX - 1)})
    assert fewer["emails"] == [{"value": f"{MAX - 1}@e.co"}]


def test_group_members_are_not_limited_by_the_value_limit() -> None:
    members = [{"value": f"id-{i}"} for i in range(10 * MAX)]
    ops = parse_patch_request({"schemas": [PATCH_OP],
                               "Operations": [{"op": "add", "path": "members",
                                               "value": members}]})
    attr_ops, changes = split_member_operations(ops, GROUP)
    assert attr_ops == [] and len(changes) == 1
    assert apply_patch({"displayName": "g"}, attr_ops, GROUP) == {"displayName": "g"}


def test_the_extension_is_limited_too_and_limits_are_configurable() -> None:
    tight = Limits(max_values_per_attribute=2)
    with pytest.raises(InvalidValue):
        patch(user(0), {"op": "add", "path": "emails", "value": emails(3)}, limits=tight)
    manager = {"op": "replace", "path": f"{ENTERPRISE_USER}:manager", "value": "m1"}
    assert patch(user(0), manager, limits=tight)[ENTERPRISE_USER]["manager"]["value"] == "m1"
