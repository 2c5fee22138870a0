"""The expression parser against the syntax of Microsoft's "Reference for writing expressions for
attribute mappings" (functions-for-customizing-application-data.md, "Syntax overview")."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimhub.engine.expressions import MAX_LENGTH, ExpressionError, parse_expression
from scimhub.engine.expressions.ast import Attribute, Call, Comparison, Constant, Omitted


def error_of(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    return caught.value


# ---------------------------------------------------------------------------------------------
# what parses


def test_function_with_attribute_and_string_constant() -> None:
    """ "FunctionName(<<argument 1>>,<<argument N>>)" with "Attributes, which must be enclosed in
    square brackets" and "String constants, which must be enclosed in double quotes"."""
    expr = parse_expression('Append([userPrincipalName], ".test")')
    assert expr.root == Call(
        "Append", (Attribute("userPrincipalName", 7), Constant(".test", 28)), 0
    )


def test_nested_functions() -> None:
    """ "You can nest functions within each other. For example:
    FunctionOne(FunctionTwo(<<argument1>>))"."""
    root = parse_expression('ToLower(Join("@", [givenName], "contoso.com"))').root
    assert isinstance(root, Call) and root.name == "ToLower"
    inner = root.args[0]
    assert isinstance(inner, Call) and inner.name == "Join" and len(inner.args) == 3


def test_string_escapes() -> None:
    """ "if you need a backslash ( \\ ) or quotation mark ( " ) in the string, it must be escaped
    with the backslash ( \\ ) symbol. For example: "Company name: \\"Contoso\\""."""
    root = parse_expression(r'"Company name: \"Contoso\""').root
    assert root == Constant('Company name: "Contoso"', 0)
    assert parse_expression(r'"a\\b"').root == Constant("a\\b", 0)


def test_backslash_before_other_characters_is_kept() -> None:
    assert parse_expression(r'"\d+"').root == Constant(r"\d+", 0)


@pytest.mark.parametrize(
    "name", ["extension_abc123_department", "msDS-cloudExtensionAttribute1", "a.b", "_x"]
)
def test_attribute_names_with_underscores_dots_and_dashes(name: str) -> None:
    assert parse_expression(f"[{name}]").root == Attribute(name, 0)


def test_bare_attribute_constant_and_number_are_expressions() -> None:
    assert parse_expression("[mail]").root == Attribute("mail", 0)
    assert parse_expression('"United States"').root == Constant("United States", 0)
    assert parse_expression("  42 ").root == Constant(42, 2)


def test_vba_hex_literals() -> None:
    """BitAnd's example: "BitAnd(&HF, &HF7)"."""
    root = parse_expression("BitAnd(&HF, &HF7)").root
    assert isinstance(root, Call)
    assert root.args == (Constant(15, 7), Constant(247, 12))


def test_negative_numbers() -> None:
    """DateAdd's example table: 'Get a date ten days before to hire date | "d" | -10'."""
    root = parse_expression('DateAdd("d", -10, CDate([StatusHireDate]))').root
    assert isinstance(root, Call) and root.args[1] == Constant(-10, 13)


def test_instr_compare_type_constant() -> None:
    """InStr's example: 'InStr("repEated","e",3,vbBinaryCompare)'."""
    root = parse_expression('InStr("repEated","e",3,vbBinaryCompare)').root
    assert isinstance(root, Call) and root.args[3] == Constant("vbBinaryCompare", 23)
    assert parse_expression('InStr("a","A",1,VBTEXTCOMPARE)').root == Call(
        "InStr",
        (Constant("a", 6), Constant("A", 10), Constant(1, 14), Constant("vbTextCompare", 16)),
        0,
    )


def test_default_active_mapping_with_an_empty_argument() -> None:
    """Entra's default `active` mapping leaves Switch's defaultValue empty:
    'Switch([IsSoftDeleted], , "False", "True", "True", "False")'."""
    root = parse_expression('Switch([IsSoftDeleted], , "False", "True", "True", "False")').root
    assert isinstance(root, Call)
    assert root.args[1] == Omitted(24)
    assert len(root.args) == 6


