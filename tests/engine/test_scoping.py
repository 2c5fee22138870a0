"""Scoping filters against Microsoft's "Scoping users or groups to be provisioned with scoping
filters" (MicrosoftDocs/entra-docs, define-conditional-rules-for-provisioning-user-accounts.md)."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.engine.scoping import (
    ScopingClause,
    ScopingFilter,
    explain,
    in_scope,
    parse_operator,
)


def matches(attribute: str, operator: str, value: str | None, **obj: Any) -> bool:
    return ScopingClause(attribute, operator, value).matches(obj)


# ---------------------------------------------------------------------------------------------
# operator names


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("&", "&"),
        ("!&", "!&"),
        ("ENDS_WITH", "ENDS_WITH"),
        ("ends with", "ENDS_WITH"),
        ("EQUALS", "EQUALS"),
        ("equals", "EQUALS"),
        ("Greater_Than", "Greater_Than"),
        ("GREATER THAN", "Greater_Than"),
        ("Greater_Than_OR_EQUALS", "Greater_Than_OR_EQUALS"),
        ("Includes", "Includes"),
        ("IS FALSE", "IS FALSE"),
        ("IS_FALSE", "IS FALSE"),
        ("IS NOT NULL", "IS NOT NULL"),
        ("is_not_null", "IS NOT NULL"),
        ("IS NULL", "IS NULL"),
        ("IS_NULL", "IS NULL"),
        ("IS TRUE", "IS TRUE"),
        ("NOT EQUALS", "NOT EQUALS"),
        ("NOT_EQUALS", "NOT EQUALS"),
        ("NOT REGEX MATCH", "NOT REGEX MATCH"),
        ("REGEX MATCH", "REGEX MATCH"),
        ("  regex_match ", "REGEX MATCH"),
    ],
)
def test_operator_names_in_any_case_with_spaces_or_underscores(
    written: str, canonical: str
) -> None:
    """Step 8's list: "&", "!&", ENDS_WITH, EQUALS, Greater_Than, Greater_Than_OR_EQUALS,
    Includes, IS FALSE, IS NOT NULL, IS NULL, IS TRUE, NOT EQUALS, NOT REGEX MATCH, REGEX MATCH."""
    assert parse_operator(written) == canonical
    assert ScopingClause("a", written, "1").operator == canonical


def test_unknown_operator_is_rejected_when_loaded() -> None:
    with pytest.raises(ValueError, match="unknown scoping operator 'LESS_THAN'; the operators are"):
        ScopingClause("employeeId", "LESS_THAN", "5")


def test_binary_operator_needs_a_value() -> None:
    with pytest.raises(ValueError, match="EQUALS needs a value"):
        ScopingClause("department", "EQUALS", None)


def test_invalid_regex_is_rejected_when_loaded() -> None:
    with pytest.raises(ValueError, match="REGEX MATCH: invalid regular expression"):
        ScopingClause("userPrincipalName", "REGEX MATCH", "([1-9")


def test_greater_than_needs_an_integer_value() -> None:
    """ "The value specified on the scoping filter must be an integer"."""
    with pytest.raises(ValueError, match="Greater_Than needs an integer value, got 'ten'"):
        ScopingClause("employeeId", "Greater_Than", "ten")


# ---------------------------------------------------------------------------------------------
# each operator: true, false, null


def test_contained_in_the_input_string() -> None:
    """'&': "Clause returns "true" if the evaluated attribute exists in the input string value."""
    assert matches("department", "&", "Sales,Marketing", department="Sales")
    assert not matches("department", "&", "Sales,Marketing", department="Engineering")
    assert not matches("department", "&", "Sales,Marketing", department="sales")
    assert not matches("department", "&", "Sales,Marketing")


def test_not_contained_in_the_input_string() -> None:
    """'!&': "Clause returns "true" if the evaluated attribute does not exist in the input string
    value." — and false for a null attribute, like every operator but IS NULL."""
    assert matches("department", "!&", "Sales,Marketing", department="Engineering")
    assert not matches("department", "!&", "Sales,Marketing", department="Sales")
    assert not matches("department", "!&", "Sales,Marketing")


def test_ends_with() -> None:
    """ENDS_WITH: "Clause returns "true" if the evaluated attribute ends with the input string
    value."""
    assert matches("mail", "ENDS_WITH", "@contoso.com", mail="jo@contoso.com")
    assert not matches("mail", "ENDS_WITH", "@contoso.com", mail="jo@fabrikam.com")
    assert not matches("mail", "ENDS_WITH", "@contoso.com", mail="")


