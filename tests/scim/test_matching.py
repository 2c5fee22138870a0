"""In-memory filter evaluation against RFC 7643 §8.2's full user, and value-filter selection."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter_parser import parse_filter
from scimhub.scim.filters import Filter
from scimhub.scim.matching import (
    check_comparison,
    element_matches,
    parse_datetime,
    resource_matches,
)
from scimhub.scim.schema import Attribute
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import CORE_USER, ENTERPRISE_USER

FIXTURE = Path(__file__).parent / "fixtures" / "rfc7643-8.2-full_user.json"
BJENSEN: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))


def attribute(name: str) -> Attribute:
    attr = USER.schema.attribute(name)
    assert attr is not None
    return attr


EMAILS = attribute("emails")
MEMBERS = GROUP.schema.attribute("members")
assert MEMBERS is not None


def matches(text: str, doc: dict[str, Any] | None = None) -> bool:
    return resource_matches(parse_filter(text), BJENSEN if doc is None else doc, USER)


def invalid(text: str, doc: dict[str, Any] | None = None) -> InvalidFilter:
    with pytest.raises(InvalidFilter) as caught:
        matches(text, doc)
    return caught.value


def with_changes(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BJENSEN)
    doc.update(changes)
    return doc


# ---------------------------------------------------------------------------
# RFC 7644 §3.4.2.2 Figure 2 against RFC 7643 §8.2

RFC_EXAMPLES = [
    ('userName eq "bjensen"', False),
    ('userName eq "bjensen@example.com"', True),
    ('name.familyName co "O\'Malley"', False),
    ('name.familyName co "ens"', True),
    ('userName sw "J"', False),
    ('userName sw "BJ"', True),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', False),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b"', True),
    ("title pr", True),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', False),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', True),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', False),
    ('meta.lastModified le "2011-05-13T04:42:34Z"', True),
    ('title pr and userType eq "Employee"', True),
    ('title pr or userType eq "Intern"', True),
    ('schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"', False),
    ('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
     True),
    ('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
     False),
    ('userType eq "Employee" and (emails.type eq "work")', True),
    ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', True),
    ('emails[type eq "work" and value co "@example.com"] or '
     'ims[type eq "xmpp" and value co "@foo.com"]', True),
    ('urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O\'Malley"', False),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES, ids=[t for t, _ in RFC_EXAMPLES])
def test_rfc_example_filters_against_the_rfc_full_user(text: str, expected: bool) -> None:
    """RFC 7644 §3.4.2.2: "If a filter is provided, the service provider SHALL respond
    with only those resources that match the filter" - here, Figure 2's filters against
    RFC 7643 §8.2's Barbara Jensen."""
    assert matches(text) is expected


def test_fixture_is_the_rfc_full_user() -> None:
    """RFC 7643 §8.2 "Full User Representation" is the document the examples assume."""
    assert BJENSEN["id"] == "2819c223-7f76-453a-919d-413861904646"
    assert BJENSEN["meta"]["lastModified"] == "2011-05-13T04:42:34Z"
    assert len(BJENSEN["groups"]) == 3


# ---------------------------------------------------------------------------
# names and case

def test_attribute_names_in_filter_and_document_are_case_insensitive() -> None:
    """RFC 7643 §2.1: "Attribute names are case insensitive and are often "camel-cased"
    (e.g., "camelCase")."""
    assert matches('USERNAME eq "bjensen@example.com"')
    assert matches('Name.FamilyName eq "Jensen"')
    shouting = {key.upper(): value for key, value in BJENSEN.items()}
    shouting["NAME"] = {"FAMILYNAME": "Jensen"}
    assert matches('userName eq "bjensen@example.com"', shouting)
    assert matches('name.familyName eq "jensen"', shouting)


def test_string_comparison_follows_case_exact() -> None:
    """RFC 7644 §3.4.2.2: "When comparing attributes of type String, the case sensitivity
    for String type attributes SHALL be determined by the attribute's "caseExact"
    characteristic (see Section 2.2 of [RFC7643])."""
    assert matches('userName eq "BJensen@Example.COM"')
    assert matches('id eq "2819c223-7f76-453a-919d-413861904646"')
    assert not matches('id eq "2819C223-7F76-453A-919D-413861904646"')
    assert matches('externalId sw "70198"')
    assert matches('meta.version eq "W/\\"a330bc54f0671c9\\""')


