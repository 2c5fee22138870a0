"""What the engine last discovered of each job's target schema.

``prov_target_schema`` keeps, per job, the attribute list the last cycle discovered (the
target's ``/Schemas`` and ``/ResourceTypes``) and how the job's mappings bound to it, so that
``scimhub job schema NAME`` can show it without the job file. One new table.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "prov_target_schema",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("discovered", sa.String(32), nullable=False),
        sa.Column("listing", JSON, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("prov_target_schema")
