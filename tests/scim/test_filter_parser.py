"""The filter and PATCH path parser against RFC 7644 §3.4.2.2 and §3.5.2."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scimhub.scim.errors import InvalidFilter, InvalidPath
from scimhub.scim.filter_parser import parse_attr_path, parse_filter, parse_patch_path
from scimhub.scim.filters import And, Compare, CompareOp, Filter, Not, Or, Present, ValuePath
from scimhub.scim.paths import AttrPath, PatchPath
from scimhub.scim.types import CORE_USER, ENTERPRISE_USER

# ---------------------------------------------------------------------------
# helpers


def p(attr: str, sub: str | None = None, urn: str | None = None) -> AttrPath:
    return AttrPath(attr, sub, urn)


def eq(attr: str, value: object, op: CompareOp = "eq") -> Compare:
    name, _, sub = attr.partition(".")
    return Compare(p(name, sub or None), op, value)  # type: ignore[arg-type]


def pr(attr: str) -> Present:
    name, _, sub = attr.partition(".")
    return Present(p(name, sub or None))


def depth(node: Filter) -> int:
    if isinstance(node, And | Or):
        return 1 + max(depth(node.left), depth(node.right))
    if isinstance(node, Not):
        return 1 + depth(node.inner)
    if isinstance(node, ValuePath):
        return 1 + depth(node.filter)
    return 0


def invalid_filter(text: str, **limits: int) -> InvalidFilter:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text, **limits)
    return caught.value


# ---------------------------------------------------------------------------
# RFC 7644 §3.4.2.2 Figure 2: every example filter

LASTMOD = p("meta", "lastModified")
EMAILS_CO = Or(Compare(p("emails"), "co", "example.com"),
               Compare(p("emails", "value"), "co", "example.org"))
WORK_EXAMPLE = And(eq("type", "work"), Compare(p("value"), "co", "@example.com"))

RFC_EXAMPLES: list[tuple[str, Filter]] = [
    ('userName eq "bjensen"', eq("userName", "bjensen")),
    ('name.familyName co "O\'Malley"', Compare(p("name", "familyName"), "co", "O'Malley")),
    ('userName sw "J"', Compare(p("userName"), "sw", "J")),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
     Compare(p("userName", urn=CORE_USER), "sw", "J")),
    ("title pr", pr("title")),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', Compare(LASTMOD, "gt", "2011-05-13T04:42:34Z")),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', Compare(LASTMOD, "ge", "2011-05-13T04:42:34Z")),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', Compare(LASTMOD, "lt", "2011-05-13T04:42:34Z")),
    ('meta.lastModified le "2011-05-13T04:42:34Z"', Compare(LASTMOD, "le", "2011-05-13T04:42:34Z")),
    ('title pr and userType eq "Employee"', And(pr("title"), eq("userType", "Employee"))),
    ('title pr or userType eq "Intern"', Or(pr("title"), eq("userType", "Intern"))),
    ('schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
     eq("schemas", ENTERPRISE_USER)),
    ('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
     And(eq("userType", "Employee"), EMAILS_CO)),
    ('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
     And(eq("userType", "Employee", "ne"), Not(EMAILS_CO))),
    ('userType eq "Employee" and (emails.type eq "work")',
     And(eq("userType", "Employee"), eq("emails.type", "work"))),
    ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
     And(eq("userType", "Employee"), ValuePath(p("emails"), WORK_EXAMPLE))),
    ('emails[type eq "work" and value co "@example.com"] or '
     'ims[type eq "xmpp" and value co "@foo.com"]',
     Or(ValuePath(p("emails"), WORK_EXAMPLE),
        ValuePath(p("ims"), And(eq("type", "xmpp"), Compare(p("value"), "co", "@foo.com"))))),
    ('urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O\'Malley"',
     Compare(p("name", "familyName", CORE_USER), "co", "O'Malley")),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES, ids=[t for t, _ in RFC_EXAMPLES])
def test_every_rfc_example_filter_parses_to_its_ast(text: str, expected: Filter) -> None:
    """RFC 7644 §3.4.2.2: "The filter parameter MUST contain at least one valid
    expression (see Table 3)." Figure 2 lists the examples every parser must accept."""
    assert parse_filter(text) == expected


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES, ids=[t for t, _ in RFC_EXAMPLES])
def test_every_rfc_example_round_trips_through_str(text: str, expected: Filter) -> None:
    """str() of the AST is a filter meaning the same (what the engine sends on the wire)."""
    assert parse_filter(str(expected)) == expected


