"""Stored dateTimes are compared and sorted as strings: their canonical form must keep four-digit
years (``strftime("%Y")`` writes year 999 as ``999``, which sorts after ``1000``)."""

from __future__ import annotations

import pytest

from scimhub.scim.errors import InvalidValue
from scimhub.scim.resource import normalize_datetime


@pytest.mark.parametrize(("given", "canonical"), [
    ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
    ("0999-12-31T23:59:59Z", "0999-12-31T23:59:59.000000Z"),
    ("9999-12-31T23:59", "9999-12-31T23:59:00.000000Z"),
    ("2024-02-29T12:00:00+02:00", "2024-02-29T10:00:00.000000Z"),
])
def test_canonical_form_has_four_digit_years(given: str, canonical: str) -> None:
    assert normalize_datetime(given) == canonical


def test_years_sort_as_strings() -> None:
    early, late = normalize_datetime("0999-01-01T00:00Z"), normalize_datetime("1000-01-01T00:00Z")
    assert early < late


@pytest.mark.parametrize("given", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-01:00"])
def test_outside_years_1_to_9999_in_utc_is_refused(given: str) -> None:
    with pytest.raises(InvalidValue):
        normalize_datetime(given)
