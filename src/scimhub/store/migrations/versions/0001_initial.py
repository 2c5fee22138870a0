"""Tenants, admins, API tokens, users, groups and memberships.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from scimhub.store.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The first revision is the schema as declared in tables.py; later
    # revisions must be explicit operations, never a re-creation.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