def test_attribute_names_and_operators_are_case_insensitive() -> None:
    """RFC 7644 §3.4.2.2: "Attribute names and attribute operators used in filters are
    case insensitive. For example, the following two expressions will evaluate to the
    same logical value: filter=userName Eq "john" filter=Username eq "john"."""
    assert parse_filter('userName Eq "john"') == eq("userName", "john")
    assert parse_filter('Username eq "john"') == eq("Username", "john")
    assert parse_filter("title PR") == pr("title")
    spelled = parse_filter('a EQ 1 AND NOT (b Pr) Or c gE 2')
    assert spelled == Or(And(eq("a", 1), Not(pr("b"))), eq("c", 2, "ge"))


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
def test_every_compare_operator_is_recognised(op: CompareOp) -> None:
    """RFC 7644 §3.4.2.2 Figure 1: compareOp = "eq" / "ne" / "co" / "sw" / "ew" /
    "gt" / "lt" / "ge" / "le"."""
    assert parse_filter(f'title {op} "x"') == Compare(p("title"), op, "x")
    assert parse_filter(f'title {op.upper()} "x"') == Compare(p("title"), op, "x")


# ---------------------------------------------------------------------------
# precedence and grouping

PRECEDENCE = [
    ("a pr or b pr and c pr", Or(pr("a"), And(pr("b"), pr("c")))),
    ("a pr and b pr or c pr", Or(And(pr("a"), pr("b")), pr("c"))),
    ("(a pr or b pr) and c pr", And(Or(pr("a"), pr("b")), pr("c"))),
    ("a pr and (b pr or c pr)", And(pr("a"), Or(pr("b"), pr("c")))),
    ("a pr and b pr and c pr", And(And(pr("a"), pr("b")), pr("c"))),
    ("a pr or b pr or c pr", Or(Or(pr("a"), pr("b")), pr("c"))),
    ("not (a pr) and b pr", And(Not(pr("a")), pr("b"))),
    ("not (a pr) or b pr and not (c pr)", Or(Not(pr("a")), And(pr("b"), Not(pr("c"))))),
    ("not (a pr or b pr)", Not(Or(pr("a"), pr("b")))),
    ("((a pr))", pr("a")),
    ("a pr and (b pr and c pr)", And(pr("a"), And(pr("b"), pr("c")))),
]


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE, ids=[t for t, _ in PRECEDENCE])
def test_not_binds_tighter_than_and_which_binds_tighter_than_or(
    text: str, expected: Filter
) -> None:
    """RFC 7644 §3.4.2.2: "Logical operators - where "not" takes precedence over "and",
    which takes precedence over "or"", and "Grouping operators" come first."""
    assert parse_filter(text) == expected
    assert parse_filter(str(expected)) == expected


