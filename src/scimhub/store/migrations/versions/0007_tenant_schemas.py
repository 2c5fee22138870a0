"""Tenant-defined schema extensions (issue 11 §3): their documents, and a version per tenant.

``tenant_schemas`` holds one RFC 7643 §7 schema document per extension a tenant
registered, with the resource type it extends and whether the resource type
requires it. ``tenants.schemas_version`` counts the changes to a tenant's set;
the server reads it with the bearer token (one join on a primary key) and
rebuilds its cached resource types only when it moved, so a tenant without
extensions pays nothing more per request, and a change made by another process
(``scimhub schema add``) is seen by the next request.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tenant_schemas",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("urn", sa.String(300), nullable=False),
        sa.Column("resource_type", sa.String(8), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("doc", JSON, nullable=False),
        sa.Column("created", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "urn"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("schemas_version", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("schemas_version")
    op.drop_table("tenant_schemas")
