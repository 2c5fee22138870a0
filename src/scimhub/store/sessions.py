"""Console sign-in sessions, kept server-side.

The browser holds a random 256-bit id; the database holds only its SHA-256,
the admin and tenant it belongs to, and its expiry. A session ends at
``expires`` (absolute) or after ``idle`` seconds without a request.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select, update

from scimhub.scim.types import TenantId
from scimhub.security import token_digest
from scimhub.store.console_tables import console_sessions as s
from scimhub.store.database import Database
from scimhub.store.sql import Tx
from scimhub.store.tables import admins, tenants

Clock = Callable[[], float]
#: Runs inside the change's transaction (to record it in the same commit).
Then = Callable[[Tx], None] | None

_INSERT = insert(s).values(
    id_hash=bindparam("id_hash"), tenant_id=bindparam("tenant_id"),
    admin_id=bindparam("admin_id"), created=bindparam("now"), last_seen=bindparam("now"),
    expires=bindparam("expires"),
)
_FIND = (
    select(s.c.tenant_id, tenants.c.name, s.c.admin_id, admins.c.email, s.c.last_seen)
    .select_from(s.join(admins, admins.c.id == s.c.admin_id)
                 .join(tenants, tenants.c.id == s.c.tenant_id))
    .where(s.c.id_hash == bindparam("id_hash"), s.c.expires > bindparam("now"),
           s.c.last_seen > bindparam("idle_since"), admins.c.tenant_id == s.c.tenant_id)
)
_TOUCH = update(s).where(s.c.id_hash == bindparam("id_hash")).values(last_seen=bindparam("now"))
_END = delete(s).where(s.c.id_hash == bindparam("id_hash"))
_PRUNE = delete(s).where(s.c.expires <= bindparam("now"))
_END_OTHERS = delete(s).where(s.c.admin_id == bindparam("admin_id"),
                              s.c.id_hash != bindparam("keep"))
_COUNT_OTHERS = select(func.count()).select_from(s).where(
    s.c.admin_id == bindparam("admin_id"), s.c.id_hash != bindparam("keep"),
    s.c.expires > bindparam("now"), s.c.last_seen > bindparam("idle_since"))


def end_other_sessions(tx: Tx, admin_id: str, keep_session: str) -> int:
    """Inside ``tx``: end every session of the admin but ``keep_session`` (the browser that
    asked); how many ended. Shared by "Sign out other sessions" and a password change."""
    return tx.rowcount(_END_OTHERS, {"admin_id": admin_id, "keep": token_digest(keep_session)})


@dataclass(frozen=True)
class SessionInfo:
    tenant_id: TenantId
    tenant_name: str
    admin_id: str
    email: str


class SessionStore:
    def __init__(self, db: Database, lifetime: int = 8 * 3600, idle: int = 3600,
                 clock: Clock = time.time) -> None:
        self.db = db
        self.lifetime = lifetime
        self.idle = idle
        self.clock = clock

    def start(self, tenant_id: TenantId, admin_id: str) -> str:
        """A new session's id, to be sent to the browser and never stored."""
        session_id = secrets.token_urlsafe(32)
        now = int(self.clock())
        with self.db.write() as tx:
            tx.execute(_PRUNE, {"now": now})
            tx.execute(_INSERT, {"id_hash": token_digest(session_id), "tenant_id": tenant_id,
                                 "admin_id": admin_id, "now": now,
                                 "expires": now + self.lifetime})
        return session_id

    def find(self, session_id: str) -> SessionInfo | None:
        """The live session with this id; marks it as used (at most once a minute)."""
        now = int(self.clock())
        digest = token_digest(session_id)
        with self.db.read() as tx:
            row = tx.first(_FIND, {"id_hash": digest, "now": now,
                                   "idle_since": now - self.idle})
        if row is None:
            return None
        if now - int(row[4]) >= 60:
            with self.db.write() as tx:
                tx.execute(_TOUCH, {"id_hash": digest, "now": now})
        return SessionInfo(TenantId(str(row[0])), str(row[1]), str(row[2]), str(row[3]))

    def end(self, session_id: str) -> None:
        with self.db.write() as tx:
            tx.execute(_END, {"id_hash": token_digest(session_id)})

    def end_others(self, admin_id: str, keep_session: str, then: Then = None) -> int:
        """Sign the admin out everywhere but ``keep_session``; returns how many sessions
        ended. They end at once: ``find`` reads the row on every request."""
        with self.db.write() as tx:
            ended = end_other_sessions(tx, admin_id, keep_session)
            if then is not None:
                then(tx)
        return ended

    def count_others(self, admin_id: str, keep_session: str) -> int:
        """The admin's other live sessions (what "Sign out other sessions" would end)."""
        now = int(self.clock())
        with self.db.read() as tx:
            return int(tx.scalar(_COUNT_OTHERS, {
                "admin_id": admin_id, "keep": token_digest(keep_session), "now": now,
                "idle_since": now - self.idle}))