def test_str_parenthesises_only_where_precedence_requires() -> None:
    """RFC 7644 §3.4.2.2 Table 5: parentheses exist "to change the standard order of
    operations", so rendering needs them exactly where the tree departs from it."""
    assert str(Or(pr("a"), And(pr("b"), pr("c")))) == "a pr or b pr and c pr"
    assert str(And(Or(pr("a"), pr("b")), pr("c"))) == "(a pr or b pr) and c pr"
    assert str(And(And(pr("a"), pr("b")), pr("c"))) == "a pr and b pr and c pr"
    assert str(And(pr("a"), And(pr("b"), pr("c")))) == "a pr and (b pr and c pr)"
    assert str(Or(pr("a"), Or(pr("b"), pr("c")))) == "a pr or (b pr or c pr)"
    assert str(Not(pr("a"))) == "not (a pr)"
    assert str(eq("active", True)) == "active eq true"
    assert str(eq("manager", None)) == "manager eq null"
    assert str(eq("title", 'a "quoted" \\ title')) == r'title eq "a \"quoted\" \\ title"'


def test_not_needs_parentheses_but_not_a_space() -> None:
    """RFC 7644 §3.4.2.2 Figure 1: FILTER = ... / *1"not" "(" FILTER ")" - "not" always
    takes a parenthesised filter, and the ABNF puts no SP between them."""
    assert parse_filter("not(title pr)") == Not(pr("title"))
    assert parse_filter("NOT   (title pr)") == Not(pr("title"))
    error = invalid_filter("not title pr")
    assert "position 4" in error.detail


def test_keywords_can_still_be_attribute_names() -> None:
    """RFC 7644 §3.4.2.2 Figure 1: ATTRNAME = ALPHA *(nameChar) does not exclude the
    operator words, and where an attribute is expected a word is an attribute."""
    assert parse_filter("and pr or or pr") == Or(pr("and"), pr("or"))
    assert parse_filter('not eq "x"') == eq("not", "x")
    assert parse_filter("pr pr and not (eq pr)") == And(pr("pr"), Not(pr("eq")))


# ---------------------------------------------------------------------------
# compValue

@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("true", True), ("FALSE", False), ("Null", None), ("0", 0), ("-12", -12),
        ("3.25", 3.25), ("1e3", 1000.0), ("-2.5E-2", -0.025), ('""', ""),
        (r'"a\"b\\c\/d"', 'a"b\\c/d'), (r'"\b\f\n\r\t"', "\b\f\n\r\t"),
        (r'"\u00e9t\u00C9"', "étÉ"), (r'"\ud83d\ude00"', "\U0001f600"),
        ('"O\'Malley"', "O'Malley"),
        ('"with  (parens) [and] brackets"', "with  (parens) [and] brackets"),
    ],
)
def test_comparison_values_are_json_literals(literal: str, value: object) -> None:
    """RFC 7644 §3.4.2.2: "the "compValue" (comparison value) rule is built on JSON Data
    Interchange format ABNF rules as specified in [RFC7159]"."""
    parsed = parse_filter(f"x eq {literal}")
    assert isinstance(parsed, Compare)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('userName eq "bjensen', 12, "unterminated string"),
        ('userName eq "bjensen\\"', 12, "unterminated string"),
        ("userName eq bjensen", 12, "double quotes"),
        ("userName eq 'bjensen'", 12, "double quotes"),
        ('x eq "\\x"', 6, "invalid string escape"),
        ('x eq "\\u12"', 7, "invalid string escape"),
        ('x eq "\\ud800"', 5, "unpaired surrogate"),
        ("x eq 01", 5, "expected a value"),
        ("x eq 1.", 5, "expected a value"),
        ("x eq 12abc", 5, "expected a value"),
        ("x eq 1e999", 5, "out of range"),
        ("x eq Infinity", 5, "expected a value"),
        ("x eq", 4, "expected a value"),
        ("x eq (", 5, "expected a value"),
    ],
)
def test_malformed_values_are_invalid_filter_with_position(
    text: str, position: int, fragment: str
) -> None:
    """RFC 7644 §3.12: invalidFilter - "The specified filter syntax was invalid (does not
    comply with Figure 1)"; the detail names where and what was expected."""
    error = invalid_filter(text)
    assert error.status == 400
    assert error.scim_type == "invalidFilter"
    assert f"position {position}:" in error.detail
    assert fragment in error.detail


# ---------------------------------------------------------------------------
# attrPath

