"""Tenants, admins, API tokens, users, groups and memberships.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _resource_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created", sa.String(32), nullable=False),
        sa.Column("last_modified", sa.String(32), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created", sa.String(32), nullable=False),
        sa.Column("deprovision", sa.String(8), server_default="soft", nullable=False),
    )
    op.create_table(
        "admins",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_admins_tenant_id", "admins", ["tenant_id"])
    op.create_table(
        "api_tokens",
        sa.Column("prefix", sa.String(16), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("created", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_api_tokens_tenant_id", "api_tokens", ["tenant_id"])
    op.create_table(
        "users",
        *_resource_columns(),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("user_name_ci", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text()),
        sa.Column("display_name", sa.Text()),
        sa.Column("active", sa.Boolean()),
        sa.Column("doc", JSON, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ux_users_user_name", "users", ["tenant_id", "user_name_ci"], unique=True)
    op.create_index("ix_users_external_id", "users", ["tenant_id", "external_id"])
    op.create_index("ix_users_last_modified", "users", ["tenant_id", "last_modified"])
    op.create_table(
        "groups",
        *_resource_columns(),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("display_name_ci", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text()),
        sa.Column("doc", JSON, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index(
        "ux_groups_display_name", "groups", ["tenant_id", "display_name_ci"], unique=True
    )
    op.create_index("ix_groups_external_id", "groups", ["tenant_id", "external_id"])
    op.create_table(
        "group_members",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("member_type", sa.String(8), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_id"], ["groups.tenant_id", "groups.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "group_id", "member_id"),
    )
    op.create_index(
        "ix_group_members_member", "group_members", ["tenant_id", "member_id", "group_id"]
    )


def downgrade() -> None:
    for table in ("group_members", "groups", "users", "api_tokens", "admins", "tenants"):
        op.drop_table(table)
