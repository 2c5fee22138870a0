"""The provisioning engine's tables: what it knows of each object, its cycles and its log.

What the engine knows (source id → target id, a hash of the source object it
last provisioned, the attributes it last sent) is what lets an incremental
cycle touch only what changed, and a re-run with nothing changed send nothing.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from scimhub.store.tables import Json, SerialId, metadata

prov_cycles = Table(
    "prov_cycles",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("job", String(200), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("started", String(32), nullable=False),
    Column("finished", String(32)),
    Column("fingerprint", String(64), nullable=False),
    Column("summary", Json),
    #: The target, and the SHA-256 of its token: the console finds a tenant's jobs by
    #: matching it against the tenant's API token digest, without storing the token.
    Column("target_url", Text),
    Column("token_digest", String(64)),
    Index("ix_prov_cycles_job", "job", "started"),
)

prov_objects = Table(
    "prov_objects",
    metadata,
    Column("job", String(200), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("source_id", String(200), primary_key=True),
    Column("target_id", String(200)),
    Column("source_hash", String(64)),
    Column("sent", Json),
    Column("in_scope", Boolean, nullable=False),
    Column("updated", String(32), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("retry_after", String(32)),
)

prov_members = Table(
    "prov_members",
    metadata,
    Column("job", String(200), primary_key=True),
    Column("group_id", String(200), primary_key=True),
    Column("member_id", String(200), primary_key=True),
)

prov_log = Table(
    "prov_log",
    metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("job", String(200), nullable=False),
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
    Index("ix_prov_log_job_at", "job", "at"),
    Index("ix_prov_log_job_status", "job", "status"),
    Index("ix_prov_log_cycle", "cycle_id"),
)

prov_jobs = Table(
    "prov_jobs",
    metadata,
    Column("name", String(200), primary_key=True),
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
)
