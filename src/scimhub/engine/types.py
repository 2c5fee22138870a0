"""The engine's vocabulary: names for what its ``dict[str, Any]`` values hold.

Aliases, not new types (free at run time, no casts): they tell a reader which of the
engine's many JSON objects a function takes. What the engine sends and reads back over
SCIM is named in ``scimhub.scim.types`` (``Resource``, ``PatchOperationBody``, ...).
"""

from __future__ import annotations

from typing import Any

#: A directory entry as a source yields it: Entra attribute name (``objectId``,
#: ``userPrincipalName``, ``members`` for a group) -> value (docs/entra.md §2.1).
SourceObject = dict[str, Any]
#: Target attribute (a SCIM path such as ``name.givenName``) -> the value the mappings give
#: it (docs/entra.md §2.5.1); None means "clear it".
Desired = dict[str, Any]
#: An attribute mapping as written in a job's configuration (``target``, ``source`` or
#: ``expression``, ``match``, ...), before it is parsed into ``AttributeMapping``.
MappingSpec = dict[str, Any]
#: A dry run's planned write: action, kind, ids, identity and the modified properties.
PlannedWrite = dict[str, Any]
#: A JSON object shown to a person (``--json`` output, the console): a report, a summary.
Report = dict[str, Any]