def test_case_insensitive_comparison_uses_casefold() -> None:
    """RFC 7644 §7.8 asks for strings to be "appropriately prepared before comparison";
    casefold() also equates "ß" and "SS", which lower() does not."""
    doc = with_changes(displayName="Groß")
    assert matches('displayName eq "GROSS"', doc)


def test_core_urn_prefix_may_be_given_or_omitted() -> None:
    """RFC 7644 §3.10: "Clients MAY omit core schema attribute URN prefixes" and "All
    facets (URN, attribute, and sub-attribute name) of the fully encoded attribute name
    are case insensitive."""
    assert matches(f'{CORE_USER}:userName eq "bjensen@example.com"')
    assert matches(f'{CORE_USER.upper()}:USERNAME eq "bjensen@example.com"')
    assert matches(f'{CORE_USER}:name.givenName eq "Barbara"')


def test_extension_attributes_live_under_their_urn() -> None:
    """RFC 7643 §3.3: extension attributes are carried in a sub-object named by the
    schema URN; they are addressed as urn:...:attr[.sub] (RFC 7644 §3.10)."""
    doc = with_changes(**{ENTERPRISE_USER.lower(): {
        "employeeNumber": "701984", "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"},
    }})
    assert matches(f'{ENTERPRISE_USER}:department eq "tour operations"', doc)
    assert matches(f'{ENTERPRISE_USER}:manager.value sw "26118915"', doc)
    assert matches(f'{ENTERPRISE_USER}:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"', doc)
    assert matches('manager.displayName eq "John Smith"', doc)  # bare: found in one extension
    assert matches(f"{ENTERPRISE_USER}:manager pr", doc)
    assert not matches(f"{ENTERPRISE_USER}:manager pr")
    assert matches(f"{ENTERPRISE_USER}:department ne \"x\"")


def test_schemas_can_be_filtered() -> None:
    """RFC 7644 §3.4.2.2: "Clients MAY query by schema or schema extensions by using a
    filter expression including the "schemas" attribute (as shown in Figure 2)."""
    assert matches(f'schemas eq "{CORE_USER.upper()}"')
    doc = with_changes(schemas=[CORE_USER, ENTERPRISE_USER])
    assert matches(f'schemas eq "{ENTERPRISE_USER}"', doc)


def test_meta_resource_type_is_the_resource_type() -> None:
    """RFC 7643 §3.1: meta.resourceType is "The name of the resource type of the
    resource" - known from the endpoint even where the stored document omits it."""
    assert matches('meta.resourceType eq "User"')
    assert matches('meta.resourceType eq "User"', {"userName": "x"})
    assert not matches('meta.resourceType eq "Group"')


# ---------------------------------------------------------------------------
# operators

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('title co "guide"', True), ('title co "Tour Guide!"', False),
        ('title sw "tour guide"', True), ('title ew "GUIDE"', True), ('title ew "Tour"', False),
        ('title ne "Tour Guide"', False), ('title ne "Pilot"', True),
        ('title gt "Tour"', True), ('title ge "tour guide"', True), ('title lt "tour guidf"', True),
        ('title le "Tour Guid"', False),
    ],
)
def test_string_operators(text: str, expected: bool) -> None:
    """RFC 7644 §3.4.2.2 Table 3: co - "The entire operator value must be a substring of
    the attribute value for a match."; sw/ew - "This criterion is satisfied if the two
    strings are identical."; gt - "For string attribute types, this is a lexicographical
    comparison"."""
    assert matches(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('meta.created lt "2011-05-13T04:42:34Z"', True),
        ('meta.created eq "2010-01-23T04:56:22.000Z"', True),
        ('meta.created eq "2010-01-22T20:56:22-08:00"', True),
        ('meta.created gt "2010-01-23T05:56:21+01:00"', True),
        ('meta.created ge "2010-01-23t04:56:22z"', True),
        ('meta.lastModified gt "2011-05-13"', True),
        ('meta.lastModified ne "2011-05-13T04:42:34Z"', False),
    ],
)
def test_date_times_compare_chronologically(text: str, expected: bool) -> None:
    """RFC 7644 §3.4.2.2 Table 3, gt: "for DateTime types, it is a chronological
    comparison" - offsets and fractions do not change the instant."""
    assert matches(text) is expected


