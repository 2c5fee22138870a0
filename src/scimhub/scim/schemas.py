"""The User, enterprise User and Group schemas of RFC 7643 §4 and §8.7.1."""

from __future__ import annotations

from scimhub.scim.schema import Attribute, ResourceType, Schema
from scimhub.scim.types import CORE_GROUP, CORE_USER, ENTERPRISE_USER


def _multi(name: str, value_type: str = "string", *types: str, **extra: object) -> Attribute:
    """A multi-valued complex attribute of the usual value/display/type/primary shape."""
    subs = (
        Attribute("value", type=value_type),  # type: ignore[arg-type]
        Attribute("display"),
        Attribute("type", canonical_values=types),
        Attribute("primary", type="boolean"),
    )
    return Attribute(name, type="complex", multi_valued=True, sub_attributes=subs, **extra)  # type: ignore[arg-type]


_NAME = Attribute(
    "name",
    type="complex",
    sub_attributes=(
        Attribute("formatted"),
        Attribute("familyName"),
        Attribute("givenName"),
        Attribute("middleName"),
        Attribute("honorificPrefix"),
        Attribute("honorificSuffix"),
    ),
)

_ADDRESSES = Attribute(
    "addresses",
    type="complex",
    multi_valued=True,
    sub_attributes=(
        Attribute("formatted"),
        Attribute("streetAddress"),
        Attribute("locality"),
        Attribute("region"),
        Attribute("postalCode"),
        Attribute("country"),
        Attribute("type", canonical_values=("work", "home", "other")),
        Attribute("primary", type="boolean"),
    ),
)

_GROUPS = Attribute(
    "groups",
    type="complex",
    multi_valued=True,
    mutability="readOnly",
    sub_attributes=(
        Attribute("value", mutability="readOnly"),
        Attribute(
            "$ref", type="reference", mutability="readOnly", reference_types=("User", "Group")
        ),
        Attribute("display", mutability="readOnly"),
        Attribute("type", mutability="readOnly", canonical_values=("direct", "indirect")),
    ),
)

USER_SCHEMA = Schema(
    id=CORE_USER,
    name="User",
    description="User Account",
    attributes=(
        Attribute("userName", required=True, uniqueness="server"),
        _NAME,
        Attribute("displayName"),
        Attribute("nickName"),
        Attribute("profileUrl", type="reference", reference_types=("external",)),
        Attribute("title"),
        Attribute("userType"),
        Attribute("preferredLanguage"),
        Attribute("locale"),
        Attribute("timezone"),
        Attribute("active", type="boolean"),
        Attribute("password", mutability="writeOnly", returned="never"),
        _multi("emails", "string", "work", "home", "other"),
        _multi("phoneNumbers", "string", "work", "home", "mobile", "fax", "pager", "other"),
        _multi("ims", "string", "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        _multi("photos", "reference", "photo", "thumbnail"),
        _ADDRESSES,
        _GROUPS,
        _multi("entitlements"),
        _multi("roles"),
        _multi("x509Certificates", "binary"),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    id=ENTERPRISE_USER,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        Attribute("employeeNumber"),
        Attribute("costCenter"),
        Attribute("organization"),
        Attribute("division"),
        Attribute("department"),
        Attribute(
            "manager",
            type="complex",
            sub_attributes=(
                Attribute("value"),
                Attribute("$ref", type="reference", reference_types=("User",)),
                Attribute("displayName", mutability="readOnly"),
            ),
        ),
    ),
)

GROUP_SCHEMA = Schema(
    id=CORE_GROUP,
    name="Group",
    description="Group",
    attributes=(
        Attribute("displayName", required=True, uniqueness="server"),
        Attribute(
            "members",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                Attribute("value", mutability="immutable"),
                Attribute(
                    "$ref", type="reference", mutability="immutable",
                    reference_types=("User", "Group"),
                ),
                Attribute("display", mutability="readOnly"),
                Attribute("type", mutability="immutable", canonical_values=("User", "Group")),
            ),
        ),
    ),
)

USER = ResourceType(
    name="User",
    endpoint="/Users",
    description="User Account",
    schema=USER_SCHEMA,
    extensions=(ENTERPRISE_USER_SCHEMA,),
)

GROUP = ResourceType(
    name="Group",
    endpoint="/Groups",
    description="Group",
    schema=GROUP_SCHEMA,
)

RESOURCE_TYPES: tuple[ResourceType, ...] = (USER, GROUP)
SCHEMAS: tuple[Schema, ...] = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA)
