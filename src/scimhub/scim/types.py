"""The vocabulary the rest of scimhub is written in."""

from __future__ import annotations

from typing import Any, Literal, NewType, NotRequired, TypedDict

TenantId = NewType("TenantId", str)
ResourceId = NewType("ResourceId", str)

# The names below are aliases, not new types: a ``Resource`` is a ``Document`` to mypy. They
# say what a ``dict[str, Any]`` holds, at no cost at run time, where a TypedDict would force a
# cast on every JSON body read from the wire.

#: Any SCIM JSON object: a request or response body, a discovery document, a message.
Document = dict[str, Any]
#: A User or Group resource as JSON (``schemas``, ``id``, ``meta``, attributes): what clients
#: send, what the store keeps and what we return.
Resource = dict[str, Any]
#: The value of a complex attribute, one element of a multi-valued one, or an extension's
#: block: sub-attribute name -> value.
Complex = dict[str, Any]
#: An ``Error`` message body (RFC 7644 §3.12): ``schemas``, ``status``, ``scimType``, ``detail``.
ErrorBody = dict[str, Any]
#: The resource endpoints (RFC 7644 §3.2).
Endpoint = Literal["Users", "Groups"]
#: A PATCH operation's ``op``, lower-cased (Entra sends ``"Replace"``: docs/entra.md §1.4).
PatchOpName = Literal["add", "replace", "remove"]


class PatchOperationBody(TypedDict):
    """One element of a PatchOp message's ``Operations`` as sent (RFC 7644 §3.5.2). A TypedDict
    because the engine builds these itself; what a client sends is parsed into
    ``scimhub.scim.patch.PatchOperation`` instead."""

    op: PatchOpName
    path: NotRequired[str]
    value: NotRequired[Any]

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
