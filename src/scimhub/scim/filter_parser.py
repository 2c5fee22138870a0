"""Hand-written parser for SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).

Filters arrive from the network, so the parser is defensive: every malformed
input becomes one ``InvalidFilter`` (or ``InvalidPath``) naming the character
offset and what was expected, and length and nesting are bounded so that
neither the parser nor the recursive consumers of the AST (SQL compiler,
matcher, ``str``) can exhaust the stack.

Grammar, with the usual precedence (``not`` > ``and`` > ``or``)::

    filter   = term *( "or" term )                ; left-associative
    term     = factor *( "and" factor )           ; left-associative
    factor   = "not" "(" filter ")" / "(" filter ")" / attrExp / valuePath
    attrExp  = attrPath "pr" / attrPath compareOp compValue
    valuePath = attrPath "[" valFilter "]"        ; valFilter: a filter without valuePath

Keywords and operators are case-insensitive. Whitespace between tokens is
lenient (any amount, tabs included) and may be omitted where the tokens are
otherwise delimited, as in ``not(`` which the ABNF itself allows.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Final, NoReturn

from scimhub.scim.errors import InvalidFilter, InvalidPath, ScimError
from scimhub.scim.filters import (
    And,
    Compare,
    CompareOp,
    Filter,
    Literal_,
    Not,
    Or,
    Present,
    ValuePath,
)
from scimhub.scim.paths import AttrPath, PatchPath

DEFAULT_MAX_DEPTH: Final = 32
DEFAULT_MAX_LENGTH: Final = 4096
#: Comparisons (``attr op value`` or ``attr pr``) in one filter: the bound on its total
#: size whatever the length limit, as each becomes SQL to compile and run.
DEFAULT_MAX_CLAUSES: Final = 1000
#: Whatever the caller asks, deeper trees would approach Python's recursion limit
#: in the parser (four frames a level) and in every consumer of the AST.
HARD_MAX_DEPTH: Final = 100

# A word is anything up to whitespace, a bracket, a parenthesis or a quote; what
# it means (attribute path, operator, keyword, literal) depends on where it
# stands, which gives better error messages than a finer lexer would.
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<punct>[()\[\]])
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s()\[\]"]+)
      | (?P<unterminated>")
      | (?P<end>\Z)
    )""",
    re.VERBOSE | re.DOTALL,
)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*|\$ref", re.IGNORECASE)
_URN = re.compile(r"urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,\-.:=@;$_!*'%/?#]+", re.IGNORECASE)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?")
_OPERATORS: Final[dict[str, CompareOp]] = {
    op: op for op in ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
}
_KEYWORDS: Final[dict[str, Literal_]] = {"true": True, "false": False, "null": None}
_EXPECT_VALUE = "a value (a JSON string in double quotes, a number, true, false or null)"

# (kind, text, offset); kind is "(", ")", "[", "]", "string", "word" or "end".
Token = tuple[str, str, int]


def parse_filter(
    text: str, *, max_depth: int = DEFAULT_MAX_DEPTH, max_length: int = DEFAULT_MAX_LENGTH,
    max_clauses: int = DEFAULT_MAX_CLAUSES,
) -> Filter:
    """The AST of a ``filter`` parameter; ``InvalidFilter`` for anything else.

    ``max_depth`` bounds the depth of the resulting tree (every parenthesis,
    ``not``, value filter and ``and``/``or`` node adds a level) because every
    consumer walks it recursively; a flat chain of ``or`` (or ``and``) is built
    balanced, so it costs log2 of its length, not its length.
    ``max_clauses`` bounds the number of comparisons.
    """
    _check_length(text, max_length, InvalidFilter, "filter")
    parser = _Parser(text, InvalidFilter, "filter", max_depth, max_clauses)
    node, _ = parser.disjunction(in_brackets=False)
    parser.expect_end("'and', 'or' or the end of the filter")
    return node


def parse_attr_path(text: str) -> AttrPath:
    """``[urn:]attr[.subAttr]`` as used by sortBy, attributes and excludedAttributes.

    Raises ``InvalidPath``: these parameters name attributes, they are not filters.
    """
    word = text.strip()
    offset = len(text) - len(text.lstrip())
    if not word:
        raise InvalidPath("Invalid attribute path: it is empty")
    return _attr_path(word, offset, InvalidPath, "attribute path")


