"""``NormalizeDiacritics``: Latin letters without their accent marks.

Microsoft's table (functions-for-customizing-application-data.md, NormalizeDiacritics) lists
letters with marks, most of which Unicode decomposes into a base letter and combining marks
(NFD); those marks are dropped. The letters it lists that do not decompose are mapped
explicitly: æ→ae, ø→oe, œ→oe (the table's œ̄), ß→ss, ł→l, dotless i→i, and their capitals. Marks on
letters of other scripts are kept (the table is Latin only; stripping a Japanese dakuten or a
Devanagari vowel sign would change the word).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final

_LETTERS: Final = {
    "æ": "ae",
    "Æ": "AE",
    "ø": "oe",
    "Ø": "OE",
    "œ": "oe",
    "Œ": "OE",
    "ß": "ss",
    "ł": "l",
    "Ł": "L",
    "\u0131": "i",  # dotless i
}


def normalize_diacritics(text: str) -> str:
    return text if text.isascii() else _normalize(text)


@lru_cache(maxsize=4096)
def _normalize(text: str) -> str:
    out: list[str] = []
    latin_base = False
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            if not latin_base:
                out.append(char)
            continue
        latin_base = _is_latin(char)
        out.append(_LETTERS.get(char, char))
    return unicodedata.normalize("NFC", "".join(out))


def _is_latin(char: str) -> bool:
    if char.isascii():
        return char.isalpha()
    return char in _LETTERS or unicodedata.name(char, "").startswith("LATIN ")
