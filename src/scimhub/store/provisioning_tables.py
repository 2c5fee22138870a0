"""The provisioning engine's tables: its jobs, what it knows of each object, its cycles, its log.

What the engine knows (source id → target id, a hash of the source object it
last provisioned, the attributes it last sent) is what lets an incremental
cycle touch only what changed, and a re-run with nothing changed send nothing.

Everything a job knows hangs off the job's id, not its name: two job files that
happen to use the same name must never share links, escrow or log entries, so
the name is only a unique, human way to find the id (``scimhub job rename``
changes it and keeps the id).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from scimhub.store.tables import Json, SerialId, metadata

prov_jobs = Table(
    "prov_jobs",
    metadata,
    #: A UUID, given the first time a job name runs; every other engine table keys by it.
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    #: "enabled" or "stopped" (scimhub job stop).
    Column("state", String(12), nullable=False, server_default="enabled"),
    Column("quarantine_reason", Text),
    Column("quarantined_since", String(32)),
    #: Set by scimhub job allow-deletes: the next cycle may exceed the deletion threshold.
    Column("allow_deletes", Boolean, nullable=False, server_default="0"),
    Column("updated", String(32), nullable=False),
    #: Which engine process runs the job, until when: a lease, renewed while it runs, so a
    #: job runs in one place at a time and a dead worker's job is taken over when it expires.
    Column("lease_owner", String(100)),
    Column("lease_until", String(32)),
    #: The target the job's state belongs to: its URL and the SHA-256 of the token it last
    #: authenticated with. A job file of the same name pointing elsewhere is refused.
    Column("target_url", Text),
    Column("token_digest", String(64)),
    #: Set by scimhub job restart: cycles before it do not count when deciding that the
    #: next cycle is incremental (they stay, so their log entries keep their tenant).
    Column("restarted", String(32)),
    Index("ux_prov_jobs_name", "name", unique=True),
)

prov_cycles = Table(
    "prov_cycles",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("job_id", String(36), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("started", String(32), nullable=False),
    Column("finished", String(32)),
    Column("fingerprint", String(64), nullable=False),
    Column("summary", Json),
    #: The target, and the SHA-256 of the token this cycle authenticated with: the console
    #: shows a tenant exactly the cycles (and their log entries) whose digest is one of the
    #: tenant's tokens, without storing any token.
    Column("target_url", Text),
    Column("token_digest", String(64)),
    ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE"),
    Index("ix_prov_cycles_job", "job_id", "started"),
    Index("ix_prov_cycles_token_digest", "token_digest"),
)

prov_objects = Table(
    "prov_objects",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("source_id", String(200), primary_key=True),
    Column("target_id", String(200)),
    Column("source_hash", String(64)),
    Column("sent", Json),
    Column("in_scope", Boolean, nullable=False),
    Column("updated", String(32), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("retry_after", String(32)),
    #: When the object left the source (or its scope) and was disabled: the hard delete
    #: follows a configurable delay later, as Entra's soft delete does (migration 0008).
    Column("gone_since", String(32)),
    ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE"),
)

prov_members = Table(
    "prov_members",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("group_id", String(200), primary_key=True),
    Column("member_id", String(200), primary_key=True),
    ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE"),
)

prov_log = Table(
    "prov_log",
    metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("job_id", String(36), nullable=False),
    Column("cycle_id", String(36), nullable=False),
    Column("at", String(32), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("source_id", String(200)),
    Column("target_id", String(200)),
    Column("identity", Text),
    Column("action", String(16), nullable=False),
    Column("status", String(10), nullable=False),
    Column("error_code", String(100)),
    Column("detail", Text),
    Column("modified", Json),
    Column("duration_ms", Integer),
    #: Entra's steps (import, scope, match, action) as a JSON list of
    #: {"step", "outcome", "reason"} (migration 0008; older entries have none).
    Column("steps", Json),
    ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE"),
    Index("ix_prov_log_job_at", "job_id", "at"),
    Index("ix_prov_log_job_status", "job_id", "status"),
    Index("ix_prov_log_cycle", "cycle_id"),
)

#: A delta-capable source's state per job (migration 0009): the watermark to ask for changes
#: from, and the identity of the source it belongs to (its type and a fingerprint of its
#: ``[source]`` table without secrets), so that a job pointed at another directory starts
#: over with a complete read instead of applying that directory's changes to this mirror.
prov_source = Table(
    "prov_source",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("source_type", String(20), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    #: Opaque to the engine: what the source gave to ask from next time.
    Column("watermark", Text),
    Column("updated", String(32), nullable=False),
    ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE"),
)

#: The engine's mirror of a delta-capable source: every object as last read (a delta names
#: only what changed, and the cycle runs over the whole directory), one row per object so
#: that a delta saves only the rows it changed.
prov_source_objects = Table(
    "prov_source_objects",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("source_id", String(200), primary_key=True),
    Column("data", Json, nullable=False),
    ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE"),
)

#: Every API token digest a tenant was ever issued, revoked ones included. Authentication
#: never reads it (only ``api_tokens``, where a reset deletes the old token), so a revoked
#: token can never sign in again; the console reads it so that the provisioning history
#: written with a tenant's old token stays the tenant's after ``token reset``.
tenant_token_digests = Table(
    "tenant_token_digests",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("issued", String(32), nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_tenant_token_digests_tenant", "tenant_id"),
)


#: What the engine last discovered of each job's target (its attribute list and how the
#: job's mappings bound to it), for ``scimhub job schema NAME`` without the job file.
prov_target_schema = Table(
    "prov_target_schema",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("discovered", String(32), nullable=False),
    Column("listing", Json, nullable=False),
    ForeignKeyConstraint(["job_id"], ["prov_jobs.id"], ondelete="CASCADE"),
)
