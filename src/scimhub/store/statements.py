"""The prepared statements of the resource repository, one set per table.

Built once at import; their parameters are named bindparams. Keeping them
here keeps ``resources.py`` about what happens rather than how SQL is spelled.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Delete,
    Insert,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from scimhub.store.tables import group_members, groups, users

T: BindParameter[str] = bindparam("tenant_id")
ID: BindParameter[str] = bindparam("id")


def column_params(values: dict[str, object]) -> dict[str, object]:
    """Parameters for the ``v_<column>`` binds of INSERT and UPDATE."""
    return {f"v_{name}": value for name, value in values.items()}


@dataclass(frozen=True)
class ResourceStatements:
    by_id: Select  # type: ignore[type-arg]
    #: The row for a read-modify-write: locked on PostgreSQL (SQLite's write lock is global).
    by_id_locked: Select  # type: ignore[type-arg]
    version_locked: Select  # type: ignore[type-arg]
    #: ``count`` and ``page`` for ``column eq value``, per indexed string column.
    count_eq: dict[str, Select]  # type: ignore[type-arg]
    page_eq: dict[str, Select]  # type: ignore[type-arg]
    #: ``count`` and ``page`` of a listing without filter or sort (by id): the listing
    #: every client pages through, prepared rather than compiled per request.
    count_all: Select  # type: ignore[type-arg]
    page_all: Select  # type: ignore[type-arg]
    insert: Insert
    update: Update
    #: An update whose indexed columns keep their values: it writes the row and the
    #: ``last_modified`` index only (SQLite rewrites the entry of every index whose column
    #: is SET, changed or not: ~29 µs against ~17 for a PATCH of a user's name).
    update_doc: Update
    delete: Delete


def _columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.name not in ("tenant_id", "id")]


def _statements(table: Table) -> ResourceStatements:
    scoped = and_(table.c.tenant_id == T, table.c.id == ID)
    values: dict[str, Any] = {name: bindparam(f"v_{name}") for name in _columns(table)}
    row = select(table.c.id, table.c.version, table.c.created, table.c.last_modified,
                 table.c.doc)
    keys = ("id", "external_id", "user_name_ci" if table is users else "display_name_ci")
    eq = {k: (table.c.tenant_id == T, table.c[k] == bindparam("value")) for k in keys}
    return ResourceStatements(
        by_id=row.where(scoped),
        by_id_locked=row.where(scoped).with_for_update(),
        version_locked=select(table.c.version).where(scoped).with_for_update(),
        count_eq={k: select(func.count()).select_from(table).where(*w) for k, w in eq.items()},
        page_eq={k: row.where(*w).order_by(table.c.id).limit(bindparam("limit"))
                 .offset(bindparam("offset")) for k, w in eq.items()},
        count_all=select(func.count()).select_from(table).where(table.c.tenant_id == T),
        page_all=row.where(table.c.tenant_id == T).order_by(table.c.id)
        .limit(bindparam("limit")).offset(bindparam("offset")),
        insert=insert(table).values(tenant_id=T, id=ID, **values),
        update=update(table).where(scoped, table.c.version == bindparam("expected"))
        .values(**{n: bindparam(f"v_{n}") for n in _columns(table) if n != "created"}),
        update_doc=update(table).where(scoped, table.c.version == bindparam("expected"))
        .values(**{n: bindparam(f"v_{n}") for n in ("version", "last_modified", "doc")}),
        delete=delete(table).where(scoped),
    )


USERS = _statements(users)
GROUPS = _statements(groups)

gm = group_members
GROUPS_OF_ONE_USER = (
    select(gm.c.member_id, gm.c.group_id, groups.c.display_name)
    .select_from(gm.join(groups, and_(groups.c.tenant_id == gm.c.tenant_id,
                                      groups.c.id == gm.c.group_id)))
    .where(gm.c.tenant_id == T, gm.c.member_id == ID)
    .order_by(groups.c.display_name_ci)
)
#: (group id, member id, member type, display) of member rows: a member's display is its
#: user's displayName or userName, or its group's displayName.
_MEMBER_ROWS = (
    select(gm.c.group_id, gm.c.member_id, gm.c.member_type,
           func.coalesce(users.c.display_name, users.c.user_name, groups.c.display_name))
    .select_from(gm.outerjoin(users, and_(users.c.tenant_id == gm.c.tenant_id,
                                          users.c.id == gm.c.member_id))
                 .outerjoin(groups, and_(groups.c.tenant_id == gm.c.tenant_id,
                                         groups.c.id == gm.c.member_id)))
)
MEMBERS_OF_ONE_GROUP = (
    _MEMBER_ROWS.where(gm.c.tenant_id == T, gm.c.group_id == ID).order_by(gm.c.member_id)
)
#: Members of one group after ``after`` in id order: keyset batches for streaming.
MEMBERS_AFTER = (
    MEMBERS_OF_ONE_GROUP.where(gm.c.member_id > bindparam("after"))
    .limit(bindparam("limit"))
)
INSERT_MEMBER = insert(gm).values(
    tenant_id=T, group_id=bindparam("group_id"), member_id=bindparam("member_id"),
    member_type=bindparam("member_type"),
)
REMOVE_ALL_MEMBERS = delete(gm).where(gm.c.tenant_id == T, gm.c.group_id == ID)
BUMP_GROUPS_CONTAINING = (
    update(groups)
    .where(groups.c.tenant_id == T, groups.c.id.in_(
        select(gm.c.group_id).where(gm.c.tenant_id == T, gm.c.member_id == ID)))
    .values(version=groups.c.version + 1, last_modified=bindparam("stamp"))
)
DROP_FROM_GROUPS = delete(gm).where(gm.c.tenant_id == T, gm.c.member_id == ID)
#: Taken before the member's own row, in the order a PATCH takes them (group, then
#: member), so that deleting a member never deadlocks with adding it to a group.
LOCK_GROUPS_CONTAINING = (
    select(groups.c.id)
    .where(groups.c.tenant_id == T, groups.c.id.in_(
        select(gm.c.group_id).where(gm.c.tenant_id == T, gm.c.member_id == ID)))
    .order_by(groups.c.id)
    .with_for_update()
)


# --- statements over a list of ids ------------------------------------------------------
#
# ``column IN (<ids>)`` has as many binds as ids. Compiled per request, SQLAlchemy spent
# ~120 µs building an IN of 100 (``_literal_coercion``) and as much compiling it. Here such
# a statement is built once per bucket size (a power of two up to ``MAX_IDS``) and run as a
# prepared one: a list is padded to its bucket by repeating its last id (a duplicate in an
# IN list changes nothing), and a longer one is run in slices. At most 11 statements of each
# kind are ever compiled, whatever sizes clients send.

#: The largest IN list one statement carries (``maxResults`` is 1,000).
MAX_IDS = 1024


def _bucket(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


def _keys(size: int) -> list[BindParameter[str]]:
    return [bindparam(f"k{i}") for i in range(size)]


#: The bind names ``k0..k1023``, made once.
_KEY_NAMES = tuple(f"k{i}" for i in range(MAX_IDS))


def id_slices(ids: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(bucket size, {k0: id, k1: id, ...})`` for each slice of at most ``MAX_IDS`` ids."""
    for start in range(0, len(ids), MAX_IDS):
        part = list(ids[start:start + MAX_IDS])
        size = _bucket(len(part))
        yield size, dict(zip(_KEY_NAMES[:size], part + [part[-1]] * (size - len(part)),
                             strict=True))


