"""The provisioning engine: object state, memberships sent, cycles, provisioning log.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "prov_cycles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("started", sa.String(32), nullable=False),
        sa.Column("finished", sa.String(32)),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("summary", JSON),
        sa.Column("target_url", sa.Text()),
        sa.Column("token_digest", sa.String(64)),
    )
    op.create_index("ix_prov_cycles_job", "prov_cycles", ["job", "started"])
    op.create_table(
        "prov_objects",
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("target_id", sa.String(200)),
        sa.Column("source_hash", sa.String(64)),
        sa.Column("sent", JSON),
        sa.Column("in_scope", sa.Boolean(), nullable=False),
        sa.Column("updated", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retry_after", sa.String(32)),
        sa.PrimaryKeyConstraint("job", "kind", "source_id"),
    )
    op.create_table(
        "prov_members",
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("group_id", sa.String(200), nullable=False),
        sa.Column("member_id", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("job", "group_id", "member_id"),
    )
    op.create_table(
        "prov_log",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source_id", sa.String(200)),
        sa.Column("target_id", sa.String(200)),
        sa.Column("identity", sa.Text()),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error_code", sa.String(100)),
        sa.Column("detail", sa.Text()),
        sa.Column("modified", JSON),
        sa.Column("duration_ms", sa.Integer()),
    )
    op.create_index("ix_prov_log_job_at", "prov_log", ["job", "at"])
    op.create_index("ix_prov_log_job_status", "prov_log", ["job", "status"])
    op.create_index("ix_prov_log_cycle", "prov_log", ["cycle_id"])


def downgrade() -> None:
    for table in ("prov_log", "prov_members", "prov_objects", "prov_cycles"):
        op.drop_table(table)
