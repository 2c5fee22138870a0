"""Parser for Entra's attribute-mapping expressions (functions-for-customizing-application-data.md).

Grammar (white space allowed between any two tokens)::

    expression = value
    value      = call / "[" name "]" / string / number / constant
    call       = function "(" [ argument *( "," argument ) ] ")"
    argument   = [ value [ operator value ] ]     ; empty: an omitted optional argument
    operator   = "=" / "<>" / ">=" / "<=" / ">" / "<"
    name       = 1*( ALPHA / DIGIT / "_" / "." / "-" )
    string     = DQUOTE *( char / "\\" DQUOTE / "\\\\" ) DQUOTE
    number     = [ "-" ] 1*DIGIT / "&H" 1*HEXDIG   ; VBA hex, as in BitAnd(&HF, &HF7)
    constant   = "vbBinaryCompare" / "vbTextCompare"  ; InStr's compareType, any case

Inside a string, ``\\"`` is a quote and ``\\\\`` a backslash, as documented; a backslash before
any other character is kept with it (``"\\d"`` is the two characters ``\\d``), since Entra's own
examples write regex escapes both ways. Function names are matched in any case (see
``functions.py``); the argument count is checked against each function's documented parameters.
A comparison is allowed as a function argument only (IIF's condition, ``CBool([a] = [b])``).
"""

from __future__ import annotations

from typing import Final, NoReturn

from scimhub.engine.expressions.ast import (
    Attribute,
    Call,
    Comparison,
    Constant,
    Expression,
    Node,
    Omitted,
    Operator,
    walk,
)
from scimhub.engine.expressions.compiler import compile_node
from scimhub.engine.expressions.errors import ExpressionError
from scimhub.engine.expressions.functions import FUNCTIONS

#: "The maximum length of an expression is 10,000 characters" (known-issues.md).
MAX_LENGTH: Final = 10_000
#: Deeper nesting than any real mapping; bounds the recursion of the parser and the evaluator.
MAX_DEPTH: Final = 64
_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_DIGITS: Final = frozenset("0123456789")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_MAX_DIGITS: Final = 20
_CONSTANTS: Final = {"vbbinarycompare": "vbBinaryCompare", "vbtextcompare": "vbTextCompare"}
_OPERATORS: Final[tuple[Operator, ...]] = ("<>", ">=", "<=", "=", ">", "<")
_EXPECTED_VALUE: Final = 'expected a function call, an [attribute], a "string" or a number'


