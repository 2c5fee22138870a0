"""The one place storage reads the time, so meta dates share one format."""

from __future__ import annotations

from datetime import UTC, datetime

from scimhub.scim.resource import format_datetime


def now() -> str:
    return format_datetime(datetime.now(UTC))