@lru_cache(maxsize=512)
def parse_patch_path(
    text: str, *, max_depth: int = DEFAULT_MAX_DEPTH, max_length: int = DEFAULT_MAX_LENGTH
) -> PatchPath:
    """``attrPath / valuePath ["." subAttr]`` of a PATCH operation.

    Every error, a malformed value filter included, is ``InvalidPath``: RFC
    7644 §3.5.2 reports an unparsable path as invalidPath. Results are cached: a client
    sends the same few paths over and over (Entra's ``emails[type eq "work"].value``), a
    path is immutable (frozen dataclasses of strings and JSON scalars), and tokenizing one
    cost ~50 µs of a PATCH. Errors are not cached (``lru_cache`` keeps only returns).
    """
    _check_length(text, max_length, InvalidPath, "path")
    parser = _Parser(text, InvalidPath, "path", max_depth)
    kind, word, offset = parser.advance()
    if kind != "word":
        parser.fail("an attribute path", (kind, word, offset))
    attr = _attr_path(word, offset, InvalidPath, "path")
    if parser.peek()[0] != "[":
        parser.expect_end("'[' or the end of the path")
        return PatchPath(attr)
    selected, _ = parser.value_filter(attr)
    sub_attr = None
    kind, word, offset = parser.peek()
    if kind == "word" and word.startswith("."):
        parser.advance()
        sub_attr = word[1:]
        if not _NAME.fullmatch(sub_attr):
            parser.fail_at(offset + 1, f"'{sub_attr}' is not a valid sub-attribute name")
    parser.expect_end("'.subAttribute' or the end of the path")
    return PatchPath(attr, selected.filter, sub_attr)


def _check_length(text: str, max_length: int, error: type[ScimError], noun: str) -> None:
    if len(text) > max_length:
        raise error(f"The {noun} is {len(text)} characters long; the maximum is {max_length}")


def _tokenize(text: str, error: type[ScimError], noun: str) -> list[Token]:
    """All tokens up front: filters are short and the parser then needs no lookahead logic."""
    tokens: list[Token] = []
    pos = 0
    match = _TOKEN.match
    while True:
        m = match(text, pos)
        kind = m.lastgroup if m is not None else None
        assert m is not None and kind is not None  # the alternatives cover every character
        start = m.start(kind)
        if kind == "end":
            tokens.append(("end", "", start))
            return tokens
        if kind == "unterminated":
            raise error(f"Invalid {noun} at position {start}: unterminated string")
        token = m.group(kind)
        tokens.append((token if kind == "punct" else kind, token, start))
        pos = m.end()


def _attr_path(word: str, offset: int, error: type[ScimError], noun: str) -> AttrPath:
    """Split ``urn:...:attr.sub``: the URN runs to the last colon, as URNs contain dots."""
    urn: str | None = None
    rest, rest_at = word, offset
    if ":" in word:
        if word[:4].lower() != "urn:":
            raise error(
                f"Invalid {noun} at position {offset}: '{word}' is not an attribute path; "
                "only a 'urn:' schema URI may qualify an attribute name"
            )
        urn, _, rest = word.rpartition(":")
        rest_at = offset + len(urn) + 1
        if not _URN.fullmatch(urn):
            raise error(f"Invalid {noun} at position {offset}: '{urn}' is not a valid schema URN")
    name, dot, sub = rest.partition(".")
    if not _NAME.fullmatch(name):
        found = f"'{name}'" if name else "nothing"
        raise error(f"Invalid {noun} at position {rest_at}: expected an attribute name, "
                    f"found {found}")
    if dot and not _NAME.fullmatch(sub):
        why = "at most one sub-attribute is allowed" if "." in sub else "invalid sub-attribute"
        raise error(f"Invalid {noun} at position {rest_at + len(name) + 1}: {why} ('{sub}')")
    return AttrPath(name, sub if dot else None, urn)