@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("userName", p("userName")),
        ("name.familyName", p("name", "familyName")),
        ("groups.$ref", p("groups", "$ref")),
        ("$ref", p("$ref")),
        ("x-custom_attr2.sub-1", p("x-custom_attr2", "sub-1")),
        (f"{ENTERPRISE_USER}:manager.value", p("manager", "value", ENTERPRISE_USER)),
        (f"{ENTERPRISE_USER}:manager.$ref", p("manager", "$ref", ENTERPRISE_USER)),
        (f"{ENTERPRISE_USER}:department", p("department", urn=ENTERPRISE_USER)),
        (f"{CORE_USER}:name.familyName", p("name", "familyName", CORE_USER)),
        ("URN:IETF:params:scim:schemas:core:2.0:User:userName",
         p("userName", urn="URN:IETF:params:scim:schemas:core:2.0:User")),
    ],
)
def test_attribute_paths_split_the_urn_at_its_last_colon(text: str, path: AttrPath) -> None:
    """RFC 7644 §3.4.2.2 Figure 1: attrPath = [URI ":"] ATTRNAME *1subAttr - a URN
    contains dots ("2.0"), so only its last colon separates it from the attribute."""
    assert parse_filter(f"{text} pr") == Present(path)
    assert parse_attr_path(text) == path
    assert parse_attr_path(f"  {text}\t") == path


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("1abc eq 2", 0, "expected an attribute name"),
        ("a.b.c eq 1", 2, "at most one sub-attribute"),
        ("a. eq 1", 2, "invalid sub-attribute"),
        (".a eq 1", 0, "expected an attribute name"),
        ("foo:bar eq 1", 0, "only a 'urn:' schema URI"),
        ("urn:x eq 1", 0, "not a valid schema URN"),
        ("urn:ietf:params:scim:schemas:core:2.0:User: pr", 43, "expected an attribute name"),
        ("user$name pr", 0, "expected an attribute name"),
    ],
)
def test_malformed_attribute_paths_are_invalid_filter(
    text: str, position: int, fragment: str
) -> None:
    """RFC 7644 §3.4.2.2 Figure 1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" /
    DIGIT / ALPHA, subAttr = "." ATTRNAME (at most one: *1subAttr)."""
    error = invalid_filter(text)
    assert f"position {position}:" in error.detail
    assert fragment in error.detail


@pytest.mark.parametrize("text", ["", "   ", "emails[type eq \"work\"]", "a b", "a.b.c", "x:y"])
def test_parse_attr_path_rejects_anything_but_one_path_as_invalid_path(text: str) -> None:
    """RFC 7644 §3.4.2.3 and §3.4.2.5: sortBy and attributes name attributes "using
    standard attribute notation (Section 3.10)", not filters."""
    with pytest.raises(InvalidPath):
        parse_attr_path(text)


# ---------------------------------------------------------------------------
# whitespace

@pytest.mark.parametrize(
    "text",
    [
        'userName eq "x"',
        '  userName   eq\t"x"  ',
        'userName\teq\t"x"',
        'userName eq"x"',
    ],
)
def test_whitespace_is_lenient(text: str) -> None:
    """RFC 7644 §3.4.2.2 Figure 1 writes SP between tokens; clients (Entra after URL
    decoding '+') send runs of spaces and tabs, which mean the same."""
    assert parse_filter(text) == eq("userName", "x")


def test_spaces_inside_strings_are_kept() -> None:
    """RFC 7644 §3.4.2.2: compValue strings follow RFC 7159, where every character counts."""
    parsed = parse_filter('displayName eq "  Babs   Jensen "')
    assert parsed == eq("displayName", "  Babs   Jensen ")


# ---------------------------------------------------------------------------
# value paths