def test_replace_with_empty_arguments_up_to_the_closing_parenthesis() -> None:
    """Replace's example 1:
    'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )'."""
    root = parse_expression(
        'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )'
    ).root
    assert isinstance(root, Call) and len(root.args) == 7
    assert [type(arg).__name__ for arg in root.args] == [
        "Attribute",
        "Constant",
        "Omitted",
        "Omitted",
        "Constant",
        "Omitted",
        "Omitted",
    ]


def test_not_is_soft_deleted() -> None:
    assert parse_expression("Not([IsSoftDeleted])").root == Call(
        "Not", (Attribute("IsSoftDeleted", 4),), 0
    )


def test_comparisons_in_arguments() -> None:
    """IIF's example: 'IIF([country]="USA",[country],[department])'; the condition may use
    "= <> > >= < <=", and CBool's example is 'CBool([attribute1] = [attribute2])'."""
    root = parse_expression('IIF([country]="USA",[country],[department])').root
    assert isinstance(root, Call)
    assert root.args[0] == Comparison("=", Attribute("country", 4), Constant("USA", 14), 13)
    for op in ("=", "<>", ">", ">=", "<", "<="):
        condition = parse_expression(f"CBool([a] {op} [b])").root
        assert isinstance(condition, Call)
        assert isinstance(condition.args[0], Comparison) and condition.args[0].operator == op


def test_white_space_and_new_lines_between_tokens() -> None:
    """SelectUniqueValue's example spans several lines."""
    text = "\n".join(
        [
            "    SelectUniqueValue(",
            '        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], '
            '[PreferredLastName]))), "contoso.com"),',
            '        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  '
            'Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"),',
            '        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  '
            'Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com")',
            "    )",
        ]
    )
    root = parse_expression(text).root
    assert isinstance(root, Call) and root.name == "SelectUniqueValue" and len(root.args) == 3


def test_function_names_in_any_case_are_normalised() -> None:
    """Microsoft calls the syntax case-sensitive; names are accepted in any case and stored in
    the documented spelling, since they can mean nothing else."""
    for text in ('join("", [a])', 'JOIN("", [a])', 'jOiN("", [a])'):
        root = parse_expression(text).root
        assert isinstance(root, Call) and root.name == "Join"
    root = parse_expression('iif([a]="b", "c", "d")').root
    assert isinstance(root, Call) and root.name == "IIF"


def test_zero_argument_functions() -> None:
    assert parse_expression("Guid()").root == Call("Guid", (), 0)
    assert parse_expression("Now( )").root == Call("Now", (), 0)


def test_redact_marks_the_whole_expression() -> None:
    assert parse_expression("Redact([userPrincipalName])").redacted
    assert parse_expression('Join("", Redact([a]), "x")').redacted
    assert not parse_expression("[userPrincipalName]").redacted


def test_maximum_length_is_accepted() -> None:
    """ "The maximum length of an expression is 10,000 characters" (known-issues.md)."""
    text = '"' + "x" * (MAX_LENGTH - 2) + '"'
    assert parse_expression(text).root == Constant("x" * (MAX_LENGTH - 2), 0)


