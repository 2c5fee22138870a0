"""Failed sign-ins per e-mail, in the database so that a lockout holds across processes."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select

from scimhub.store.console_tables import login_failures as f
from scimhub.store.database import Database

_INSERT = insert(f).values(email=bindparam("email"), at=bindparam("at"))
_SINCE = (select(f.c.at).where(f.c.email == bindparam("email"), f.c.at > bindparam("since"))
          .order_by(f.c.at))
_CLEAR = delete(f).where(f.c.email == bindparam("email"))
_PRUNE = delete(f).where(f.c.at <= bindparam("before"))


def normalise_email(email: str) -> str:
    return email.strip().lower()


class LoginFailureStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def since(self, email: str, since: int) -> list[int]:
        """When ``email`` failed to sign in after ``since``, oldest first."""
        with self.db.read() as tx:
            rows = tx.all(_SINCE, {"email": normalise_email(email), "since": since})
        return [int(r[0]) for r in rows]

    def record(self, email: str, at: int, forget_before: int) -> list[int]:
        """Record a failure, forget everyone's failures older than ``forget_before``,
        and return this e-mail's remaining failures, oldest first."""
        email = normalise_email(email)
        with self.db.write() as tx:
            tx.execute(_PRUNE, {"before": forget_before})
            tx.execute(_INSERT, {"email": email, "at": at})
            rows = tx.all(_SINCE, {"email": email, "since": forget_before})
        return [int(r[0]) for r in rows]

    def clear(self, email: str) -> None:
        with self.db.write() as tx:
            tx.execute(_CLEAR, {"email": normalise_email(email)})
