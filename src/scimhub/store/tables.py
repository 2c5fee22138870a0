"""The schema, in SQLAlchemy Core. Alembic migrations create exactly this.

Every row carries ``tenant_id`` and every primary or unique key starts with
it, so uniqueness is per tenant and no index serves two tenants at once.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

#: JSON on SQLite (stored as text), JSONB on PostgreSQL.
Json = JSON().with_variant(JSONB(), "postgresql")
#: BIGSERIAL on PostgreSQL; SQLite only autoincrements an ``INTEGER PRIMARY KEY``.
SerialId = BigInteger().with_variant(Integer(), "sqlite")

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created", String(32), nullable=False),
    Column("deprovision", String(8), nullable=False, server_default="soft"),
    # Counts changes to the tenant's schema extensions (migration 0007): the server
    # rebuilds its cached resource types for the tenant only when it moved.
    Column("schemas_version", Integer, nullable=False, server_default="0"),
    # The tenant's own request limit ("200/s", "off"); NULL: the server's default (0011).
    Column("rate_limit", String(32), nullable=True),
    # Password sign-in refused for every admin but the first, the break-glass (0011).
    Column("require_sso", Boolean, nullable=False, server_default=false()),
)

admins = Table(
    "admins",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("created", String(32), nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("prefix", String(16), primary_key=True),
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("digest", String(64), nullable=False),
    Column("sealed", Text, nullable=True),
    Column("created", String(32), nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

users = Table(
    "users",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("created", String(32), nullable=False),
    Column("last_modified", String(32), nullable=False),
    Column("user_name", Text, nullable=False),
    Column("user_name_ci", Text, nullable=False),
    Column("external_id", Text),
    Column("display_name", Text),
    Column("active", Boolean),
    Column("doc", Json, nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ux_users_user_name", "tenant_id", "user_name_ci", unique=True),
    Index("ix_users_external_id", "tenant_id", "external_id"),
    Index("ix_users_last_modified", "tenant_id", "last_modified"),
)

groups = Table(
    "groups",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("created", String(32), nullable=False),
    Column("last_modified", String(32), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("display_name_ci", Text, nullable=False),
    Column("external_id", Text),
    Column("doc", Json, nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ux_groups_display_name", "tenant_id", "display_name_ci", unique=True),
    Index("ix_groups_external_id", "tenant_id", "external_id"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("group_id", String(36), primary_key=True),
    Column("member_id", String(36), primary_key=True),
    Column("member_type", String(8), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "group_id"], ["groups.tenant_id", "groups.id"], ondelete="CASCADE"
    ),
    # Covering, so that SQLite prefers it over the primary key for "groups of a user".
    Index("ix_group_members_member", "tenant_id", "member_id", "group_id"),
)

#: Tenant-defined schema extensions (issue 11 §3): one RFC 7643 §7 document each.
tenant_schemas = Table(
    "tenant_schemas",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("urn", String(300), primary_key=True),
    Column("resource_type", String(8), nullable=False),
    Column("required", Boolean, nullable=False, server_default=false()),
    Column("doc", Json, nullable=False),
    Column("created", String(32), nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

from scimhub.store import console_tables as _console_tables  # noqa: F401,E402
from scimhub.store import provisioning_tables as _provisioning_tables  # noqa: F401,E402
