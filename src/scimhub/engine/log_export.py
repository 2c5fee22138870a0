"""The provisioning log as CSV, for the console's export and ``scimhub logs --format csv``.

Log entries carry text that came from the source directory or the target (names,
error details), so a cell may start with ``=``, ``+``, ``-`` or ``@`` and a
spreadsheet would run it as a formula (``=HYPERLINK(...)`` sending data away).
Every cell goes through ``safe_cell``, which prefixes such a cell with ``'`` as
OWASP's CSV-injection guidance recommends; nothing is lost, the cell is only
shown as text.

One row per entry, as the console's table shows it; the entry's modified properties
(attribute, old, new) and Entra's steps (step, outcome, reason) are two more cells, each
the JSON list, so that nothing is lost or ambiguous where Entra's own download splits them
into ``ProvisioningLogs_ModifiedProperties`` and ``ProvisioningLogs_ProvisioningSteps``
files joined on the change id (docs/entra.md §2.10). A redacted value is stored as
``[Redact]`` by the cycle; should a ``Redacted`` wrapper reach an export all the same, it
is written as ``[Redact]``, never expanded.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from scimhub.engine.expressions import Redacted

EXPORT_COLUMNS = ["at", "job", "cycle_id", "kind", "identity", "source_id", "target_id",
                  "action", "status", "error_code", "detail", "duration_ms", "modified",
                  "steps"]
#: What a redacted value is shown as everywhere, as in Entra's provisioning log.
REDACTED = "[Redact]"
#: What a spreadsheet treats as the start of a formula (tab and CR too: some strip them first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, with ``'`` in front when it is text a spreadsheet would run as a formula.

    A list or table (modified properties, steps) becomes its JSON text; a redacted value
    becomes ``[Redact]``, wherever it sits.
    """
    if isinstance(value, Redacted):
        return REDACTED
    if isinstance(value, list | tuple | dict):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_hidden)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _hidden(value: Any) -> Any:
    """JSON for what json cannot write: a redacted value is ``[Redact]``, never its content."""
    if isinstance(value, Redacted):
        return REDACTED
    raise TypeError(f"{type(value).__name__} is not JSON")


def write_csv(out: TextIO, entries: Iterable[Mapping[str, Any]],
              columns: list[str] = EXPORT_COLUMNS) -> None:
    """A header row, then one row per entry, every cell neutralised."""
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([[safe_cell(e.get(c)) for c in columns] for e in entries])
