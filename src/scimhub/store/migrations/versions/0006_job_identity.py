"""Job identity: engine state keyed by a job id, not a job name; tenants' token digest history.

Each job name found in the engine's tables gets one new UUID, and its cycles,
objects, memberships and log entries move to that id. The job's target (URL and
token digest) is taken from its newest cycle. The tables are rebuilt (create,
copy, drop, rename) rather than altered, because their primary keys change and
SQLite cannot alter a primary key in place.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _job_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE")


def upgrade() -> None:
    bind = op.get_bind()
    names: set[str] = set()
    for table in ("prov_jobs", "prov_cycles", "prov_objects", "prov_members", "prov_log"):
        column = "name" if table == "prov_jobs" else "job"
        names |= {str(r[0]) for r in bind.execute(
            sa.text(f"SELECT DISTINCT {column} FROM {table}"))}  # noqa: S608 - fixed names
    ids = {name: str(uuid.uuid4()) for name in sorted(names)}

    op.create_table(
        "prov_jobs_new",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, server_default="enabled"),
        sa.Column("quarantine_reason", sa.Text()),
        sa.Column("quarantined_since", sa.String(32)),
        sa.Column("allow_deletes", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("updated", sa.String(32), nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_until", sa.String(32)),
        sa.Column("target_url", sa.Text()),
        sa.Column("token_digest", sa.String(64)),
        sa.Column("restarted", sa.String(32)),
    )
    old_jobs = {str(r[0]): r for r in bind.execute(sa.text(
        "SELECT name, state, quarantine_reason, quarantined_since, allow_deletes, updated, "
        "lease_owner, lease_until FROM prov_jobs"))}
    insert_job = sa.text(
        "INSERT INTO prov_jobs_new (id, name, state, quarantine_reason, quarantined_since, "
        "allow_deletes, updated, lease_owner, lease_until, target_url, token_digest) VALUES "
        "(:id, :name, :state, :reason, :since, :allow, :updated, :owner, :until, :url, "
        ":digest)")
    newest = sa.text("SELECT target_url, token_digest, started FROM prov_cycles "
                     "WHERE job = :name ORDER BY started DESC LIMIT 1")
    for name, job_id in ids.items():
        cycle = bind.execute(newest, {"name": name}).first()
        row = old_jobs.get(name)
        bind.execute(insert_job, {
            "id": job_id, "name": name,
            "state": row[1] if row else "enabled",
            "reason": row[2] if row else None, "since": row[3] if row else None,
            "allow": bool(row[4]) if row else False,
            "updated": row[5] if row else (cycle[2] if cycle else "1970-01-01T00:00:00Z"),
            "owner": row[6] if row else None, "until": row[7] if row else None,
            "url": cycle[0] if cycle else None, "digest": cycle[1] if cycle else None})
    op.drop_table("prov_jobs")
    op.rename_table("prov_jobs_new", "prov_jobs")
    op.create_index("ux_prov_jobs_name", "prov_jobs", ["name"], unique=True)

    op.create_table(
        "prov_cycles_new",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("started", sa.String(32), nullable=False),
        sa.Column("finished", sa.String(32)),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("summary", JSON),
        sa.Column("target_url", sa.Text()),
        sa.Column("token_digest", sa.String(64)),
        _job_fk(),
    )
    op.create_table(
        "prov_objects_new",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("target_id", sa.String(200)),
        sa.Column("source_hash", sa.String(64)),
        sa.Column("sent", JSON),
        sa.Column("in_scope", sa.Boolean(), nullable=False),
        sa.Column("updated", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retry_after", sa.String(32)),
        sa.PrimaryKeyConstraint("job_id", "kind", "source_id"),
        _job_fk(),
    )
    op.create_table(
        "prov_members_new",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("group_id", sa.String(200), nullable=False),
        sa.Column("member_id", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "group_id", "member_id"),
        _job_fk(),
    )
    op.create_table(
        "prov_log_new",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(36), nullable=False),
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
        _job_fk(),
    )
    # Copy through a join on the new prov_jobs, which maps every old name to its id.
    copies = {
        "prov_cycles": "id, kind, started, finished, fingerprint, summary, target_url, "
                       "token_digest",
        "prov_objects": "kind, source_id, target_id, source_hash, sent, in_scope, updated, "
                        "attempts, retry_after",
        "prov_members": "group_id, member_id",
        "prov_log": "id, cycle_id, at, kind, source_id, target_id, identity, action, status, "
                    "error_code, detail, modified, duration_ms",
    }
    for table, columns in copies.items():
        selected = ", ".join(f"t.{c.strip()}" for c in columns.split(","))
        bind.execute(sa.text(
            f"INSERT INTO {table}_new (job_id, {columns}) "  # noqa: S608 - fixed names
            f"SELECT j.id, {selected} FROM {table} t JOIN prov_jobs j ON j.name = t.job"))
    for table in copies:
        op.drop_table(table)
        op.rename_table(f"{table}_new", table)
    if bind.dialect.name == "postgresql":
        # The renamed serial column keeps its sequence; it must continue after the copied ids.
        bind.execute(sa.text(
            "SELECT setval(pg_get_serial_sequence('prov_log', 'id'), "
            "COALESCE((SELECT MAX(id) FROM prov_log), 0) + 1, false)"))
    op.create_index("ix_prov_cycles_job", "prov_cycles", ["job_id", "started"])
    op.create_index("ix_prov_cycles_token_digest", "prov_cycles", ["token_digest"])
    op.create_index("ix_prov_log_job_at", "prov_log", ["job_id", "at"])
    op.create_index("ix_prov_log_job_status", "prov_log", ["job_id", "status"])
    op.create_index("ix_prov_log_cycle", "prov_log", ["cycle_id"])

    op.create_table(
        "tenant_token_digests",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("issued", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_tenant_token_digests_tenant", "tenant_token_digests", ["tenant_id"])
    bind.execute(sa.text("INSERT INTO tenant_token_digests (digest, tenant_id, issued) "
                         "SELECT digest, tenant_id, created FROM api_tokens"))


def downgrade() -> None:
    raise NotImplementedError("0006 is not reversible: job names are no longer unique keys "
                              "of the engine's state once two jobs have shared a name")
