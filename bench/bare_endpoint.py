"""A bare endpoint: the least a server can do for the Entra workload. NOT a SCIM server.

This is the baseline ``bench/compare.py --versus-bare`` measures scimhub against (issue 14):
JSON in, one indexed lookup or one committed write, JSON out, behind one constant-time
bearer-token compare. It implements exactly the requests ``bench/entra_workload.py`` sends
(and the GETs its end-state verification reads) and nothing else: no schema validation, no
tenants, no audit log, no ETags, no filter language beyond ``attr eq "value"``, no PATCH
beyond the three paths the workload uses. A figure for scimhub only means something beside
this one measured on the same machine in the same run, so it runs under the same uvicorn
settings as ``scimhub serve`` (uvloop, httptools, one worker unless ``--workers``) and on
the same database settings (SQLite: WAL, synchronous=NORMAL, foreign keys, one connection
used inline on the event loop as scimhub does for cheap work; PostgreSQL: psycopg 3 and a
psycopg_pool pool, one round trip per statement).

    SCIM_TOKEN=secret .venv/bin/python bench/bare_endpoint.py --port 8100 \\
        --database sqlite:////tmp/bare.db
    SCIM_TOKEN=secret .venv/bin/python bench/bare_endpoint.py --port 8100 --workers 2 \\
        --database postgresql://postgres@127.0.0.1:5432/bare

PostgreSQL needs psycopg-pool (in the ``bench`` extra; not one of scimhub's own dependencies).
"""

from __future__ import annotations

import argparse
import hmac
import os
import re
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TOKEN_ENV = "SCIM_TOKEN"  # noqa: S105 (the variable's name, not a secret)
DATABASE_ENV = "BARE_DATABASE_URL"
POOL_ENV = "BARE_POOL_SIZE"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"
EQ_FILTER = re.compile(r'^(\w+) eq "([^"]*)"$')
MEMBER_PATH = re.compile(r'^members\[value eq "([^"]+)"\]$')
EMAIL_PATH = 'emails[type eq "work"].value'

# Both databases take the same statements; only the placeholder and the sequence differ.
SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS users (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    "user_name TEXT NOT NULL UNIQUE, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS groups_ (id TEXT PRIMARY KEY, "
    "display_name TEXT NOT NULL UNIQUE, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS members (group_id TEXT NOT NULL REFERENCES groups_(id), "
    "user_id TEXT NOT NULL REFERENCES users(id), PRIMARY KEY (group_id, user_id))",
)
POSTGRES_DDL = tuple(s.replace("seq INTEGER PRIMARY KEY", "seq BIGSERIAL PRIMARY KEY")
                     for s in SQLITE_DDL)


class BadRequest(Exception):
    """Input outside what the workload sends: answered 400, never 500."""


class Store(Protocol):
    """The handful of operations the workload needs; one statement or one transaction each."""

    async def user_by_name(self, name: str) -> bytes | None: ...
    async def insert_user(self, rid: str, name: str, body: bytes) -> bool: ...
    async def user(self, rid: str) -> bytes | None: ...
    async def update_user(self, rid: str, change: Callable[[bytes], bytes]) -> bytes | None: ...
    async def users_page(self, offset: int, count: int) -> tuple[int, list[bytes]]: ...
    async def group_by_name(self, name: str) -> bytes | None: ...
    async def insert_group(self, rid: str, name: str, body: bytes) -> bool: ...
    async def group_members(self, rid: str) -> tuple[bytes, list[str]] | None: ...
    async def change_members(self, rid: str, add: list[str], remove: list[str]) -> bool: ...
    async def close(self) -> None: ...


# --------------------------------------------------------------------------- SQLite