def test_value_path_paths_are_relative_to_the_parent() -> None:
    """RFC 7644 §3.4.2.2 Table 5: "The expression within square brackets ("[" and "]")
    MUST be a valid filter expression based upon sub-attributes of the parent attribute."""
    parsed = parse_filter('emails[type eq "work" and not (value ew ".org")]')
    assert parsed == ValuePath(
        p("emails"), And(eq("type", "work"), Not(Compare(p("value"), "ew", ".org"))))


def test_value_path_may_be_urn_qualified() -> None:
    """RFC 7644 §3.4.2.2 Figure 1: valuePath = attrPath "[" valFilter "]", and attrPath
    may carry a schema URI."""
    assert parse_filter(f'{CORE_USER}:emails[type eq "work"]') == ValuePath(
        p("emails", urn=CORE_USER), eq("type", "work"))


def test_value_filters_cannot_nest() -> None:
    """RFC 7644 §3.4.2.2 Figure 1: valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
    - unlike FILTER it has no valuePath alternative."""
    error = invalid_filter('emails[type[value eq "x"] pr]')
    assert "position 11:" in error.detail
    assert "cannot be nested" in error.detail
    assert "cannot be nested" in invalid_filter('emails[(a pr or b[c pr])]').detail


def test_value_path_followed_by_sub_attribute_reads_as_one_element_condition() -> None:
    """RFC 7644 §3.4.2.2 Figure 1 has no "valuePath subAttr", but Entra queries
    'emails[type eq "work"].value eq' (docs/entra.md §1.3 item 6): it means one element with
    both conditions."""
    parsed = parse_filter('emails[type eq "work"].value eq "x"')
    assert parsed == ValuePath(AttrPath("emails"), And(
        Compare(AttrPath("type"), "eq", "work"), Compare(AttrPath("value"), "eq", "x")))
    assert parse_filter('emails[type eq "work"].value pr') == ValuePath(
        AttrPath("emails"),
        And(Compare(AttrPath("type"), "eq", "work"), Present(AttrPath("value"))))
    assert "position 22:" in invalid_filter('emails[type eq "work"].9 eq "x"').detail


# ---------------------------------------------------------------------------
# structural errors

@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "expected an attribute path, '(' or 'not', found end of filter"),
        ("   ", 3, "found end of filter"),
        ("userName", 8, "expected an operator"),
        ('userName regex "x"', 9, "found 'regex'"),
        ("(userName pr", 12, "expected 'and', 'or' or ')'"),
        ("userName pr)", 11, "expected 'and', 'or' or the end of the filter, found ')'"),
        ("title pr and", 12, "expected an attribute path"),
        ("title pr or or", 14, "expected an operator"),
        ("title pr title pr", 9, "found 'title'"),
        ('emails[type eq "w"', 18, "expected 'and', 'or' or ']'"),
        ('emails[type eq "w"))', 18, "expected 'and', 'or' or ']', found ')'"),
        ("]", 0, "found ']'"),
        ("()", 1, "found ')'"),
        ('"x" eq userName', 0, "found '\"x\"'"),
    ],
)
def test_structural_errors_name_position_and_expectation(
    text: str, position: int, fragment: str
) -> None:
    """RFC 7644 §3.4.2.2: "Providers MUST decline to filter results if the specified
    filter operation is not recognized and return an HTTP 400 error with a "scimType"
    error of "invalidFilter" and an appropriate human-readable response"."""
    error = invalid_filter(text)
    assert f"position {position}:" in error.detail
    assert fragment in error.detail


def test_too_long_filter_is_invalid_filter() -> None:
    """RFC 7644 §3.4.2.2 puts no bound on filters; the server does (its advertised limit),
    and exceeding it is still the client's invalid filter."""
    assert "maximum is 20" in invalid_filter('userName eq "a-long-value"', max_length=20).detail
    parsed = parse_filter('userName eq "a-long-value"', max_length=26)
    assert parsed == eq("userName", "a-long-value")