def test_integers_and_decimals_compare_numerically() -> None:
    """RFC 7644 §3.4.2.2 Table 3, gt: "For integer attributes, it is a comparison by
    numeric value."""
    level = Attribute("level", type="integer")
    score = Attribute("score", type="decimal")
    parent = Attribute("x", type="complex", multi_valued=True, sub_attributes=(level, score))
    element = {"level": 10, "score": 2.5}
    assert element_matches(parse_filter("level gt 9 and level lt 10.5"), element, parent)
    assert element_matches(parse_filter("score ge 2.5 and score le 3"), element, parent)
    assert not element_matches(parse_filter("level gt 10"), element, parent)
    assert not element_matches(parse_filter("level eq 2"), {"level": "2"}, parent)


def test_booleans_accept_true_false_literals_and_strings() -> None:
    """RFC 7643 §2.3.2: boolean "The literal "true" or "false"" - Entra also sends them as
    strings ("True"), which mean the same."""
    assert matches("active eq true")
    assert matches('active eq "True"')
    assert matches("active ne false")
    assert not matches("active eq FALSE")
    assert matches("active eq true", with_changes(active="TRUE"))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("active gt true", "'gt' cannot order 'active'"),
        ("active le false", "'le' cannot order 'active'"),
        ('x509Certificates.value gt "MIID"', "of type binary"),
        ('active co "t"', "'co' compares strings"),
        ('active eq "yes"', "'active' is a boolean"),
        ("active eq 1", "'active' is a boolean"),
        ("meta.created gt 5", "'created' is of type dateTime: compare it with a JSON string"),
        ('meta.created gt "yesterday"', "'created' is a dateTime"),
        ("userName eq 5", "compare it with a JSON string, not the number 5"),
        ("userName eq true", "not true"),
        ('emails[primary eq "maybe"]', "'primary' is a boolean"),
        ('name eq "Barbara"', "'name' is complex"),
        ("title gt null", "only 'eq' and 'ne' compare with null"),
        ('meta.lastModified co "2011"', "'co' compares strings"),
    ],
)
def test_unsupported_comparisons_are_invalid_filter(text: str, fragment: str) -> None:
    """RFC 7644 §3.4.2.2 Table 3: "Boolean and Binary attributes SHALL cause a failed
    response (HTTP status code 400) with "scimType" of "invalidFilter"", and §3.12:
    invalidFilter - "the specified attribute and filter comparison combination is not
    supported"."""
    error = invalid(text)
    assert error.scim_type == "invalidFilter"
    assert fragment in error.detail
    assert "(in '" in error.detail  # the expression at fault, not just the attribute


@pytest.mark.parametrize(
    "text",
    ["nosuch eq 1", "name.nosuch pr", "emails.nosuch pr", "userName.value pr",
     "urn:example:unknown:2.0:Thing:attr pr", f"{ENTERPRISE_USER}:userName pr",
     'emails[nosuch eq "x"]', 'emails[value.sub pr]', "title pr or nosuch pr",
     "nosuch pr and title pr", 'groups[nosuch pr]', 'userName[value pr]'],
)
def test_unknown_attributes_are_invalid_filter_whatever_the_data(text: str) -> None:
    """RFC 7644 §3.12: invalidFilter - "The specified filter syntax was invalid (does not
    comply with Figure 1), or the specified attribute and filter comparison combination is
    not supported." An unknown name fails even when the other side already decided."""
    invalid(text)
    invalid(text, {})


# ---------------------------------------------------------------------------
# presence, null and absence