def test_equals_is_case_sensitive() -> None:
    """EQUALS: "Clause returns "true" if the evaluated attribute matches the input string value
    exactly (case sensitive)"; "department EQUALS sales: All users from the sales department"."""
    assert matches("department", "EQUALS", "sales", department="sales")
    assert not matches("department", "EQUALS", "sales", department="Sales")
    assert not matches("department", "EQUALS", "sales")


def test_equals_reads_numbers_and_booleans_as_text() -> None:
    assert matches("employeeId", "EQUALS", "42", employeeId=42)
    assert matches("accountEnabled", "EQUALS", "True", accountEnabled=True)


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("Greater_Than", "1000000", True),
        ("Greater_Than", "1500000", False),
        ("Greater_Than_OR_EQUALS", "1500000", True),
        ("Greater_Than_OR_EQUALS", "1500001", False),
    ],
)
def test_greater_than(operator: str, value: str, expected: bool) -> None:
    """Greater_Than(_OR_EQUALS): "Clause returns "true" if the evaluated attribute is greater than
    (or equal to) the value ... the attribute on the user must be an integer [0,1,2,...]."""
    assert matches("employeeId", operator, value, employeeId="1500000") is expected
    assert matches("employeeId", operator, value, employeeId=1500000) is expected


def test_greater_than_is_false_for_non_integers_and_null() -> None:
    assert not matches("employeeId", "Greater_Than", "5", employeeId="E1500000")
    assert not matches("employeeId", "Greater_Than", "5")
    assert not matches("employeeId", "Greater_Than_OR_EQUALS", "5", employeeId="")


def test_includes_is_case_sensitive_contains() -> None:
    """Includes: "Clause returns "true" if the evaluated attribute contains the string value (case
    sensitive)"."""
    assert matches("jobTitle", "Includes", "Engineer", jobTitle="Senior Engineer II")
    assert not matches("jobTitle", "Includes", "Engineer", jobTitle="senior engineer")
    assert not matches("jobTitle", "Includes", "Engineer")


def test_is_true_and_is_false() -> None:
    """IS TRUE / IS FALSE: "Clause returns "true" if the evaluated attribute contains a Boolean
    value of true" (of false)."""
    assert matches("accountEnabled", "IS TRUE", None, accountEnabled=True)
    assert matches("accountEnabled", "IS TRUE", None, accountEnabled="TRUE")
    assert not matches("accountEnabled", "IS TRUE", None, accountEnabled=False)
    assert not matches("accountEnabled", "IS TRUE", None)
    assert matches("accountEnabled", "IS FALSE", None, accountEnabled=False)
    assert matches("accountEnabled", "IS FALSE", None, accountEnabled="false")
    assert not matches("accountEnabled", "IS FALSE", None, accountEnabled=True)
    assert not matches("accountEnabled", "IS FALSE", None)
    assert not matches("accountEnabled", "IS FALSE", None, accountEnabled="no")


def test_is_null_and_is_not_null() -> None:
    """IS NULL: "Clause returns "true" if the evaluated attribute is empty"; IS NOT NULL: "... isn't
    empty"."""
    assert matches("jobTitle", "IS NULL", None)
    assert matches("jobTitle", "IS NULL", None, jobTitle="")
    assert not matches("jobTitle", "IS NULL", None, jobTitle="Engineer")
    assert matches("jobTitle", "IS NOT NULL", None, jobTitle="Engineer")
    assert not matches("jobTitle", "IS NOT NULL", None)
    assert not matches("jobTitle", "IS NOT NULL", None, jobTitle="")


def test_not_equals() -> None:
    """NOT EQUALS: "Clause returns "true" if the evaluated attribute doesn't match the input string
    value (case sensitive)"; "Scoping filters will return "false" if the value is null / empty"."""
    assert matches("department", "NOT EQUALS", "sales", department="Sales")
    assert not matches("department", "NOT EQUALS", "sales", department="sales")
    assert not matches("department", "NOT EQUALS", "sales")
    assert not matches("department", "NOT EQUALS", "sales", department="")


def test_regex_match_user_principal_name_domain() -> None:
    """ "userPrincipalName REGEX MATCH .*\\@domain.com: All users with userPrincipal that have the
    domain @domain.com are in scope for provisioning" (the whole value must match)."""
    clause = ScopingClause("userPrincipalName", "REGEX MATCH", r".*\@domain.com")
    assert clause.matches({"userPrincipalName": "jo@domain.com"})
    assert not clause.matches({"userPrincipalName": "jo@domain.com.evil.example"})
    assert not clause.matches({"userPrincipalName": "jo@DOMAIN.com"})
    assert not clause.matches({})