@pytest.mark.parametrize(
    "text",
    [
        "(" * 33 + "a pr" + ")" * 33,
        "not (" * 33 + "a pr" + ")" * 33,
        "(" * 100_000,
        "not(" * 50_000,
    ],
    ids=["parens", "not", "unclosed-parens", "unclosed-not"],
)
def test_nesting_beyond_max_depth_is_invalid_filter_not_recursion_error(text: str) -> None:
    """Every consumer walks the AST recursively, so depth is bounded where the filter
    enters (RFC 7644 §7: service providers should protect themselves against abuse)."""
    error = invalid_filter(text, max_length=1_000_000)
    assert "maximum depth of 32" in error.detail


def test_max_depth_counts_every_level_up_to_the_limit() -> None:
    """Decision: each parenthesis, "not", value filter and and/or node is one level."""
    assert parse_filter("(" * 32 + "a pr" + ")" * 32) == pr("a")
    assert parse_filter(" or ".join(["a pr"] * 33))
    assert parse_filter('emails[a pr and b pr]', max_depth=2)
    assert "maximum depth of 1" in invalid_filter('emails[a pr and b pr]', max_depth=1).detail
    assert parse_filter("not ((a pr))", max_depth=2) == Not(pr("a"))
    assert "maximum depth of 1" in invalid_filter("not ((a pr))", max_depth=1).detail


# ---------------------------------------------------------------------------
# PATCH paths (RFC 7644 §3.5.2)

PATCH_PATHS: list[tuple[str, PatchPath]] = [
    ("members", PatchPath(p("members"))),
    ("name.familyName", PatchPath(p("name", "familyName"))),
    ('addresses[type eq "work"]', PatchPath(p("addresses"), eq("type", "work"))),
    ('members[value eq "2819c223-7f76-453a-919d-413861904646"]',
     PatchPath(p("members"), eq("value", "2819c223-7f76-453a-919d-413861904646"))),
    ('members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName',
     PatchPath(p("members"), eq("value", "2819c223-7f76-453a-919d-413861904646"),
               "displayName")),
    ('members[value eq "2819c223"]', PatchPath(p("members"), eq("value", "2819c223"))),
    ('emails[type eq "work"].value', PatchPath(p("emails"), eq("type", "work"), "value")),
    (f"{ENTERPRISE_USER}:manager", PatchPath(p("manager", urn=ENTERPRISE_USER))),
    (f"{ENTERPRISE_USER}:manager.value", PatchPath(p("manager", "value", ENTERPRISE_USER))),
    ('addresses[type eq "work"].streetAddress',
     PatchPath(p("addresses"), eq("type", "work"), "streetAddress")),
    (f'{CORE_USER}:emails[type eq "work"].value',
     PatchPath(p("emails", urn=CORE_USER), eq("type", "work"), "value")),
    ('emails[type eq "work" and value ew "@example.com"].primary',
     PatchPath(p("emails"), And(eq("type", "work"), Compare(p("value"), "ew", "@example.com")),
               "primary")),
    ('members[not (value eq "x")]', PatchPath(p("members"), Not(eq("value", "x")))),
]


@pytest.mark.parametrize(("text", "expected"), PATCH_PATHS, ids=[t for t, _ in PATCH_PATHS])
def test_patch_paths_parse_every_shape(text: str, expected: PatchPath) -> None:
    """RFC 7644 §3.5.2: PATH = attrPath / valuePath [subAttr] (Figure 7), with the
    example attribute paths of Figure 8."""
    assert parse_patch_path(text) == expected
    assert parse_patch_path(str(expected)) == expected