class SqliteStore:
    """One connection, used inline on the event loop: each call is a few indexed statements."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       "busy_timeout=10000"):
            self.db.execute(f"PRAGMA {pragma}")

    def create_schema(self) -> None:
        for statement in SQLITE_DDL:
            self.db.execute(statement)

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        row = self.db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    async def user_by_name(self, name: str) -> bytes | None:
        body = self._one("SELECT body FROM users WHERE user_name = ?", (name,))
        return None if body is None else body.encode()

    async def insert_user(self, rid: str, name: str, body: bytes) -> bool:
        try:
            self.db.execute("INSERT INTO users (id, user_name, body) VALUES (?, ?, ?)",
                            (rid, name, body.decode()))
        except sqlite3.IntegrityError:
            return False
        return True

    async def user(self, rid: str) -> bytes | None:
        body = self._one("SELECT body FROM users WHERE id = ?", (rid,))
        return None if body is None else body.encode()

    async def update_user(self, rid: str, change: Callable[[bytes], bytes]) -> bytes | None:
        self.db.execute("BEGIN IMMEDIATE")  # another worker process may write the same row
        try:
            body = self._one("SELECT body FROM users WHERE id = ?", (rid,))
            if body is None:
                self.db.execute("ROLLBACK")
                return None
            new = change(body.encode())
            self.db.execute("UPDATE users SET body = ? WHERE id = ?", (new.decode(), rid))
            self.db.execute("COMMIT")
            return new
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    async def users_page(self, offset: int, count: int) -> tuple[int, list[bytes]]:
        total = self._one("SELECT count(*) FROM users", ())
        rows = self.db.execute("SELECT body FROM users ORDER BY seq LIMIT ? OFFSET ?",
                               (count, offset)).fetchall()
        return total, [r[0].encode() for r in rows]

    async def group_by_name(self, name: str) -> bytes | None:
        body = self._one("SELECT body FROM groups_ WHERE display_name = ?", (name,))
        return None if body is None else body.encode()

    async def insert_group(self, rid: str, name: str, body: bytes) -> bool:
        try:
            self.db.execute("INSERT INTO groups_ (id, display_name, body) VALUES (?, ?, ?)",
                            (rid, name, body.decode()))
        except sqlite3.IntegrityError:
            return False
        return True

    async def group_members(self, rid: str) -> tuple[bytes, list[str]] | None:
        body = self._one("SELECT body FROM groups_ WHERE id = ?", (rid,))
        if body is None:
            return None
        rows = self.db.execute("SELECT user_id FROM members WHERE group_id = ?", (rid,))
        return body.encode(), [r[0] for r in rows]

    async def change_members(self, rid: str, add: list[str], remove: list[str]) -> bool:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self._one("SELECT 1 FROM groups_ WHERE id = ?", (rid,)) is None:
                self.db.execute("ROLLBACK")
                return False
            self.db.executemany("INSERT OR IGNORE INTO members VALUES (?, ?)",
                                [(rid, u) for u in add])
            self.db.executemany("DELETE FROM members WHERE group_id = ? AND user_id = ?",
                                [(rid, u) for u in remove])
            self.db.execute("COMMIT")
            return True
        except sqlite3.IntegrityError:
            self.db.execute("ROLLBACK")
            raise BadRequest("unknown member id") from None
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        self.db.close()


# --------------------------------------------------------------------------- PostgreSQL


class PostgresStore:
    """An async psycopg_pool pool; each call is one statement or one short transaction."""

    def __init__(self, url: str, size: int) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(url, min_size=size, max_size=size, open=False)

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def _one(self, sql: str, params: Sequence[Any]) -> Any:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def user_by_name(self, name: str) -> bytes | None:
        body = await self._one("SELECT body FROM users WHERE user_name = %s", (name,))
        return None if body is None else body.encode()

    async def insert_user(self, rid: str, name: str, body: bytes) -> bool:
        return await self._one(
            "INSERT INTO users (id, user_name, body) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1", (rid, name, body.decode())) is not None

    async def user(self, rid: str) -> bytes | None:
        body = await self._one("SELECT body FROM users WHERE id = %s", (rid,))
        return None if body is None else body.encode()

    async def update_user(self, rid: str, change: Callable[[bytes], bytes]) -> bytes | None:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT body FROM users WHERE id = %s FOR UPDATE", (rid,))
            row = await cur.fetchone()
            if row is None:
                return None
            new = change(row[0].encode())
            await conn.execute("UPDATE users SET body = %s WHERE id = %s", (new.decode(), rid))
            return new

    async def users_page(self, offset: int, count: int) -> tuple[int, list[bytes]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM users")
            total = (await cur.fetchone() or (0,))[0]
            cur = await conn.execute("SELECT body FROM users ORDER BY seq LIMIT %s OFFSET %s",
                                     (count, offset))
            rows = await cur.fetchall()
        return total, [r[0].encode() for r in rows]

    async def group_by_name(self, name: str) -> bytes | None:
        body = await self._one("SELECT body FROM groups_ WHERE display_name = %s", (name,))
        return None if body is None else body.encode()

    async def insert_group(self, rid: str, name: str, body: bytes) -> bool:
        return await self._one(
            "INSERT INTO groups_ (id, display_name, body) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1", (rid, name, body.decode())) is not None

    async def group_members(self, rid: str) -> tuple[bytes, list[str]] | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT body FROM groups_ WHERE id = %s", (rid,))
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute("SELECT user_id FROM members WHERE group_id = %s", (rid,))
            return row[0].encode(), [r[0] for r in await cur.fetchall()]

    async def change_members(self, rid: str, add: list[str], remove: list[str]) -> bool:
        import psycopg

        try:
            async with self.pool.connection() as conn, conn.transaction():
                cur = await conn.execute("SELECT 1 FROM groups_ WHERE id = %s FOR UPDATE",
                                         (rid,))
                if await cur.fetchone() is None:
                    return False
                if add:
                    await conn.execute(
                        "INSERT INTO members SELECT %s, u FROM unnest(%s::text[]) AS u "
                        "ON CONFLICT DO NOTHING", (rid, add))
                if remove:
                    await conn.execute(
                        "DELETE FROM members WHERE group_id = %s AND user_id = ANY(%s)",
                        (rid, remove))
                return True
        except psycopg.errors.ForeignKeyViolation:
            raise BadRequest("unknown member id") from None

    async def close(self) -> None:
        await self.pool.close()


def create_schema_postgres(url: str) -> None:
    """Once, in the parent, before the workers start (CREATE IF NOT EXISTS races otherwise)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in POSTGRES_DDL:
            conn.execute(statement)


