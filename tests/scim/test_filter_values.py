"""String literals of filters and PATCH paths never carry NUL (U+0000).

PostgreSQL cannot compare text with NUL and SQLite can, so a filter such as
``userName eq "\\u0000"`` (an escape, which no byte-level check of the query
string sees) was a 500 on one database and an empty result on the other. The
parser is the one place every filter passes through: SCIM query parameters,
SearchRequests, PATCH value filters and the console's search box.
"""

from __future__ import annotations

import pytest

from scimhub.scim.errors import InvalidFilter, InvalidPath
from scimhub.scim.filter_parser import parse_filter, parse_patch_path


@pytest.mark.parametrize("literal", ['"\\u0000"', '"a\\u0000b"', '"\x00"', '"x\\\\\\u0000"'])
def test_nul_in_a_filter_string_is_invalid_filter(literal: str) -> None:
    with pytest.raises(InvalidFilter, match="U\\+0000"):
        parse_filter(f"userName eq {literal}")
    with pytest.raises(InvalidFilter, match="U\\+0000"):
        parse_filter(f"emails[value co {literal}]")


def test_nul_in_a_patch_value_filter_is_invalid_path() -> None:
    with pytest.raises(InvalidPath, match="U\\+0000"):
        parse_patch_path('emails[value eq "\\u0000"].type')


def test_other_escapes_still_parse() -> None:
    assert str(parse_filter('userName eq "a\\u0001\\"b"')) == 'userName eq "a\\u0001\\"b"'
