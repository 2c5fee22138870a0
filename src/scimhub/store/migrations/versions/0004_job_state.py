"""Job state: stopped or enabled, quarantine, and the accidental-deletion override.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prov_jobs",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("state", sa.String(12), nullable=False, server_default="enabled"),
        sa.Column("quarantine_reason", sa.Text()),
        sa.Column("quarantined_since", sa.String(32)),
        sa.Column("allow_deletes", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("updated", sa.String(32), nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_until", sa.String(32)),
    )


def downgrade() -> None:
    op.drop_table("prov_jobs")