def test_regex_match_number_between_10_and_99() -> None:
    """REGEX MATCH: "For example: ([1-9][0-9]) matches any number between 10 and 99 (case
    sensitive)."""
    clause = ScopingClause("extensionAttribute1", "REGEX MATCH", "([1-9][0-9])")
    assert clause.matches({"extensionAttribute1": "42"})
    assert not clause.matches({"extensionAttribute1": "7"})
    assert not clause.matches({"extensionAttribute1": "100"})


def test_regex_match_worker_id_range() -> None:
    """ "workerID REGEX MATCH (1[0-9][0-9][0-9][0-9][0-9][0-9]): All employees with workerID between
    1000000 and 2000000 are in scope for provisioning."""
    clause = ScopingClause("workerID", "REGEX MATCH", "(1[0-9][0-9][0-9][0-9][0-9][0-9])")
    assert clause.matches({"workerID": "1234567"})
    assert not clause.matches({"workerID": "2234567"})
    assert not clause.matches({"workerID": "12345678"})


def test_regex_match_with_dotnet_named_groups() -> None:
    assert matches(
        "mail", "REGEX MATCH", r"(?<user>\w+)@(?<domain>\w+)\.com", mail="jo@contoso.com"
    )


def test_not_regex_match() -> None:
    """ "userPrincipalName NOT REGEX MATCH .*\\@domain.com: All users with userPrincipal that has
    the domain @domain.com are out of scope"; "It returns "false" if the attribute is null /
    empty."""
    clause = ScopingClause("userPrincipalName", "NOT REGEX MATCH", r".*\@domain.com")
    assert clause.matches({"userPrincipalName": "jo@fabrikam.com"})
    assert not clause.matches({"userPrincipalName": "jo@domain.com"})
    assert not clause.matches({})
    assert not clause.matches({"userPrincipalName": ""})


def test_multi_valued_attributes_are_not_filtered() -> None:
    """ "Filtering is not supported for multi-valued attributes": only null / not null apply."""
    addresses = ["SMTP:jo@contoso.com"]
    assert not matches("proxyAddresses", "Includes", "contoso", proxyAddresses=addresses)
    assert matches("proxyAddresses", "IS NOT NULL", None, proxyAddresses=addresses)
    assert matches("proxyAddresses", "IS NULL", None, proxyAddresses=[])


def test_attribute_names_match_ignoring_case() -> None:
    assert matches("Department", "EQUALS", "sales", department="sales")


# ---------------------------------------------------------------------------------------------
# filters and clauses


NEW_YORK_ENGINEERS = ScopingFilter(
    "New York engineers",
    (
        ScopingClause("state", "EQUALS", "New York"),
        ScopingClause("department", "EQUALS", "Engineering"),
        ScopingClause("employeeId", "REGEX MATCH", "(1[0-9][0-9][0-9][0-9][0-9][0-9])"),
        ScopingClause("jobTitle", "IS NOT NULL", None),
    ),
)


def test_clauses_of_a_filter_are_anded() -> None:
    """The doc's example filter: "They must be in New York. They must work in the Engineering
    department. Their company employee ID must be between 1,000,000 and 2,000,000. Their job title
    must not be null or empty."""
    user = {
        "state": "New York",
        "department": "Engineering",
        "employeeId": "1500000",
        "jobTitle": "Engineer",
    }
    assert in_scope([NEW_YORK_ENGINEERS], user)
    assert not in_scope([NEW_YORK_ENGINEERS], {**user, "jobTitle": ""})
    assert not in_scope([NEW_YORK_ENGINEERS], {**user, "employeeId": "2500000"})


def test_filters_are_ored() -> None:
    """ "If multiple scoping filters are present, they're evaluated together by using "OR" logic."""
    sales = ScopingFilter("Sales", (ScopingClause("department", "EQUALS", "Sales"),))
    assert in_scope([NEW_YORK_ENGINEERS, sales], {"department": "Sales"})
    assert not in_scope([NEW_YORK_ENGINEERS, sales], {"department": "Legal"})


def test_no_filter_puts_everything_in_scope() -> None:
    """ "By default, Microsoft Entra provisioning connectors don't have any attribute-based scoping
    filters configured."""
    assert in_scope([], {"department": "Legal"})


def test_explain_gives_one_line_per_clause() -> None:
    """Provision on demand shows each scoping clause as `{title} {attribute} {operator} {value}`."""
    user = {"state": "New York", "department": "Sales", "employeeId": "1500000"}
    assert explain([NEW_YORK_ENGINEERS], user) == [
        "New York engineers state EQUALS New York: true",
        "New York engineers department EQUALS Engineering: false",
        "New York engineers employeeId REGEX MATCH (1[0-9][0-9][0-9][0-9][0-9][0-9]): true",
        "New York engineers jobTitle IS NOT NULL: false",
    ]
    assert explain([], user) == []
