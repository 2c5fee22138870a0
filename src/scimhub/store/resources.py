"""Users and Groups: the repository behind the SCIM endpoints.

Every method is one transaction and every statement is scoped by tenant, so
one tenant can neither see nor touch another's rows. Optimistic versions make
``If-Match`` exact: the UPDATE that writes also checks the version it read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, func, literal, select, tuple_

from scimhub.scim.errors import InvalidValue, NotFound, PreconditionFailed, Uniqueness
from scimhub.scim.filters import Filter
from scimhub.scim.matching import element_matches
from scimhub.scim.patch import (
    AddMembers,
    Member,
    MemberChange,
    RemoveAllMembers,
    RemoveMembers,
    RemoveMembersWhere,
    ReplaceMembers,
)
from scimhub.scim.paths import AttrPath
from scimhub.scim.render import Reference, StoredResource
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP
from scimhub.scim.types import Resource, TenantId
from scimhub.store import statements as q
from scimhub.store.clock import now
from scimhub.store.database import Database
from scimhub.store.dialects import dialect_for
from scimhub.store.filter_sql import FilterCompiler, indexed_equality
from scimhub.store.sorting import sort_key
from scimhub.store.sql import Row, Tx, dump_json, load_json
from scimhub.store.tables import groups, users

#: A PUT or PATCH: the stored resource in, the new one out.
Transform = Callable[[Resource], Resource]
#: Column name -> value: what a row mirrors of a resource, bound as parameters.
Columns = dict[str, Any]


@dataclass(frozen=True)
class Page:
    total: int
    resources: list[StoredResource]


@dataclass(frozen=True)
class KeysetPage(Page):
    #: ``(sort key, id)`` of the page's last row when more rows follow, else None.
    last: tuple[str | None, str] | None


def _indexed(rtype: ResourceType, doc: Resource) -> Columns:
    """The columns that mirror document attributes for indexing and filtering."""
    if rtype.name == "Group":
        name = doc["displayName"]
        return {"display_name": name, "display_name_ci": name.casefold(),
                "external_id": doc.get("externalId")}
    return {
        "user_name": doc["userName"],
        "user_name_ci": doc["userName"].casefold(),
        "external_id": doc.get("externalId"),
        "display_name": doc.get("displayName"),
        "active": doc.get("active"),
    }


def _stored(row: Row) -> StoredResource:
    return StoredResource(row[0], row[1], row[2], row[3], load_json(row[4]))


#: The parameters of ``update_doc``.
_DOC_UPDATE = ("tenant_id", "id", "expected", "v_version", "v_last_modified", "v_doc")


def _row_values(rtype: ResourceType, stored: StoredResource) -> Columns:
    return q.column_params({
        "version": stored.version, "created": stored.created,
        "last_modified": stored.last_modified, "doc": dump_json(stored.doc),
        **_indexed(rtype, dict(stored.doc)),
    })


class ResourceStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect = dialect_for(db.is_sqlite)

    @staticmethod
    def table(rtype: ResourceType) -> Table:
        return groups if rtype.name == "Group" else users

    @staticmethod
    def _statements(rtype: ResourceType) -> q.ResourceStatements:
        return q.GROUPS if rtype.name == "Group" else q.USERS

    def _uniqueness(self, rtype: ResourceType, doc: Resource) -> Uniqueness:
        if rtype.name == "Group":
            return Uniqueness(f"A group with displayName '{doc['displayName']}' exists")
        return Uniqueness(f"A user with userName '{doc['userName']}' exists")

    def create(
        self,
        tenant: TenantId,
        rtype: ResourceType,
        doc: Resource,
        members: Sequence[Member] = (),
        refs: bool = False,
    ) -> StoredResource:
        return self.db.retrying(lambda: self._create(tenant, rtype, doc, members, refs))

    def _create(self, tenant: TenantId, rtype: ResourceType, doc: Resource,
                members: Sequence[Member], refs: bool) -> StoredResource:
        stamp = now()
        stored = StoredResource(str(uuid.uuid4()), 1, stamp, stamp, doc)
        try:
            with self.db.write() as tx:
                tx.execute(self._statements(rtype).insert,
                           {"tenant_id": tenant, "id": stored.id, **_row_values(rtype, stored)})
                if members:
                    self._add_members(tx, tenant, stored.id, members)
                if refs and members:
                    return self._with_refs(tx, tenant, rtype, [stored])[0]
        except self.db.integrity_error:
            raise self._uniqueness(rtype, doc) from None
        return replace(stored, references=()) if refs else stored

    def get(
        self, tenant: TenantId, rtype: ResourceType, rid: str, refs: bool = False
    ) -> StoredResource:
        with self.db.read() as tx:
            row = tx.first(self._statements(rtype).by_id, {"tenant_id": tenant, "id": rid})
            if row is None:
                raise NotFound(f"{rtype.name} {rid} not found")
            if refs:
                return self._with_refs(tx, tenant, rtype, [_stored(row)])[0]
        return _stored(row)

    def replace(
        self,
        tenant: TenantId,
        rtype: ResourceType,
        rid: str,
        doc: Resource,
        if_match: Callable[[int], bool],
        members: Sequence[Member] | None = None,
        refs: bool = False,
    ) -> StoredResource:
        def transform(_old: Resource) -> Resource:
            return doc

        changes: list[MemberChange] = [] if members is None else [ReplaceMembers(tuple(members))]
        return self.modify(tenant, rtype, rid, transform, changes, if_match, refs)

    def modify(
        self,
        tenant: TenantId,
        rtype: ResourceType,
        rid: str,
        transform: Transform,
        member_changes: Sequence[MemberChange],
        if_match: Callable[[int], bool],
        refs: bool = False,
    ) -> StoredResource:
        """Read, transform and write one resource under the write lock."""
        return self.db.retrying(lambda: self._modify(
            tenant, rtype, rid, transform, member_changes, if_match, refs))

    def _modify(self, tenant: TenantId, rtype: ResourceType, rid: str, transform: Transform,
                member_changes: Sequence[MemberChange], if_match: Callable[[int], bool],
                refs: bool) -> StoredResource:
        sql = self._statements(rtype)
        key = {"tenant_id": tenant, "id": rid}
        new_doc: Resource = {}
        try:
            with self.db.write() as tx:
                row = tx.first(sql.by_id_locked, key)
                if row is None:
                    raise NotFound(f"{rtype.name} {rid} not found")
                old = _stored(row)
                if not if_match(old.version):
                    raise PreconditionFailed(f"{rtype.name} {rid} has changed (If-Match failed)")
                new_doc = transform(dict(old.doc))
                changed = new_doc != old.doc
                for change in member_changes:
                    changed |= self._apply_member_change(tx, tenant, rid, change)
                result = old
                if changed:
                    result = StoredResource(rid, old.version + 1, old.created, now(), new_doc)
                    values = {**key, "expected": old.version, **_row_values(rtype, result)}
                    if _indexed(rtype, new_doc) == _indexed(rtype, dict(old.doc)):
                        tx.execute(sql.update_doc, {k: values[k] for k in _DOC_UPDATE})
                    else:
                        tx.execute(sql.update, values)
                if refs:
                    return self._with_refs(tx, tenant, rtype, [result])[0]
        except self.db.integrity_error:
            raise self._uniqueness(rtype, new_doc) from None
        return result

    def delete(
        self, tenant: TenantId, rtype: ResourceType, rid: str, if_match: Callable[[int], bool]
    ) -> None:
        self.db.retrying(lambda: self._delete(tenant, rtype, rid, if_match))

    def _delete(
        self, tenant: TenantId, rtype: ResourceType, rid: str, if_match: Callable[[int], bool]
    ) -> None:
        sql = self._statements(rtype)
        key = {"tenant_id": tenant, "id": rid}
        with self.db.write() as tx:
            tx.execute(q.LOCK_GROUPS_CONTAINING, key)
            version = tx.scalar(sql.version_locked, key)
            if version is None:
                raise NotFound(f"{rtype.name} {rid} not found")
            if not if_match(version):
                raise PreconditionFailed(f"{rtype.name} {rid} has changed (If-Match failed)")
            # Out of every group, bumping those groups' versions, then the row itself.
            tx.execute(q.BUMP_GROUPS_CONTAINING, {**key, "stamp": now()})
            tx.execute(q.DROP_FROM_GROUPS, key)
            if rtype.name == "Group":
                tx.execute(q.REMOVE_ALL_MEMBERS, key)
            tx.execute(sql.delete, key)

    def is_lookup(self, rtype: ResourceType, filter_: Filter | None,
                  sort_by: AttrPath | None) -> bool:
        """Whether ``search`` answers this with one index lookup (Entra's ``userName eq``
        probe), so that its cost is bounded whatever the tenant holds."""
        return self._lookup(rtype, filter_, sort_by) is not None

    def _lookup(self, rtype: ResourceType, filter_: Filter | None,
                sort_by: AttrPath | None) -> tuple[str, str] | None:
        if filter_ is None or sort_by is not None:
            return None
        return indexed_equality(filter_, rtype, self.table(rtype))

    def search(
        self,
        tenant: TenantId,
        rtype: ResourceType,
        filter_: Filter | None,
        sort_by: AttrPath | None,
        descending: bool,
        start_index: int,
        count: int,
        refs: bool = False,
    ) -> Page:
        table = self.table(rtype)
        fast = self._lookup(rtype, filter_, sort_by)
        if fast is not None:
            return self._search_eq(tenant, rtype, *fast, start_index, count, refs)
        if filter_ is None and sort_by is None:
            return self._search_all(tenant, rtype, start_index, count, refs)
        where = [table.c.tenant_id == tenant]
        if filter_ is not None:
            where.append(FilterCompiler(rtype, table, self.dialect).compile(filter_))
        query = select(table.c.id, table.c.version, table.c.created, table.c.last_modified,
                       table.c.doc).where(*where)
        if sort_by is not None:
            key = sort_key(sort_by, rtype, table, self.dialect)
            query = query.order_by(key.desc() if descending else key.asc())
        query = query.order_by(table.c.id).offset(start_index - 1).limit(count)
        with self.db.read() as tx:
            total = int(tx.scalar(select(func.count()).select_from(table).where(*where)))
            if count == 0 or start_index > total:
                return Page(total, [])
            items = [_stored(r) for r in tx.all(query)]
            if refs:
                items = self._with_refs(tx, tenant, rtype, items)
        return Page(total, items)

    def search_after(
        self,
        tenant: TenantId,
        rtype: ResourceType,
        filter_: Filter | None,
        sort_by: AttrPath | None,
        descending: bool,
        after: tuple[str | None, str] | None,
        count: int,
        refs: bool = False,
    ) -> KeysetPage:
        """A page of a keyset (cursor) listing: rows after ``(sort key, id)``.

        Costs O(count) wherever the page is, given an index on the sort key.
        Absent sort keys sort as "" here, so a cursor never has to compare NULL.
        """
        table = self.table(rtype)
        where = [table.c.tenant_id == tenant]
        if filter_ is not None:
            where.append(FilterCompiler(rtype, table, self.dialect).compile(filter_))
        key = (func.coalesce(sort_key(sort_by, rtype, table, self.dialect, text_only=True), "")
               if sort_by is not None else literal(""))
        condition = where
        if after is not None:
            mark = tuple_(key, table.c.id)
            bound = tuple_(literal(after[0] or ""), literal(after[1]))
            condition = [*where, mark < bound if descending else mark > bound]
        order = (key.desc(), table.c.id.desc()) if descending else (key.asc(), table.c.id.asc())
        query = (select(table.c.id, table.c.version, table.c.created, table.c.last_modified,
                        table.c.doc, key).where(*condition).order_by(*order).limit(count + 1))
        with self.db.read() as tx:
            total = int(tx.scalar(select(func.count()).select_from(table).where(*where)))
            rows = tx.all(query) if count > 0 else []
            items = [_stored(r) for r in rows[:count]]
            if refs:
                items = self._with_refs(tx, tenant, rtype, items)
        last = (rows[count - 1][5], rows[count - 1][0]) if len(rows) > count else None
        return KeysetPage(total, items, last)

    def _search_all(self, tenant: TenantId, rtype: ResourceType, start_index: int, count: int,
                    refs: bool) -> Page:
        """Every resource of the tenant by id, with prepared statements (``search`` builds
        and compiles its statements per request, about a millisecond for a page)."""
        sql = self._statements(rtype)
        params = {"tenant_id": tenant}
        with self.db.read() as tx:
            total = int(tx.scalar(sql.count_all, params))
            if count == 0 or start_index > total:
                return Page(total, [])
            rows = tx.all(sql.page_all, {**params, "limit": count, "offset": start_index - 1})
            items = [_stored(r) for r in rows]
            if refs:
                items = self._with_refs(tx, tenant, rtype, items)
        return Page(total, items)

    def _search_eq(self, tenant: TenantId, rtype: ResourceType, column: str, value: str,
                   start_index: int, count: int, refs: bool) -> Page:
        sql = self._statements(rtype)
        params = {"tenant_id": tenant, "value": value}
        if start_index == 1 and count > 0:
            # Entra probes before every create, and the probe mostly finds nothing: then the
            # page alone proves the total is 0, one statement with no transaction around it
            # (``Database.single``) instead of BEGIN, count, page, COMMIT. What it finds is
            # read again below, total and references in one snapshot.
            with self.db.single() as tx:
                if not tx.all(sql.page_eq[column], {**params, "limit": 1, "offset": 0}):
                    return Page(0, [])
        with self.db.read() as tx:
            total = int(tx.scalar(sql.count_eq[column], params))
            if count == 0 or start_index > total:
                return Page(total, [])
            rows = tx.all(sql.page_eq[column],
                          {**params, "limit": count, "offset": start_index - 1})
            items = [_stored(r) for r in rows]
            if refs:
                items = self._with_refs(tx, tenant, rtype, items)
        return Page(total, items)

    # -- membership -------------------------------------------------------

    def references(self, tenant: TenantId, rtype: ResourceType, ids: Sequence[str]
                   ) -> dict[str, list[Reference]]:
        """Members of groups, or groups of users, for one page in one query."""
        if not ids:
            return {}
        with self.db.read() as tx:
            return self._references(tx, tenant, rtype, ids)

    def stream_members(self, tenant: TenantId, group_id: str, batch: int = 1000
                       ) -> Iterator[list[Reference]]:
        """A group's members in batches, all read in one transaction.

        Keyset batches over the primary key: memory stays at one batch and each
        batch costs the same, however large the group.
        """
        with self.db.read() as tx:
            after = ""
            while True:
                rows = tx.all(q.MEMBERS_AFTER, {"tenant_id": tenant, "id": group_id,
                                                "after": after, "limit": batch})
                if not rows:
                    return
                yield [Reference(r[1], r[2], r[3]) for r in rows]
                if len(rows) < batch:
                    return
                after = rows[-1][1]

    def _with_refs(self, tx: Tx, tenant: TenantId, rtype: ResourceType,
                   items: list[StoredResource]) -> list[StoredResource]:
        """Attach members (groups) or groups (users) to resources."""
        found = self._references(tx, tenant, rtype, [i.id for i in items])
        return [StoredResource(i.id, i.version, i.created, i.last_modified, i.doc,
                               tuple(found[i.id])) for i in items]

    def _references(self, tx: Tx, tenant: TenantId, rtype: ResourceType, ids: Sequence[str]
                    ) -> dict[str, list[Reference]]:
        result: dict[str, list[Reference]] = {i: [] for i in ids}
        if not ids:
            return result
        if len(ids) == 1:
            one = q.MEMBERS_OF_ONE_GROUP if rtype.name == "Group" else q.GROUPS_OF_ONE_USER
            rows = tx.all(one, {"tenant_id": tenant, "id": ids[0]})
        else:
            many = q.members_of_groups if rtype.name == "Group" else q.groups_of_users
            rows = _by_ids(tx, many, ids, {"tenant_id": tenant})
        if rtype.name == "Group":
            for row in rows:
                result[row[0]].append(Reference(row[1], row[2], row[3]))
        else:
            for row in rows:
                result[row[0]].append(Reference(row[1], "Group", row[2]))
        return result

    def _apply_member_change(
        self, tx: Tx, tenant: TenantId, group_id: str, change: MemberChange
    ) -> bool:
        key = {"tenant_id": tenant, "id": group_id}
        if isinstance(change, AddMembers):
            return self._add_members(tx, tenant, group_id, change.values)
        if isinstance(change, RemoveMembers):
            return sum(tx.rowcount(q.remove_members(size), {**key, **keys})
                       for size, keys in q.id_slices(change.ids)) > 0
        if isinstance(change, RemoveAllMembers):
            return tx.rowcount(q.REMOVE_ALL_MEMBERS, key) > 0
        if isinstance(change, ReplaceMembers):
            removed = tx.rowcount(q.REMOVE_ALL_MEMBERS, key) > 0
            return self._add_members(tx, tenant, group_id, change.values) or removed
        if isinstance(change, RemoveMembersWhere):
            return self._remove_where(tx, tenant, group_id, change.filter)
        raise TypeError(change)

    def _remove_where(self, tx: Tx, tenant: TenantId, group_id: str, f: Filter) -> bool:
        """An arbitrary filter on members: evaluated in memory, the one O(group) path."""
        members_attr = GROUP.schema.attribute("members")
        assert members_attr is not None
        refs = self._references(tx, tenant, GROUP, [group_id])[group_id]
        doomed = [r.id for r in refs if element_matches(
            f, {"value": r.id, "type": r.type, "display": r.display}, members_attr)]
        if doomed:
            self._apply_member_change(tx, tenant, group_id, RemoveMembers(tuple(doomed)))
        return bool(doomed)

    def _add_members(
        self, tx: Tx, tenant: TenantId, group_id: str, members: Iterable[Member]
    ) -> bool:
        wanted = {m.value: m for m in members}
        if not wanted:
            return False
        if group_id in wanted:
            raise InvalidValue("A group cannot be a member of itself")
        types = self._existing_types(tx, tenant, list(wanted))
        missing = [v for v in wanted if v not in types]
        if missing:
            raise InvalidValue(f"No such member in this tenant: {', '.join(missing[:5])}")
        present = {r[0] for r in _by_ids(tx, q.members_present, list(wanted),
                                         {"tenant_id": tenant, "id": group_id})}
        rows = [{"tenant_id": tenant, "group_id": group_id, "member_id": v,
                 "member_type": types[v]} for v in wanted if v not in present]
        if rows:
            tx.execute_many(q.INSERT_MEMBER, rows)
        return bool(rows)

    def _existing_types(self, tx: Tx, tenant: TenantId, ids: list[str]) -> dict[str, str]:
        """Which ids are users and which groups, share-locking them until commit.

        The lock makes a concurrent DELETE of a member wait for this transaction,
        so it then removes the membership rows added here: no orphans.
        """
        params = {"tenant_id": tenant}
        found = {r[0]: "User" for r in _by_ids(tx, q.users_locked, ids, params)}
        if len(found) < len(ids):
            rest = [i for i in ids if i not in found]
            found.update({r[0]: "Group" for r in _by_ids(tx, q.groups_locked, rest, params)})
        return found


def _by_ids(tx: Tx, statement: Callable[[int], Any], ids: Sequence[str],
            params: dict[str, Any]) -> list[Row]:
    """The rows of a prepared ``IN`` statement (``statements.id_slices``) over ``ids``."""
    rows: list[Row] = []
    for size, keys in q.id_slices(ids):
        rows.extend(tx.all(statement(size), {**params, **keys}))
    return rows
