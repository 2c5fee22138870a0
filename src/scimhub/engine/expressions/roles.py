"""The app-role functions, on ``[appRoleAssignments]`` as a file directory carries it: a list of
``{"id", "value", "displayName"}`` dicts (a bare string is read as a role whose value and
display name are that string).

The shapes are those of Microsoft's example requests (customize-application-attributes.md,
"Provisioning a role to a SCIM app"):

* ``SingleAppRoleAssignment``: one role, ``{"primary": True, "type", "display", "value"}``; the
  mapping's target (``roles[primary eq "True"].value``, ``.display`` or ``.type``) picks the
  sub-attribute, and where a string is needed the role reads as its ``value``. With several
  assignments "there's no guarantee which role is provisioned": here, the first.
* ``AppRoleAssignmentsComplex``: every role, ``primary`` false, with ``displayName`` as in its
  example; Entra sends them with PATCH ``Add`` only.
* ``AssertiveAppRoleAssignmentsComplex``: the same with ``display``, as in its example; Entra
  sends them with PATCH ``replace``, so roles removed in Entra are removed in the target. Which
  of the two a mapping uses is visible to the mapper as the name of the expression's root call.

A role assigned twice (e.g. through two groups) is listed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from scimhub.engine.expressions.errors import FunctionError
from scimhub.engine.expressions.values import as_list
from scimhub.scim.types import Complex

ROLE_TYPE: Final = "WindowsAzureActiveDirectoryRole"


def single_app_role_assignment(assignments: Any) -> Complex | None:
    roles = _roles(assignments)
    if not roles:
        return None
    value, display = roles[0]
    return {"primary": True, "type": ROLE_TYPE, "display": display, "value": value}


def app_role_assignments_complex(assignments: Any) -> list[Complex] | None:
    return _complex(assignments, "displayName")


def assertive_app_role_assignments_complex(assignments: Any) -> list[Complex] | None:
    return _complex(assignments, "display")


def _complex(assignments: Any, display_key: str) -> list[Complex] | None:
    roles = _roles(assignments)
    if not roles:
        return None
    return [
        {"primary": False, "type": ROLE_TYPE, display_key: display, "value": value}
        for value, display in roles
    ]


def _roles(assignments: Any) -> list[tuple[Any, Any]]:
    """(value, displayName) of each distinct assignment, in order."""
    seen: set[Any] = set()
    roles: list[tuple[Any, Any]] = []
    for assignment in as_list(assignments):
        value: Any
        display: Any
        if isinstance(assignment, str):
            key, value, display = assignment, assignment, assignment
        elif isinstance(assignment, Mapping):
            value = assignment.get("value")
            display = assignment.get("displayName", value)
            key = str(assignment.get("id") or value)
        else:
            raise FunctionError(f"{assignment!r} is not an app role assignment")
        if key not in seen:
            seen.add(key)
            roles.append((value, display))
    return roles