def test_whole_extension_patch_path_keeps_the_urn_text() -> None:
    """RFC 7644 §3.5.2.1 lets a path name a whole extension; the grammar alone cannot
    tell it from urn:attr, so it splits at the last colon and str() restores the text."""
    path = parse_patch_path(ENTERPRISE_USER)
    assert str(path.attr) == ENTERPRISE_USER
    assert path.value_filter is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected an attribute path, found end of path"),
        ("(members)", "expected an attribute path, found '('"),
        ('emails[type eq "work"].value.display', "not a valid sub-attribute"),
        ('emails[type eq "work"].1', "not a valid sub-attribute"),
        ('emails[type eq "work"] x', "expected '.subAttribute' or the end of the path"),
        ('emails[type eq work].value', "strings must be in double quotes"),
        ('emails[type eq "work"', "expected 'and', 'or' or ']'"),
        ('emails[type[value eq "x"] pr]', "cannot be nested"),
        ("members value", "expected '[' or the end of the path"),
        ("a.b.c", "at most one sub-attribute"),
        ("foo:bar", "only a 'urn:' schema URI"),
    ],
)
def test_malformed_patch_paths_are_invalid_path_with_detail(text: str, fragment: str) -> None:
    """RFC 7644 §3.12: invalidPath - "The "path" attribute was invalid or malformed
    (see Figure 7)." - also when the bracketed filter is what is malformed."""
    with pytest.raises(InvalidPath) as caught:
        parse_patch_path(text)
    assert caught.value.scim_type == "invalidPath"
    assert "Invalid path at position" in caught.value.detail
    assert fragment in caught.value.detail


# ---------------------------------------------------------------------------
# properties

NAMES = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True),
    st.sampled_from(["$ref", "and", "or", "not", "pr", "eq", "true", "null", "urn"]),
)
PATHS = st.builds(AttrPath, NAMES, st.none() | NAMES,
                  st.none() | st.sampled_from([CORE_USER, ENTERPRISE_USER, "urn:x-y:a.b:c"]))
# NUL is refused in filter strings (tests/scim/test_filter_values.py), so no AST holds it.
VALUES = st.one_of(st.none(), st.booleans(), st.integers(),
                   st.floats(allow_nan=False, allow_infinity=False),
                   st.text(st.characters(exclude_characters="\x00"), max_size=12))
OPS = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
LEAVES = st.builds(Compare, PATHS, OPS, VALUES) | st.builds(Present, PATHS)


def _combined(children: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    return (st.builds(And, children, children) | st.builds(Or, children, children)
            | st.builds(Not, children))


INNER = st.recursive(LEAVES, _combined, max_leaves=6)
FILTERS = st.recursive(LEAVES | st.builds(ValuePath, PATHS, INNER), _combined, max_leaves=10)
TOKENS = st.sampled_from(
    ["a", "b.c", "eq", "pr", "and", "or", "not", "(", ")", "[", "]", '"x"', '"', "\\", "1",
     "-2.5e3", "true", "null", ".d", f"{ENTERPRISE_USER}:manager", "urn:", ":", " ", "\t"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILTERS)
def test_any_ast_round_trips_through_str(ast: Filter) -> None:
    """parse_filter(str(ast)) == ast, value types included (1 and 1.0 and true differ)."""
    assume(depth(ast) <= 32)
    reparsed = parse_filter(str(ast))
    assert reparsed == ast
    assert repr(reparsed) == repr(ast)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(TOKENS, max_size=25).map(" ".join),
                 st.lists(TOKENS, max_size=25).map("".join)))
def test_any_text_parses_or_raises_invalid_filter_only(text: str) -> None:
    """RFC 7644 §3.12: a filter that does not comply with Figure 1 is invalidFilter -
    never another error - and whatever parses renders back to the same tree."""
    try:
        parsed = parse_filter(text)
    except InvalidFilter:
        return
    assert parse_filter(str(parsed)) == parsed


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(TOKENS, max_size=15).map("".join)))
def test_any_text_as_patch_path_parses_or_raises_invalid_path_only(text: str) -> None:
    """RFC 7644 §3.12: a malformed "path" is invalidPath, never another error."""
    try:
        parsed = parse_patch_path(text)
    except InvalidPath:
        return
    assert parse_patch_path(str(parsed)) == parsed