class _Parser:
    """Recursive descent over the token list; each rule returns (node, depth)."""

    __slots__ = ("clauses", "error", "index", "max_clauses", "max_depth", "nesting", "noun",
                 "tokens")

    def __init__(self, text: str, error: type[ScimError], noun: str, max_depth: int,
                 max_clauses: int = DEFAULT_MAX_CLAUSES) -> None:
        self.error = error
        self.noun = noun
        self.max_depth = min(max_depth, HARD_MAX_DEPTH)
        self.max_clauses = max_clauses
        self.clauses = 0
        self.tokens = _tokenize(text, error, noun)
        self.index = 0
        self.nesting = 0

    # -- token plumbing ---------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token[0] != "end":
            self.index += 1
        return token

    def fail_at(self, offset: int, message: str) -> NoReturn:
        raise self.error(f"Invalid {self.noun} at position {offset}: {message}")

    def fail(self, expected: str, token: Token) -> NoReturn:
        kind, text, offset = token
        found = f"end of {self.noun}" if kind == "end" else repr(_clip(text))
        self.fail_at(offset, f"expected {expected}, found {found}")

    def expect(self, kind: str, expected: str) -> Token:
        token = self.advance()
        if token[0] != kind:
            self.fail(expected, token)
        return token

    def expect_end(self, expected: str) -> None:
        token = self.peek()
        if token[0] != "end":
            self.fail(expected, token)

    def deeper(self, depth: int, offset: int) -> int:
        """Check a node's depth against the limit before anything recurses on it."""
        if depth > self.max_depth:
            self.fail_at(offset, f"nesting exceeds the maximum depth of {self.max_depth}")
        return depth

    def keyword(self, *words: str) -> str | None:
        kind, text, _ = self.peek()
        lowered = text.lower()
        return lowered if kind == "word" and lowered in words else None

    # -- grammar ----------------------------------------------------------

    def disjunction(self, in_brackets: bool) -> tuple[Filter, int]:
        operands = [self.conjunction(in_brackets)]
        offset = self.peek()[2]
        while self.keyword("or"):
            self.advance()
            operands.append(self.conjunction(in_brackets))
        return self.chain(Or, operands, offset)

    def conjunction(self, in_brackets: bool) -> tuple[Filter, int]:
        operands = [self.factor(in_brackets)]
        offset = self.peek()[2]
        while self.keyword("and"):
            self.advance()
            operands.append(self.factor(in_brackets))
        return self.chain(And, operands, offset)

    def chain(self, kind: type[And] | type[Or], operands: list[tuple[Filter, int]],
              offset: int) -> tuple[Filter, int]:
        """``a or b or c ...``: a flat chain is one level of nesting, not one per clause.

        The tree is left-deep (``(a or b) or c``, as the grammar reads it) while
        that fits in the depth limit, so short filters keep their exact shape.
        A longer chain is built balanced instead: ``and`` and ``or`` are
        associative, so the meaning is the same, and the tree that every
        consumer walks recursively stays shallow (a depth of log2 of the
        clauses). Only real nesting (parentheses, ``not``, value filters, and
        ``and`` inside ``or``) can then exceed the limit; the number of
        clauses is bounded separately (``max_clauses``).
        """
        if len(operands) == 1:
            return operands[0]
        node, depth = operands[0]
        for right, right_depth in operands[1:]:
            node, depth = kind(node, right), max(depth, right_depth) + 1
        if depth <= self.max_depth:
            return node, depth
        return self.deeper_chain(kind, operands, offset)

    def deeper_chain(self, kind: type[And] | type[Or], operands: list[tuple[Filter, int]],
                     offset: int) -> tuple[Filter, int]:
        if len(operands) == 1:
            return operands[0]
        middle = (len(operands) + 1) // 2
        left, left_depth = self.deeper_chain(kind, operands[:middle], offset)
        right, right_depth = self.deeper_chain(kind, operands[middle:], offset)
        return kind(left, right), self.deeper(max(left_depth, right_depth) + 1, offset)

    def factor(self, in_brackets: bool) -> tuple[Filter, int]:
        token = self.advance()
        kind, text, offset = token
        if kind == "(":
            return self.group(in_brackets, offset, negate=False)
        if kind == "word" and text.lower() == "not" and self.peek()[0] == "(":
            self.advance()
            return self.group(in_brackets, offset, negate=True)
        if kind != "word":
            self.fail("an attribute path, '(' or 'not'", token)
        path = _attr_path(text, offset, self.error, self.noun)
        if self.peek()[0] != "[":
            return self.comparison(path), 0
        if in_brackets:
            self.fail_at(self.peek()[2], "value filters cannot be nested")
        result, depth = self.value_filter(path)
        kind, text, offset = self.peek()
        if kind == "word" and text.startswith("."):
            return self.value_filter_comparison(result, text, offset), depth
        return result, depth

    def value_filter_comparison(self, result: ValuePath, text: str, offset: int) -> ValuePath:
        """``emails[type eq "work"].value eq "x"``: not in RFC 7644's filter ABNF, but
        Entra matches users with it (docs/entra.md §1.3 item 6), so it is read as
        ``emails[type eq "work" and value eq "x"]``."""
        self.advance()
        sub = text[1:]
        if not _NAME.fullmatch(sub):
            self.fail_at(offset, f"expected a sub-attribute name after ']', found {_clip(text)!r}")
        condition = self.comparison(AttrPath(sub))
        return ValuePath(result.path, And(result.filter, condition))

    def group(self, in_brackets: bool, offset: int, negate: bool) -> tuple[Filter, int]:
        self.nesting += 1
        self.deeper(self.nesting, offset)
        inner, depth = self.disjunction(in_brackets)
        self.expect(")", "')'" if in_brackets else "'and', 'or' or ')'")
        self.nesting -= 1
        depth = self.deeper(depth + 1, offset)
        return (Not(inner) if negate else inner), depth

    def value_filter(self, path: AttrPath) -> tuple[ValuePath, int]:
        offset = self.expect("[", "'['")[2]
        self.nesting += 1
        self.deeper(self.nesting, offset)
        inner, depth = self.disjunction(in_brackets=True)
        self.expect("]", "'and', 'or' or ']'")
        self.nesting -= 1
        return ValuePath(path, inner), self.deeper(depth + 1, offset)

    def comparison(self, path: AttrPath) -> Filter:
        self.clauses += 1
        if self.clauses > self.max_clauses:
            self.fail_at(self.peek()[2], f"more than {self.max_clauses} comparisons")
        token = self.advance()
        op = token[1].lower()
        if token[0] == "word" and op == "pr":
            return Present(path)
        if token[0] != "word" or op not in _OPERATORS:
            self.fail("an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) or '['", token)
        return Compare(path, _OPERATORS[op], self.value())

    def value(self) -> Literal_:
        kind, text, offset = token = self.advance()
        if kind == "string":
            return self.string(text, offset)
        if kind == "word":
            lowered = text.lower()
            if lowered in _KEYWORDS:
                return _KEYWORDS[lowered]
            number = _NUMBER.fullmatch(text)
            if number is not None:
                return self.number(text, offset, exact=not (number["frac"] or number["exp"]))
            self.fail_at(offset, f"expected {_EXPECT_VALUE}, found {_clip(text)!r}; "
                         "strings must be in double quotes")
        self.fail(_EXPECT_VALUE, token)

    def string(self, text: str, offset: int) -> str:
        value = self.unquote(text, offset)
        if "\x00" in value:  # raw or \u0000: nothing stored holds NUL; PostgreSQL cannot compare it
            self.fail_at(offset, "invalid string: U+0000 (NUL) is not allowed")
        return value

    def unquote(self, text: str, offset: int) -> str:
        if "\\" not in text:
            return text[1:-1]
        try:
            value: str = json.loads(text, strict=False)
        except json.JSONDecodeError as exc:
            self.fail_at(offset + exc.pos, f"invalid string escape ({exc.msg})")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone \uD8xx: no database or encoder accepts it
            self.fail_at(offset, f"invalid string: unpaired surrogate {value[exc.start]!a}")
        return value

    def number(self, text: str, offset: int, exact: bool) -> int | float:
        try:
            value = int(text) if exact else float(text)
        except ValueError:  # more digits than int() converts
            value = math.inf
        if isinstance(value, float) and not math.isfinite(value):
            self.fail_at(offset, f"number out of range: {_clip(text)}")
        return value


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