@cache
def groups_of_users(size: int) -> Select:  # type: ignore[type-arg]
    """(member id, group id, group displayName) of the users ``k0..k<size-1>``."""
    return (
        select(gm.c.member_id, gm.c.group_id, groups.c.display_name)
        .select_from(gm.join(groups, and_(groups.c.tenant_id == gm.c.tenant_id,
                                          groups.c.id == gm.c.group_id)))
        .where(gm.c.tenant_id == T, gm.c.member_id.in_(_keys(size)))
        .order_by(gm.c.member_id, groups.c.display_name_ci)
    )


@cache
def members_of_groups(size: int) -> Select:  # type: ignore[type-arg]
    """(group id, member id, member type, display) of the groups ``k0..k<size-1>``."""
    return (_MEMBER_ROWS.where(gm.c.tenant_id == T, gm.c.group_id.in_(_keys(size)))
            .order_by(gm.c.group_id, gm.c.member_id))


@cache
def users_locked(size: int) -> Select:  # type: ignore[type-arg]
    """The ids among ``k0..`` that are users, share-locked until commit (PostgreSQL)."""
    return (select(users.c.id).where(users.c.tenant_id == T, users.c.id.in_(_keys(size)))
            .with_for_update(read=True))


@cache
def groups_locked(size: int) -> Select:  # type: ignore[type-arg]
    """The ids among ``k0..`` that are groups, share-locked until commit (PostgreSQL)."""
    return (select(groups.c.id).where(groups.c.tenant_id == T, groups.c.id.in_(_keys(size)))
            .with_for_update(read=True))


@cache
def members_present(size: int) -> Select:  # type: ignore[type-arg]
    """The ids among ``k0..`` already members of the group ``id``."""
    return select(gm.c.member_id).where(gm.c.tenant_id == T, gm.c.group_id == ID,
                                        gm.c.member_id.in_(_keys(size)))


@cache
def remove_members(size: int) -> Delete:
    """Remove the members ``k0..`` from the group ``id``."""
    return delete(gm).where(gm.c.tenant_id == T, gm.c.group_id == ID,
                            gm.c.member_id.in_(_keys(size)))