@pytest.mark.parametrize("empty", [None, "", [], {}])
def test_present_means_non_empty(empty: object) -> None:
    """RFC 7644 §3.4.2.2 Table 3, pr: "If the attribute has a non-empty value, or if it
    contains a non-empty node for complex attributes, there is a match." RFC 7643 §2.5:
    "Unassigned attributes, the null value, or empty array (in the case of a multi-valued
    attribute) SHALL be considered to be equivalent in "state"."""
    doc = with_changes(nickName=empty, emails=empty, name=empty)
    assert not matches("nickName pr", doc)
    assert not matches("emails pr", doc)
    assert not matches("name pr", doc)
    assert matches("nickName pr")
    assert matches("emails pr") and matches("name pr") and matches("addresses pr")


def test_eq_null_means_absent_and_ne_null_means_present() -> None:
    """Decision (RFC 7643 §2.5 makes null and unassigned one state): "eq null" is
    "not pr", "ne null" is "pr"."""
    assert matches("nickName ne null")
    assert not matches("nickName eq null")
    assert matches("nickName eq null", with_changes(nickName=None))
    assert matches("nickName eq NULL", {"userName": "x"})
    assert matches("emails.value ne null")
    assert matches("emails eq null", with_changes(emails=[]))


def test_ne_is_true_for_an_absent_attribute() -> None:
    """RFC 7644 §3.4.2.2 Table 3, ne: "The attribute and operator values are not
    identical." - an absent value is not identical to anything."""
    doc = {"userName": "x"}
    assert matches('title ne "Tour Guide"', doc)
    assert matches('emails.value ne "a@b.c"', doc)
    assert not matches('title eq "Tour Guide"', doc)
    assert not matches('title co ""', doc)


def test_a_stored_value_of_the_wrong_type_never_matches() -> None:
    """Bad stored data is not the client's invalid filter: it just matches nothing."""
    doc = with_changes(title=7, active="perhaps", meta={"created": "not a date"})
    assert not matches('title eq "7"', doc)
    assert matches('title ne "7"', doc)
    assert not matches("active eq true", doc) and not matches("active eq false", doc)
    assert not matches('meta.created lt "2100-01-01T00:00:00Z"', doc)


# ---------------------------------------------------------------------------
# multi-valued attributes and value paths

def test_multi_valued_attribute_matches_if_any_value_matches() -> None:
    """RFC 7644 §3.4.2.2: "If the specified attribute in a filter expression is a
    multi-valued attribute, the filter matches if any of the values of the specified
    attribute match the specified criterion"."""
    assert matches('emails.value eq "babs@jensen.org"')
    assert matches('emails.type eq "home"')
    assert matches('phoneNumbers.value ew "4444"')
    assert matches('groups.display eq "us employees"')
    assert not matches('emails.value eq "nobody@example.com"')


def test_comparing_a_multi_valued_complex_attribute_compares_its_value() -> None:
    """RFC 7644 §3.4.2.2 Figure 2 writes emails co "example.com" next to
    emails.value co "example.org": the bare name stands for the "value" sub-attribute."""
    assert matches('emails co "jensen.org"')
    assert matches('emails eq "BJENSEN@example.com"')
    assert not matches('emails eq "work"')


def test_value_path_requires_one_element_to_satisfy_the_whole_filter() -> None:
    """RFC 7644 §3.4.2.2 Table 5: "[ ]" - "expressions MUST be applied to the same value
    of a parent attribute specified immediately before the left square bracket"."""
    assert matches('emails.type eq "home" and emails.value co "example.com"')
    assert not matches('emails[type eq "home" and value co "example.com"]')
    assert matches('emails[type eq "home" and value co "jensen.org"]')
    assert matches('addresses[type eq "work" and postalCode eq "91608" and primary eq true]')
    assert not matches('addresses[type eq "home" and primary eq true]')
    assert matches('emails[not (type eq "work")]')
    assert not matches('ims[type eq "xmpp"]')
    assert not matches('emails[type eq "work"]', {"userName": "x"})


def test_value_path_on_a_single_valued_attribute_is_invalid_filter() -> None:
    """RFC 7644 §3.4.2.2 Table 5: "[ ]" is "Complex attribute filter grouping" over the
    values of a multi-valued parent."""
    assert "needs a multi-valued attribute" in invalid('name[givenName eq "Barbara"]').detail
    assert "needs a multi-valued attribute" in invalid('emails.value[type pr]').detail


