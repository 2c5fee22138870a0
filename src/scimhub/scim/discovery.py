"""``/ServiceProviderConfig``, ``/Schemas`` and ``/ResourceTypes`` (RFC 7644 §4).

They describe exactly what the server does, because clients (Entra's schema
discovery, scim2-tester) decide what to send from them.
"""

from __future__ import annotations

from scimhub.scim.extensions import BUILTIN, TenantSchemas
from scimhub.scim.limits import Limits
from scimhub.scim.schema import Schema
from scimhub.scim.types import SCHEMA, SERVICE_PROVIDER_CONFIG, Document


def service_provider_config(base_url: str, limits: Limits) -> Document:
    """RFC 7643 §5, advertising the limits it has fields for (``filter.maxResults``,
    ``pagination.maxPageSize``). The others (values per attribute, PATCH operations and
    work, filter size, body size) are documented in the README and named in the error
    that enforces them: a namespaced extension member here would make strict clients
    refuse the whole document (scim2-models forbids members RFC 7643 does not define)."""
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://github.com/scimhub/scimhub#readme",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": limits.max_results},
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": limits.default_count,
            "maxPageSize": limits.max_results,
        },
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "API token",
                "description": "The tenant's API token, sent as 'Authorization: Bearer <token>'",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def schema_document(schema: Schema, base_url: str) -> Document:
    return {
        "schemas": [SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": [a.to_document() for a in schema.attributes],
        "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema.id}"},
    }


def schema_documents(base_url: str, tenant: TenantSchemas = BUILTIN) -> list[Document]:
    """The built-in schemas and the tenant's own extensions (``scim/extensions.py``)."""
    return [schema_document(s, base_url) for s in tenant.schemas]


def resource_type_documents(base_url: str, tenant: TenantSchemas = BUILTIN
                            ) -> list[Document]:
    """User and Group with the tenant's extensions in ``schemaExtensions``."""
    return [rt.to_document(base_url) for rt in tenant.resource_types]