def parse_expression(text: str) -> Expression:
    """Parse and compile ``text``; ``ExpressionError`` says where and why it is not valid."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"an expression is at most {MAX_LENGTH} characters, this one has {len(text)}",
            MAX_LENGTH,
        )
    root = _Parser(text).expression()
    redacted = any(isinstance(node, Call) and node.name == "Redact" for node in walk(root))
    return Expression(text, root, compile_node(root), redacted)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def expression(self) -> Node:
        node = self.value(0)
        self.skip_space()
        if self.operator() is not None:
            self.fail("a comparison is allowed only as a function argument, as in IIF's condition")
        if self.pos < len(self.text):
            self.fail(f"unexpected {self.describe()} after the end of the expression")
        return node

    # -- tokens ------------------------------------------------------------------------------

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        self.pos = pos

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def describe(self) -> str:
        char = self.peek()
        return f"'{char}'" if char else "end of expression"

    def fail(self, message: str, position: int | None = None) -> NoReturn:
        raise ExpressionError(message, self.pos if position is None else position)

    def operator(self) -> Operator | None:
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                return op
        return None

    # -- values ------------------------------------------------------------------------------

    def value(self, depth: int) -> Node:
        self.skip_space()
        char = self.peek()
        if char == "[":
            return self.attribute()
        if char == '"':
            return self.string()
        if char in _DIGITS or (char == "-" and self.text[self.pos + 1 : self.pos + 2] in _DIGITS):
            return self.number()
        if char == "&" and self.text[self.pos + 1 : self.pos + 2] in ("H", "h"):
            return self.hex_number()
        if char.isalpha() or char == "_":
            return self.name(depth)
        self.fail(f"{_EXPECTED_VALUE}, found {self.describe()}")

    def attribute(self) -> Attribute:
        start = self.pos
        end = start + 1
        while end < len(self.text) and self.text[end] in _NAME_CHARS:
            end += 1
        if end >= len(self.text):
            self.fail("unterminated attribute name: expected ']'", start)
        if self.text[end] != "]":
            self.fail(
                f"'{self.text[end]}' is not allowed in an attribute name "
                "(letters, digits, '_', '.' and '-' are)",
                end,
            )
        if end == start + 1:
            self.fail("empty attribute name", start)
        self.pos = end + 1
        return Attribute(self.text[start + 1 : end], start)

    def string(self) -> Constant:
        start = self.pos
        text = self.text
        chars: list[str] = []
        pos = start + 1
        while pos < len(text):
            char = text[pos]
            if char == '"':
                self.pos = pos + 1
                return Constant("".join(chars), start)
            if char == "\\" and pos + 1 < len(text) and text[pos + 1] in '"\\':
                chars.append(text[pos + 1])
                pos += 2
                continue
            chars.append(char)
            pos += 1
        self.fail("unterminated string constant: expected a closing '\"'", start)

    def number(self) -> Constant:
        start = self.pos
        end = start + 1
        while end < len(self.text) and self.text[end] in _DIGITS:
            end += 1
        if end - start > _MAX_DIGITS:
            self.fail(f"a number has at most {_MAX_DIGITS} digits", start)
        self.pos = end
        return Constant(int(self.text[start:end]), start)

    def hex_number(self) -> Constant:
        start = self.pos
        end = start + 2
        while end < len(self.text) and self.text[end] in _HEX_DIGITS:
            end += 1
        if end == start + 2 or end - start > 18:
            self.fail("'&H' must be followed by 1 to 16 hexadecimal digits", start)
        self.pos = end
        return Constant(int(self.text[start + 2 : end], 16), start)

    def name(self, depth: int) -> Node:
        start = self.pos
        end = start
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
            end += 1
        word = self.text[start:end]
        self.pos = end
        self.skip_space()
        if self.peek() == "(":
            return self.call(word, start, depth)
        if word.lower() in _CONSTANTS:
            self.pos = end
            return Constant(_CONSTANTS[word.lower()], start)
        if word.lower() in FUNCTIONS:
            self.fail(f"expected '(' after the function name {FUNCTIONS[word.lower()].name}")
        self.fail(
            f"unknown name '{word}': a string constant is written in double quotes, "
            "an attribute in square brackets",
            start,
        )

    # -- calls -------------------------------------------------------------------------------

    def call(self, word: str, start: int, depth: int) -> Call:
        function = FUNCTIONS.get(word.lower())
        if function is None:
            self.fail(f"unknown function '{word}'", start)
        if depth >= MAX_DEPTH:
            self.fail(f"functions are nested more than {MAX_DEPTH} deep", start)
        self.pos += 1  # "("
        args: list[Node] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.argument(depth + 1))
                self.skip_space()
                if self.peek() == ")":
                    self.pos += 1
                    break
                if self.peek() != ",":
                    self.fail(f"expected ')' or ',' after argument, found {self.describe()}")
                self.pos += 1
        if not function.accepts(len(args)):
            self.fail(
                f"{function.name} takes {function.signature}; got {len(args)} "
                f"argument{'s' if len(args) != 1 else ''}",
                start,
            )
        for index, arg in enumerate(args):
            if isinstance(arg, Omitted) and not function.optional(index):
                self.fail(
                    f"{function.name}: argument {index + 1} ({function.param(index)}) "
                    "is required",
                    arg.position,
                )
        return Call(function.name, tuple(args), start)

    def argument(self, depth: int) -> Node:
        self.skip_space()
        if self.peek() in (",", ")"):
            return Omitted(self.pos)
        left = self.value(depth)
        self.skip_space()
        op = self.operator()
        if op is None:
            return left
        at = self.pos
        self.pos += len(op)
        right = self.value(depth)
        return Comparison(op, left, right, at)