# --------------------------------------------------------------------------- HTTP


def scim(body: bytes, status: int = 200) -> Response:
    return Response(body, status, media_type=SCIM_JSON)


def error(status: int, detail: str) -> Response:
    return scim(orjson.dumps({"schemas": [ERROR_SCHEMA], "status": str(status),
                              "detail": detail}), status)


def list_response(resources: list[bytes], total: int, start: int) -> Response:
    """Splice stored JSON into the envelope as bytes: no parse and re-dump per resource."""
    head = (b'{"schemas":["' + LIST_SCHEMA.encode() + b'"],"totalResults":'
            + str(total).encode() + b',"startIndex":' + str(start).encode()
            + b',"itemsPerPage":' + str(len(resources)).encode() + b',"Resources":[')
    return scim(head + b",".join(resources) + b"]}")


Handler = Callable[[Request, Store], Awaitable[Response]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Bearer check (one constant-time compare) and bad input as 400, around a handler."""

    async def wrapped(request: Request) -> Response:
        expected: bytes = request.app.state.auth
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return error(401, "bad or missing bearer token")
        try:
            return await handler(request, request.app.state.store)
        except (BadRequest, orjson.JSONDecodeError, KeyError, TypeError, ValueError,
                AttributeError) as exc:
            return error(400, f"{type(exc).__name__}: {exc}")

    return wrapped


def eq_filter(request: Request, attribute: str) -> str | None:
    text = request.query_params.get("filter")
    if text is None:
        return None
    match = EQ_FILTER.match(text)
    if match is None or match[1] != attribute:
        raise BadRequest(f'only {attribute} eq "value" is understood')
    return match[2]


async def list_users(request: Request, store: Store) -> Response:
    name = eq_filter(request, "userName")
    if name is not None:
        found = await store.user_by_name(name)
        return list_response([] if found is None else [found], 0 if found is None else 1, 1)
    start = max(1, int(request.query_params.get("startIndex", "1")))
    count = min(1000, max(0, int(request.query_params.get("count", "100"))))
    total, rows = await store.users_page(start - 1, count)
    return list_response(rows, total, start)


async def create_user(request: Request, store: Store) -> Response:
    data = orjson.loads(await request.body())
    name = data["userName"]
    if not isinstance(name, str) or not name:
        raise BadRequest("userName must be a non-empty string")
    rid = uuid.uuid4().hex
    data["id"] = rid
    data["meta"] = {"resourceType": "User", "location": f"/scim/v2/Users/{rid}"}
    body = orjson.dumps(data)
    if not await store.insert_user(rid, name, body):
        return error(409, "userName taken")
    return scim(body, 201)


async def get_user(request: Request, store: Store) -> Response:
    body = await store.user(request.path_params["rid"])
    return error(404, "no such user") if body is None else scim(body)


def apply_user_ops(ops: list[dict[str, Any]]) -> Callable[[bytes], bytes]:
    """The three Replace paths the workload sends; anything else is a 400."""
    for op in ops:
        if str(op.get("op", "")).lower() != "replace":
            raise BadRequest("only replace is understood on users")
        if op.get("path") not in ("name.familyName", EMAIL_PATH, "active"):
            raise BadRequest(f"path {op.get('path')!r} is not understood")

    def change(stored: bytes) -> bytes:
        user = orjson.loads(stored)
        for op in ops:
            path, value = op["path"], op.get("value")
            if path == "active":
                user["active"] = value
            elif path == "name.familyName":
                user.setdefault("name", {})["familyName"] = value
            else:
                for email in user.get("emails") or []:
                    if email.get("type") == "work":
                        email["value"] = value
        return orjson.dumps(user)

    return change


async def patch_user(request: Request, store: Store) -> Response:
    ops = orjson.loads(await request.body())["Operations"]
    body = await store.update_user(request.path_params["rid"], apply_user_ops(ops))
    return error(404, "no such user") if body is None else scim(body)


async def list_groups(request: Request, store: Store) -> Response:
    name = eq_filter(request, "displayName")
    if name is None:
        raise BadRequest("only the displayName probe is understood on groups")
    found = await store.group_by_name(name)
    return list_response([] if found is None else [found], 0 if found is None else 1, 1)


async def create_group(request: Request, store: Store) -> Response:
    data = orjson.loads(await request.body())
    name = data["displayName"]
    if not isinstance(name, str) or not name:
        raise BadRequest("displayName must be a non-empty string")
    rid = uuid.uuid4().hex
    data["id"] = rid
    data["meta"] = {"resourceType": "Group", "location": f"/scim/v2/Groups/{rid}"}
    body = orjson.dumps(data)
    if not await store.insert_group(rid, name, body):
        return error(409, "displayName taken")
    return scim(body, 201)


async def get_group(request: Request, store: Store) -> Response:
    found = await store.group_members(request.path_params["rid"])
    if found is None:
        return error(404, "no such group")
    group = orjson.loads(found[0])
    group["members"] = [{"value": uid} for uid in found[1]]
    return scim(orjson.dumps(group))


async def patch_group(request: Request, store: Store) -> Response:
    """``Add`` to ``members`` with a list of values, or ``Remove`` of ``members[value eq]``."""
    add: list[str] = []
    remove: list[str] = []
    for op in orjson.loads(await request.body())["Operations"]:
        kind, path = str(op.get("op", "")).lower(), op.get("path")
        if kind == "add" and path == "members":
            add += [str(m["value"]) for m in op["value"]]
        elif kind == "remove" and isinstance(path, str) and (m := MEMBER_PATH.match(path)):
            remove.append(m[1])
        else:
            raise BadRequest(f"{kind} {path!r} is not understood on groups")
    if not await store.change_members(request.path_params["rid"], add, remove):
        return error(404, "no such group")
    return Response(status_code=204)


async def healthz(_: Request) -> Response:
    return Response(b"ok")


def open_store(url: str) -> Store:
    """``sqlite:///path`` or ``postgresql://...``, the URL forms scimhub takes."""
    if url.startswith("sqlite:///"):
        return SqliteStore(url.removeprefix("sqlite:///"))
    if urlsplit(url).scheme in ("postgresql", "postgres"):
        return PostgresStore(url, int(os.environ.get(POOL_ENV, "8")))
    raise SystemExit(f"bare_endpoint: unsupported database URL {url!r}")


def app_from_environment() -> Starlette:
    """uvicorn's factory, so each worker process opens its own connection or pool."""
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise SystemExit(f"bare_endpoint: set ${TOKEN_ENV}")
    store = open_store(os.environ[DATABASE_ENV])

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if isinstance(store, PostgresStore):
            await store.open()
        yield
        await store.close()

    app = Starlette(lifespan=lifespan, routes=[
        Route("/healthz", healthz),
        Route("/scim/v2/Users", endpoint(list_users), methods=["GET"]),
        Route("/scim/v2/Users", endpoint(create_user), methods=["POST"]),
        Route("/scim/v2/Users/{rid}", endpoint(get_user), methods=["GET"]),
        Route("/scim/v2/Users/{rid}", endpoint(patch_user), methods=["PATCH"]),
        Route("/scim/v2/Groups", endpoint(list_groups), methods=["GET"]),
        Route("/scim/v2/Groups", endpoint(create_group), methods=["POST"]),
        Route("/scim/v2/Groups/{rid}", endpoint(get_group), methods=["GET"]),
        Route("/scim/v2/Groups/{rid}", endpoint(patch_group), methods=["PATCH"]),
    ])
    app.state.store = store
    app.state.auth = f"Bearer {token}".encode()
    return app


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8100)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--database", required=True,
                    help="sqlite:///path or postgresql://user@host:port/db")
    ap.add_argument("--pool-size", type=int, default=8,
                    help="PostgreSQL connections per worker (the workload's concurrency)")
    args = ap.parse_args(argv)
    if not os.environ.get(TOKEN_ENV):
        ap.error(f"set ${TOKEN_ENV} (the bearer token; kept out of the command line)")
    if args.database.startswith("sqlite:///"):
        SqliteStore(args.database.removeprefix("sqlite:///")).create_schema()
    else:
        create_schema_postgres(args.database)
    os.environ[DATABASE_ENV] = args.database
    os.environ[POOL_ENV] = str(args.pool_size)
    import uvicorn

    uvicorn.run("bare_endpoint:app_from_environment", factory=True,
                app_dir=str(Path(__file__).resolve().parent), host=args.host, port=args.port,
                workers=args.workers if args.workers > 1 else None, access_log=False,
                log_level="warning", loop="uvloop", http="httptools", lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
