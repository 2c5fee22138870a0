"""The provisioning log as CSV, for the console's export and ``scimhub logs --format csv``.

Log entries carry text that came from the source directory or the target (names,
error details), so a cell may start with ``=``, ``+``, ``-`` or ``@`` and a
spreadsheet would run it as a formula (``=HYPERLINK(...)`` sending data away).
Every cell goes through ``safe_cell``, which prefixes such a cell with ``'`` as
OWASP's CSV-injection guidance recommends; nothing is lost, the cell is only
shown as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

EXPORT_COLUMNS = ["at", "job", "cycle_id", "kind", "identity", "source_id", "target_id",
                  "action", "status", "error_code", "detail", "duration_ms"]
#: What a spreadsheet treats as the start of a formula (tab and CR too: some strip them first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, with ``'`` in front when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(out: TextIO, entries: Iterable[Mapping[str, Any]],
              columns: list[str] = EXPORT_COLUMNS) -> None:
    """A header row, then one row per entry, every cell neutralised."""
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([[safe_cell(e.get(c)) for c in columns] for e in entries])
