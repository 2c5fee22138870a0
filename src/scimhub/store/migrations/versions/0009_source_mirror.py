"""The mirror of a delta-capable source and its watermark, per job.

``prov_source`` holds a job's watermark (opaque text from the source) with the identity of the
source it belongs to (type and a fingerprint of the ``[source]`` table without secrets);
``prov_source_objects`` holds every object of the source as last read, so that an incremental
cycle applies a delta (only what changed) to it and runs over the whole directory. Two new
tables: nothing existing changes.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _job_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "prov_source",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("source_type", sa.String(20), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("watermark", sa.Text()),
        sa.Column("updated", sa.String(32), nullable=False),
        _job_fk(),
    )
    op.create_table(
        "prov_source_objects",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("source_id", sa.String(200), primary_key=True),
        sa.Column("data", JSON, nullable=False),
        _job_fk(),
    )


def downgrade() -> None:
    op.drop_table("prov_source_objects")
    op.drop_table("prov_source")