def test_not_inverts() -> None:
    """RFC 7644 §3.4.2.2 Table 4, not: "The filter is a match if the expression evaluates
    to false."""
    assert matches('not (title eq "Pilot")')
    assert not matches("not (title pr)")
    assert matches("not (not (title pr))")


def test_and_or_follow_table_4() -> None:
    """RFC 7644 §3.4.2.2 Table 4: and - "The filter is only a match if both expressions
    evaluate to true."; or - "The filter is a match if either expression evaluates to true."""
    assert not matches('title pr and title eq "Pilot"')
    assert matches('title eq "Pilot" or title pr')
    assert not matches('title eq "Pilot" or nickName eq "x"')


# ---------------------------------------------------------------------------
# element_matches (PATCH value filters)

def test_element_matches_selects_elements_of_the_parent() -> None:
    """RFC 7644 §3.5.2: a valuePath filter selects "the same value of a parent attribute";
    its paths name sub-attributes (type, not emails.type), case-insensitively."""
    work, home = BJENSEN["emails"]
    f = parse_filter('TYPE eq "Work" and Value ew "@EXAMPLE.COM"')
    assert element_matches(f, work, EMAILS)
    assert not element_matches(f, home, EMAILS)
    assert element_matches(parse_filter("primary eq true"), work, EMAILS)
    assert not element_matches(parse_filter("primary pr"), home, EMAILS)


def test_element_matches_group_members_by_value() -> None:
    """RFC 7644 §3.5.2.2: remove members[value eq "2819c223-7f76-453a-919d-413861904646"]
    removes that one member."""
    assert MEMBERS is not None
    f = parse_filter('value eq "2819c223-7f76-453a-919d-413861904646"')
    assert element_matches(f, {"value": "2819c223-7f76-453a-919d-413861904646"}, MEMBERS)
    assert not element_matches(f, {"value": "902c246b-6245-4190-8e05-00816be7344a"}, MEMBERS)
    assert element_matches(parse_filter('type eq "user"'), {"type": "User"}, MEMBERS)


def test_element_of_a_multi_valued_simple_attribute_is_named_value() -> None:
    """RFC 7644 §3.5.2 (brief): for multi-valued attributes of simple values, "value"
    in a value filter refers to the value itself."""
    tags = Attribute("tags", multi_valued=True)
    assert element_matches(parse_filter('value eq "BLUE"'), "blue", tags)
    assert element_matches(parse_filter('VALUE sw "bl" and not (value eq "black")'), "blue", tags)
    assert not element_matches(parse_filter('value ne "blue"'), "blue", tags)
    with pytest.raises(InvalidFilter, match="has no sub-attribute 'type'"):
        element_matches(parse_filter('type eq "x"'), "blue", tags)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('nosuch eq "x"', "'emails' has no sub-attribute 'nosuch'"),
        ('emails.type eq "x"', "not a sub-attribute of 'emails'"),
        (f'{CORE_USER}:type eq "x"', "not a sub-attribute of 'emails'"),
        ('value[type eq "x"]', "cannot be nested"),
        ('type eq "x" or primary gt true', "'gt' cannot order 'primary'"),
    ],
)
def test_element_filter_errors_are_invalid_filter(text: str, fragment: str) -> None:
    """RFC 7644 §3.4.2.2 Table 5: the bracketed expression "MUST be a valid filter
    expression based upon sub-attributes of the parent attribute"."""
    with pytest.raises(InvalidFilter) as caught:
        element_matches(parse_filter(text), BJENSEN["emails"][0], EMAILS)
    assert fragment in caught.value.detail


# ---------------------------------------------------------------------------
# the shared helpers the SQL compiler reuses

