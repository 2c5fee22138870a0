""".NET regular expressions on Python's ``re``.

The two dialects agree on everything Entra's documented patterns use except named groups:
.NET writes ``(?<name>...)``, ``(?'name'...)`` and ``\\k<name>``, Python ``(?P<name>...)`` and
``(?P=name)``. Replacement strings differ more: .NET substitutes ``$1``, ``${name}``, ``$$``
and ``$&`` and takes backslashes literally. Compiled patterns and parsed replacements are cached,
so a pattern taken from an attribute costs one compilation per distinct value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from scimhub.engine.expressions.errors import FunctionError

_NAMED_GROUP = re.compile(r"\(\?(?:<(?![=!])|')(\w+)[>']")
_BACKREFERENCE = re.compile(r"\\k(?:<(\w+)>|'(\w+)')")
_SUBSTITUTION = re.compile(r"\$(?:\$|&|(\d+)|\{(\w+)\})")



class GroupReference(NamedTuple):
    group: str | int


# A parsed replacement: literal text and references to the match's groups (0: the whole match).
Replacement = tuple[str | GroupReference, ...]


def translate(pattern: str) -> str:
    """The Python spelling of a .NET pattern (outside character classes and escapes)."""
    out: list[str] = []
    i = 0
    in_class = False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            reference = _BACKREFERENCE.match(pattern, i)
            if reference and not in_class:
                out.append(f"(?P={reference[1] or reference[2]})")
                i = reference.end()
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("]", i + 1) or pattern.startswith("^]", i + 1):
                closing = pattern.index("]", i + 1) + 1
                out.append(pattern[i:closing])
                i = closing
                continue
        elif char == "(":
            group = _NAMED_GROUP.match(pattern, i)
            if group:
                out.append(f"(?P<{group[1]}>")
                i = group.end()
                continue
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(translate(pattern))
    except (re.error, RecursionError, OverflowError) as error:
        raise FunctionError(f"invalid regular expression '{pattern}': {error}") from None


@lru_cache(maxsize=512)
def parse_replacement(text: str) -> Replacement:
    parts: list[str | GroupReference] = []
    position = 0
    for match in _SUBSTITUTION.finditer(text):
        parts.append(text[position : match.start()])
        substitution = match[0]
        if substitution == "$$":
            parts.append("$")
        elif substitution == "$&":
            parts.append(GroupReference(0))
        else:
            parts.append(GroupReference(int(match[1]) if match[1] else match[2]))
        position = match.end()
    parts.append(text[position:])
    return tuple(part for part in parts if part != "")


def expander(pattern: re.Pattern[str], replacement: Replacement) -> Callable[[re.Match[str]], str]:
    """What ``re.sub`` should put in place of each match. A reference to a group the pattern does
    not have stays literal text, as in .NET."""
    parts: list[str | GroupReference] = []
    for part in replacement:
        if isinstance(part, str) or _has_group(pattern, part.group):
            parts.append(part)
        elif isinstance(part.group, int):
            parts.append(f"${part.group}")
        else:
            parts.append(f"${{{part.group}}}")
    if all(isinstance(part, str) for part in parts):
        literal = "".join(str(part) for part in parts)
        return lambda _match: literal

    def expand(match: re.Match[str]) -> str:
        return "".join(
            part if isinstance(part, str) else (match.group(part.group) or "") for part in parts
        )

    return expand


def _has_group(pattern: re.Pattern[str], group: str | int) -> bool:
    if isinstance(group, int):
        return group <= pattern.groups
    return group in pattern.groupindex