# ---------------------------------------------------------------------------------------------
# what does not, and where


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            'at position 0: expected a function call, an [attribute], a "string" or a number, '
            "found end of expression",
        ),
        (
            'Append([a], "b"',
            "at position 15: expected ')' or ',' after argument, found end of expression",
        ),
        ('Append([a] "b")', "at position 11: expected ')' or ',' after argument, found '\"'"),
        ("Frobnicate([a])", "at position 0: unknown function 'Frobnicate'"),
        ('Left("John")', "at position 0: Left takes Left(String, NumChars); got 1 argument"),
        ('Left("John", 1, 2)', "at position 0: Left takes Left(String, NumChars); got 3 arguments"),
        ('Join("@")', "at position 0: Join takes Join(separator, source, ...); got 1 argument"),
        (
            'Switch([a], "d", "k")',
            "at position 0: Switch takes "
            "Switch(source, [defaultValue], key, value, ...); got 3 arguments",
        ),
        ("Guid([a])", "at position 0: Guid takes Guid(); got 1 argument"),
        ("Mid(, 1, 2)", "at position 4: Mid: argument 1 (source) is required"),
        ('Join("@", [a], )', "at position 15: Join: argument 3 (source) is required"),
        ("[givenName", "at position 0: unterminated attribute name: expected ']'"),
        ("[]", "at position 0: empty attribute name"),
        (
            "[given Name]",
            "at position 6: ' ' is not allowed in an attribute name "
            "(letters, digits, '_', '.' and '-' are)",
        ),
        (
            'Append([a], "x)',
            "at position 12: unterminated string constant: expected a closing '\"'",
        ),
        ('Append([a], "x") [b]', "at position 17: unexpected '[' after the end of the expression"),
        (
            '[a] = "x"',
            "at position 4: a comparison is allowed only as a function argument, "
            "as in IIF's condition",
        ),
        ("Guid", "at position 4: expected '(' after the function name Guid"),
        (
            "Contoso",
            "at position 0: unknown name 'Contoso': a string constant is written in "
            "double quotes, an attribute in square brackets",
        ),
        ("BitAnd(&H, 1)", "at position 7: '&H' must be followed by 1 to 16 hexadecimal digits"),
        ("Left([a], 123456789012345678901)", "at position 10: a number has at most 20 digits"),
        (
            'IIF([a] = , "x", "y")',
            "at position 10: expected a function call, an [attribute], "
            "a \"string\" or a number, found ','",
        ),
    ],
)
def test_syntax_errors_name_the_position(text: str, expected: str) -> None:
    assert str(error_of(text)) == expected


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('Replace([a], "x", , , , , )', 0, "Replace needs exactly one of these argument sets"),
        ('Replace([a], "x", "y", , "z", , )', 0, "(got: oldValue, regexPattern, replacementValue)"),
        ('Replace([a], , "(", , "x", , )', 15, "Replace: invalid regular expression '('"),
        ('Replace([a], , "(?<g>x)", "h", "y", , )', 26, "no group 'h'"),
        ('DateAdd("q", 1, Now())', 8, "DateAdd: interval: interval must be one of yyyy, m, d"),
        ('DateDiff("fortnight", Now(), Now())', 9, "DateDiff: interval:"),
        ('FormatDateTime([a], , "yyyy", "Q")', 30, "standard date format 'Q' is not supported"),
        (
            'FormatDateTime([a], "Sometimes", "yyyy", "yy")',
            20,
            "'Sometimes' is not a DateTimeStyles",
        ),
        ('InStr("a", "b", 1, "vbSometimes")', 19, "compareType must be vbBinaryCompare"),
        ('Left([a], "three")', 10, "Left: NumChars: 'three' is not a whole number"),
        ('ToLower([a], "not a culture")', 13, "'not a culture' is not a culture name"),
        ('CDate("tomorrow")', 6, "CDate: expression: 'tomorrow' is not a date"),
        ('Join("@", SelectUniqueValue([a], [b]))', 10, "SelectUniqueValue must be the whole"),
    ],
)
def test_constant_arguments_are_checked_at_parse_time(
    text: str, position: int, fragment: str
) -> None:
    error = error_of(text)
    assert error.position == position
    assert fragment in error.message


def test_longer_than_the_maximum_length() -> None:
    error = error_of('"' + "x" * MAX_LENGTH + '"')
    assert (
        str(error)
        == "at position 10000: an expression is at most 10000 characters, this one has 10002"
    )


def test_nesting_is_bounded() -> None:
    text = "Not(" * 100 + "[a]" + ")" * 100
    error = error_of(text)
    assert error.message == "functions are nested more than 64 deep"
    assert error.position == 4 * 64
    assert parse_expression("Not(" * 64 + "[a]" + ")" * 64).root is not None


# ---------------------------------------------------------------------------------------------
# nothing but ExpressionError, whatever the input

_GRAMMAR = '[]()",\\ =<>&H-0123456789abcJoinSwitchIIFMidReplace\n'


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_raises_only_expression_error(text: str) -> None:
    try:
        parse_expression(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_GRAMMAR, max_size=120))
def test_grammar_shaped_text_raises_only_expression_error(text: str) -> None:
    try:
        parse_expression(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)
