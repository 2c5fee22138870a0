"""What a request was, in words bounded enough for a metric label: its route template, its
SCIM operation and resource type.

Metrics and the request log label requests by these and never by the path itself: a path
carries resource ids, and a 404's path whatever the client typed, so a series per path
would grow without end (and the ids have no place in metrics). The route template comes
from the route Starlette matched (``scope["route"]``), read after the request ran, so
resolving it costs a dictionary lookup rather than a second match.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from starlette.routing import Match, Mount
from starlette.types import Scope

from scimhub.server.hosts import SCIM_PATH

#: The label of a request no route answered: an unknown path, or one refused before
#: routing (an untrusted Host, a NUL).
UNMATCHED: Final = "unmatched"
#: Methods kept as they are in labels; anything else a client invents is "OTHER".
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_RESOURCES: Final = {"Users": "User", "Groups": "Group"}
_DISCOVERY: Final = {"ServiceProviderConfig": "ServiceProviderConfig", "Schemas": "Schema",
                     "ResourceTypes": "ResourceType"}
#: (method, what follows the endpoint) -> SCIM operation, RFC 7644 §3.
_RESOURCE_OPERATIONS: Final = {
    ("GET", ""): "list", ("POST", ""): "create", ("POST", "/.search"): "search",
    ("GET", "/{id}"): "get", ("PUT", "/{id}"): "replace", ("PATCH", "/{id}"): "patch",
    ("DELETE", "/{id}"): "delete",
}


@dataclass(frozen=True, slots=True)
class Operation:
    #: The route's path template (``/scim/v2/Users/{id}``), or :data:`UNMATCHED`.
    route: str
    #: SCIM's name for it (create, get, list, search, replace, patch, delete, discovery),
    #: else what else it is (health, console, metrics, other, unmatched).
    name: str
    #: User, Group, ServiceProviderConfig, Schema, ResourceType; "" when none.
    resource_type: str


def method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


def route_template(scope: Scope) -> str:
    """The template of the route that answered, after the request ran.

    A request stopped by middleware inside the SCIM mount (before its own router ran) left
    the mount as ``scope["route"]``: only then are the mount's routes matched here, once.
    """
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    prefix = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))):]
    if isinstance(route, Mount):
        # The mount's own path is already in root_path. One without routes (static files)
        # answers every path below it.
        if not route.routes:
            return prefix + "/{path}"
        inner = next((r for r in route.routes if r.matches(scope)[0] is not Match.NONE), None)
        path = getattr(inner, "path", None)
        return prefix + path if isinstance(path, str) else UNMATCHED
    path = getattr(route, "path", None)
    return prefix + path if isinstance(path, str) else UNMATCHED


@lru_cache(maxsize=1024)
def classify(method: str, route: str) -> Operation:
    """``method`` as :func:`method_label` gives it and ``route`` a template: both bounded,
    so the cache is too."""
    if route == UNMATCHED:
        return Operation(route, UNMATCHED, "")
    if route.startswith(SCIM_PATH + "/"):
        endpoint, slash, rest = route[len(SCIM_PATH) + 1:].partition("/")
        if endpoint in _RESOURCES:
            name = _RESOURCE_OPERATIONS.get((method, slash + rest), "other")
            return Operation(route, name, _RESOURCES[endpoint])
        if endpoint in _DISCOVERY:
            return Operation(route, "discovery" if method == "GET" else "other",
                             _DISCOVERY[endpoint])
        return Operation(route, "other", "")
    if route == "/healthz":
        return Operation(route, "health", "")
    return Operation(route, "console", "")
