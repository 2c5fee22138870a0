"""Entra's steps in the provisioning log, and the soft delete's start on each known object.

``prov_log.steps`` holds each entry's steps (import, scope, match, action) with their outcome
and reason as JSON; entries written before have none. ``prov_objects.gone_since`` is when an
object left the source (or its scope) and was disabled, so that the hard delete can follow a
configurable delay later (docs/entra.md §1.5, §2.2). Both are nullable additions, so the upgrade
only adds columns (batch mode, for SQLite).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("prov_log") as batch:
        batch.add_column(sa.Column("steps", JSON))
    with op.batch_alter_table("prov_objects") as batch:
        batch.add_column(sa.Column("gone_since", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("prov_objects") as batch:
        batch.drop_column("gone_since")
    with op.batch_alter_table("prov_log") as batch:
        batch.drop_column("steps")