def test_check_comparison_normalises_values() -> None:
    """RFC 7643 §2.3.5: a dateTime is an instant; RFC 7643 §2.3.2: a boolean is true or
    false. The SQL compiler gets the same normalised value the matcher compares."""
    created = Attribute("created", type="dateTime")
    assert check_comparison(created, "gt", "2011-05-13T06:42:34+02:00") == datetime(
        2011, 5, 13, 4, 42, 34, tzinfo=UTC)
    assert check_comparison(Attribute("active", type="boolean"), "eq", "FALSE") is False
    assert check_comparison(Attribute("n", type="integer"), "ge", 3) == 3
    assert check_comparison(Attribute("n", type="decimal"), "ge", 3.5) == 3.5
    assert check_comparison(Attribute("userName"), "co", "Mixed") == "Mixed"
    assert check_comparison(Attribute("photo", type="reference"), "sw", "https:") == "https:"


def test_check_comparison_rejects_null_and_complex() -> None:
    """Decision: null only makes sense with eq/ne, which callers handle as (not) present."""
    with pytest.raises(InvalidFilter):
        check_comparison(Attribute("title"), "eq", None)
    with pytest.raises(InvalidFilter):
        check_comparison(EMAILS, "eq", "x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2011-05-13T04:42:34Z", datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)),
        ("2011-05-13t04:42:34z", datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)),
        ("2011-05-13T04:42:34.5+05:30",
         datetime(2011, 5, 13, 4, 42, 34, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
        ("2011-05-13T04:42:34", datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)),
    ],
)
def test_parse_datetime_returns_aware_datetimes(text: str, expected: datetime) -> None:
    """RFC 7643 §2.3.5: dateTime "MUST be encoded as a valid xsd:dateTime" (RFC 3339
    profile, 'T'/'Z' in either case); a value without an offset is taken as UTC."""
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("text", ["", "yesterday", "2011-13-01T00:00:00Z", "13/05/2011"])
def test_parse_datetime_raises_value_error_for_garbage(text: str) -> None:
    """Callers decide what bad text means (client error or unmatched data)."""
    with pytest.raises(ValueError):
        parse_datetime(text)


# ---------------------------------------------------------------------------
# property: only InvalidFilter escapes

NAMES = ["userName", "name.givenName", "name", "emails", "emails.value", "emails.type",
         "emails.primary", "active", "meta.created", "meta.resourceType", "title", "nosuch",
         "id", "externalId", "schemas", "groups.display", "x509Certificates.value",
         f"{ENTERPRISE_USER}:manager", f"{ENTERPRISE_USER}:manager.value", "addresses"]
LITERALS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-5, 5),
                     st.sampled_from(["", "x", "True", "2011-05-13T04:42:34Z", "work"]))


@st.composite
def filter_texts(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 3 else 1))
    name = draw(st.sampled_from(NAMES))
    if kind == 0:
        return f"{name} pr"
    if kind == 1:
        op = draw(st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]))
        return f"{name} {op} {json.dumps(draw(LITERALS))}"
    if kind == 2:
        return f"({draw(filter_texts(depth + 1))}) and {draw(filter_texts(depth + 1))}"
    if kind == 3:
        return f"{draw(filter_texts(depth + 1))} or {draw(filter_texts(depth + 1))}"
    if kind == 4:
        return f"not ({draw(filter_texts(depth + 1))})"
    inner = draw(st.sampled_from(["type", "value", "primary", "display", "nosuch"]))
    op = draw(st.sampled_from(["eq", "gt", "co"]))
    return f"emails[{inner} {op} {json.dumps(draw(LITERALS))}]"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filter_texts(), st.booleans())
def test_matching_raises_nothing_but_invalid_filter(text: str, empty: bool) -> None:
    """RFC 7644 §3.12: a filter the server cannot apply is invalidFilter (400), and the
    verdict does not depend on the data: the full user and an empty one agree."""
    f: Filter = parse_filter(text)
    outcomes: list[bool | None] = []
    for doc in (BJENSEN, {}):
        try:
            outcomes.append(resource_matches(f, doc, USER))
        except InvalidFilter:
            outcomes.append(None)
    assert (outcomes[0] is None) == (outcomes[1] is None)
    if empty and outcomes[0] is not None:
        assert resource_matches(parse_filter(f"not ({text})"), BJENSEN, USER) is not outcomes[0]
