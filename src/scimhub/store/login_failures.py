"""Failed sign-ins per e-mail and client address, in the database so that a lockout holds
across processes.

Each failure is one row (e-mail, client address, time). The lockout reads three views of
the same rows: this e-mail from this address, this address on any e-mail (password
spraying), and this e-mail from any address (a distributed attack).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.sql import ClauseElement

from scimhub.store.console_tables import login_failures as f
from scimhub.store.database import Database
from scimhub.store.sql import Tx

_INSERT = insert(f).values(email=bindparam("email"), client=bindparam("client"),
                           at=bindparam("at"))
_PAIR = (select(f.c.at).where(f.c.email == bindparam("email"), f.c.client == bindparam("client"),
                              f.c.at > bindparam("since"))
         .order_by(f.c.at))
_BY_CLIENT = (select(f.c.at).where(f.c.client == bindparam("client"), f.c.at > bindparam("since"))
              .order_by(f.c.at))
_BY_EMAIL = (select(f.c.at).where(f.c.email == bindparam("email"), f.c.at > bindparam("since"))
             .order_by(f.c.at))
_CLEAR = delete(f).where(f.c.email == bindparam("email"), f.c.client == bindparam("client"))
_PRUNE = delete(f).where(f.c.at <= bindparam("before"))

#: The width of the ``client`` column.
CLIENT_WIDTH = 64


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_client(address: str | None) -> str:
    """The key an address is throttled under: an IPv4 address as is, an IPv6 address as its
    /64 (one subscriber gets a whole /64, so counting single IPv6 addresses would let one
    attacker try from billions of them), anything else (a Unix socket, a test client) as
    given, cut to the column's width; "" when unknown."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address[:CLIENT_WIDTH]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class Failures:
    """Failure times (Unix seconds, oldest first) as the lockout's three limits see them."""

    pair: list[int]     # this e-mail from this address
    client: list[int]   # this address, any e-mail
    email: list[int]    # this e-mail, any address


class LoginFailureStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def since(self, email: str, client: str | None, since: int) -> Failures:
        """The failures after ``since`` that bear on ``email`` signing in from ``client``."""
        with self.db.read() as tx:
            return _failures(tx, normalise_email(email), normalise_client(client), since)

    def record(self, email: str, client: str | None, at: int, forget_before: int) -> Failures:
        """Record a failure, forget everyone's failures older than ``forget_before``, and
        return the remaining failures that bear on this e-mail and address."""
        email, key = normalise_email(email), normalise_client(client)
        with self.db.write() as tx:
            tx.execute(_PRUNE, {"before": forget_before})
            tx.execute(_INSERT, {"email": email, "client": key, "at": at})
            return _failures(tx, email, key, forget_before)

    def clear(self, email: str, client: str | None) -> None:
        """Forget this e-mail's failures from this address (after a right password from it).

        Only that pair: the address's failures on other e-mails still count against it, and
        failures from other addresses were not made by whoever just proved the password.
        """
        with self.db.write() as tx:
            tx.execute(_CLEAR, {"email": normalise_email(email),
                                "client": normalise_client(client)})


def _failures(tx: Tx, email: str, client: str, since: int) -> Failures:
    def times(statement: ClauseElement, params: dict[str, object]) -> list[int]:
        return [int(r[0]) for r in tx.all(statement, {**params, "since": since})]

    return Failures(
        pair=times(_PAIR, {"email": email, "client": client}),
        # An unknown address is no one address: it is not throttled as one.
        client=times(_BY_CLIENT, {"client": client}) if client else [],
        email=times(_BY_EMAIL, {"email": email}),
    )
