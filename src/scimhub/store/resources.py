"""Users and Groups: the repository behind the SCIM endpoints.

Every method is one transaction and every statement is scoped by tenant, so
one tenant can neither see nor touch another's rows. Optimistic versions make
``If-Match`` exact: the UPDATE that writes also checks the version it read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

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
from scimhub.scim.render import Reference, StoredResource
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP
from scimhub.scim.types import TenantId
from scimhub.store.clock import now
from scimhub.store.database import Database
from scimhub.store.dialects import dialect_for
from scimhub.store.filter_sql import FilterCompiler
from scimhub.store.sorting import sort_key
from scimhub.store.tables import group_members, groups, users

Transform = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Page:
    total: int
    resources: list[StoredResource]


def _indexed(rtype: ResourceType, doc: dict[str, Any]) -> dict[str, Any]:
    """The columns that mirror document attributes for indexing and filtering."""
    if rtype is GROUP:
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


class ResourceStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect = dialect_for(db.is_sqlite)

    @staticmethod
    def table(rtype: ResourceType) -> Table:
        return groups if rtype is GROUP else users

    def _uniqueness(self, rtype: ResourceType, doc: dict[str, Any]) -> Uniqueness:
        if rtype is GROUP:
            return Uniqueness(f"A group with displayName '{doc['displayName']}' exists")
        return Uniqueness(f"A user with userName '{doc['userName']}' exists")

    def create(
        self,
        tenant: TenantId,
        rtype: ResourceType,
        doc: dict[str, Any],
        members: Sequence[Member] = (),
        refs: bool = False,
    ) -> StoredResource:
        table = self.table(rtype)
        stamp = now()
        stored = StoredResource(str(uuid.uuid4()), 1, stamp, stamp, doc)
        try:
            with self.db.write() as conn:
                conn.execute(insert(table).values(
                    tenant_id=tenant, id=stored.id, version=1, created=stamp,
                    last_modified=stamp, doc=doc, **_indexed(rtype, doc)))
                if members:
                    self._add_members(conn, tenant, stored.id, members)
                if refs and members:
                    return self._with_refs(conn, tenant, rtype, [stored])[0]
        except IntegrityError:
            raise self._uniqueness(rtype, doc) from None
        return replace(stored, references=()) if refs else stored

    def get(
        self, tenant: TenantId, rtype: ResourceType, rid: str, refs: bool = False
    ) -> StoredResource:
        table = self.table(rtype)
        with self.db.read() as conn:
            row = conn.execute(self._select(table).where(
                table.c.tenant_id == tenant, table.c.id == rid)).first()
            if row is None:
                raise NotFound(f"{rtype.name} {rid} not found")
            if refs:
                return self._with_refs(conn, tenant, rtype, [_stored(row)])[0]
        return _stored(row)

    def _with_refs(self, conn: Connection, tenant: TenantId, rtype: ResourceType,
                   items: list[StoredResource]) -> list[StoredResource]:
        """Attach members (groups) or groups (users) to a page, in one query."""
        ids = [i.id for i in items]
        if not ids:
            return items
        found = (self._members_of if rtype is GROUP else self._groups_of)(conn, tenant, ids)
        return [replace(i, references=tuple(found[i.id])) for i in items]

    @staticmethod
    def _select(table: Table) -> Any:
        return select(table.c.id, table.c.version, table.c.created, table.c.last_modified,
                      table.c.doc)

    def replace(
        self,
        tenant: TenantId,
        rtype: ResourceType,
        rid: str,
        doc: dict[str, Any],
        if_match: Callable[[int], bool],
        members: Sequence[Member] | None = None,
        refs: bool = False,
    ) -> StoredResource:
        def transform(_old: dict[str, Any]) -> dict[str, Any]:
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
        table = self.table(rtype)
        try:
            with self.db.write() as conn:
                row = conn.execute(self._select(table).where(
                    table.c.tenant_id == tenant, table.c.id == rid)).first()
                if row is None:
                    raise NotFound(f"{rtype.name} {rid} not found")
                if not if_match(row.version):
                    raise PreconditionFailed(f"{rtype.name} {rid} has changed (If-Match failed)")
                new_doc = transform(dict(row.doc))
                changed = new_doc != row.doc
                for change in member_changes:
                    changed |= self._apply_member_change(conn, tenant, rid, change)
                result = _stored(row)
                if changed:
                    result = StoredResource(rid, row.version + 1, row.created, now(), new_doc)
                    conn.execute(update(table).where(
                        table.c.tenant_id == tenant, table.c.id == rid,
                        table.c.version == row.version,
                    ).values(doc=new_doc, version=result.version,
                             last_modified=result.last_modified, **_indexed(rtype, new_doc)))
                if refs:
                    return self._with_refs(conn, tenant, rtype, [result])[0]
        except IntegrityError:
            raise self._uniqueness(rtype, new_doc) from None
        return result

    def delete(
        self, tenant: TenantId, rtype: ResourceType, rid: str, if_match: Callable[[int], bool]
    ) -> None:
        table = self.table(rtype)
        with self.db.write() as conn:
            version = conn.execute(select(table.c.version).where(
                table.c.tenant_id == tenant, table.c.id == rid)).scalar()
            if version is None:
                raise NotFound(f"{rtype.name} {rid} not found")
            if not if_match(version):
                raise PreconditionFailed(f"{rtype.name} {rid} has changed (If-Match failed)")
            self._drop_from_groups(conn, tenant, rid)
            conn.execute(delete(table).where(table.c.tenant_id == tenant, table.c.id == rid))

    def _drop_from_groups(self, conn: Connection, tenant: TenantId, member_id: str) -> None:
        """Remove a deleted user or group from every group, bumping those groups' versions."""
        containing = select(group_members.c.group_id).where(
            group_members.c.tenant_id == tenant, group_members.c.member_id == member_id)
        conn.execute(update(groups).where(
            groups.c.tenant_id == tenant, groups.c.id.in_(containing),
        ).values(version=groups.c.version + 1, last_modified=now()))
        conn.execute(delete(group_members).where(
            group_members.c.tenant_id == tenant, group_members.c.member_id == member_id))

    def search(
        self,
        tenant: TenantId,
        rtype: ResourceType,
        filter_: Filter | None,
        sort_by: Any,
        descending: bool,
        start_index: int,
        count: int,
        refs: bool = False,
    ) -> Page:
        table = self.table(rtype)
        where = [table.c.tenant_id == tenant]
        if filter_ is not None:
            where.append(FilterCompiler(rtype, table, self.dialect).compile(filter_))
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            if count == 0 or start_index > total:
                return Page(total, [])
            query = self._select(table).where(*where)
            if sort_by is not None:
                key = sort_key(sort_by, rtype, table, self.dialect)
                query = query.order_by(key.desc() if descending else key.asc())
            query = query.order_by(table.c.id).offset(start_index - 1).limit(count)
            items = [_stored(r) for r in conn.execute(query)]
            if refs:
                items = self._with_refs(conn, tenant, rtype, items)
        return Page(total, items)

    # -- membership -------------------------------------------------------

    def references(self, tenant: TenantId, rtype: ResourceType, ids: Sequence[str]
                   ) -> dict[str, list[Reference]]:
        """Members of groups, or groups of users, for one page in one query."""
        if not ids:
            return {}
        with self.db.read() as conn:
            if rtype is GROUP:
                return self._members_of(conn, tenant, ids)
            return self._groups_of(conn, tenant, ids)

    def _members_of(self, conn: Connection, tenant: TenantId, ids: Sequence[str]
                    ) -> dict[str, list[Reference]]:
        gm = group_members
        query = (
            select(gm.c.group_id, gm.c.member_id, gm.c.member_type,
                   func.coalesce(users.c.display_name, users.c.user_name, groups.c.display_name))
            .select_from(gm.outerjoin(users, and_(users.c.tenant_id == gm.c.tenant_id,
                                                  users.c.id == gm.c.member_id))
                         .outerjoin(groups, and_(groups.c.tenant_id == gm.c.tenant_id,
                                                 groups.c.id == gm.c.member_id)))
            .where(gm.c.tenant_id == tenant, gm.c.group_id.in_(ids))
            .order_by(gm.c.group_id, gm.c.member_id)
        )
        result: dict[str, list[Reference]] = {i: [] for i in ids}
        for group_id, member_id, member_type, display in conn.execute(query):
            result[group_id].append(Reference(member_id, member_type, display))
        return result

    def _groups_of(self, conn: Connection, tenant: TenantId, ids: Sequence[str]
                   ) -> dict[str, list[Reference]]:
        gm = group_members
        query = (
            select(gm.c.member_id, gm.c.group_id, groups.c.display_name)
            .select_from(gm.join(groups, and_(groups.c.tenant_id == gm.c.tenant_id,
                                              groups.c.id == gm.c.group_id)))
            .where(gm.c.tenant_id == tenant, gm.c.member_id.in_(ids))
            .order_by(gm.c.member_id, groups.c.display_name_ci)
        )
        result: dict[str, list[Reference]] = {i: [] for i in ids}
        for member_id, group_id, display in conn.execute(query):
            result[member_id].append(Reference(group_id, "Group", display))
        return result

    def _apply_member_change(
        self, conn: Connection, tenant: TenantId, group_id: str, change: MemberChange
    ) -> bool:
        gm = group_members
        scope = and_(gm.c.tenant_id == tenant, gm.c.group_id == group_id)
        if isinstance(change, AddMembers):
            return self._add_members(conn, tenant, group_id, change.values)
        if isinstance(change, RemoveMembers):
            return conn.execute(delete(gm).where(scope, gm.c.member_id.in_(change.ids))
                                ).rowcount > 0
        if isinstance(change, RemoveAllMembers):
            return conn.execute(delete(gm).where(scope)).rowcount > 0
        if isinstance(change, ReplaceMembers):
            removed = conn.execute(delete(gm).where(scope)).rowcount > 0
            return self._add_members(conn, tenant, group_id, change.values) or removed
        if isinstance(change, RemoveMembersWhere):
            return self._remove_where(conn, tenant, group_id, change.filter)
        raise TypeError(change)

    def _remove_where(self, conn: Connection, tenant: TenantId, group_id: str, f: Filter) -> bool:
        """An arbitrary filter on members: evaluated in memory, the one O(group) path."""
        members_attr = GROUP.schema.attribute("members")
        assert members_attr is not None
        refs = self._members_of(conn, tenant, [group_id])[group_id]
        doomed = [r.id for r in refs if element_matches(
            f, {"value": r.id, "type": r.type, "display": r.display}, members_attr)]
        if not doomed:
            return False
        gm = group_members
        conn.execute(delete(gm).where(gm.c.tenant_id == tenant, gm.c.group_id == group_id,
                                      gm.c.member_id.in_(doomed)))
        return True

    def _add_members(
        self, conn: Connection, tenant: TenantId, group_id: str, members: Iterable[Member]
    ) -> bool:
        wanted = {m.value: m for m in members}
        if not wanted:
            return False
        if group_id in wanted:
            raise InvalidValue("A group cannot be a member of itself")
        types = self._existing_types(conn, tenant, list(wanted))
        missing = [v for v in wanted if v not in types]
        if missing:
            raise InvalidValue(f"No such member in this tenant: {', '.join(missing[:5])}")
        gm = group_members
        present = set(conn.execute(select(gm.c.member_id).where(
            gm.c.tenant_id == tenant, gm.c.group_id == group_id,
            gm.c.member_id.in_(list(wanted)))).scalars())
        rows = [{"tenant_id": tenant, "group_id": group_id, "member_id": v,
                 "member_type": types[v]} for v in wanted if v not in present]
        if rows:
            conn.execute(insert(gm), rows)
        return bool(rows)

    def _existing_types(self, conn: Connection, tenant: TenantId, ids: list[str]
                        ) -> dict[str, str]:
        found = {i: "User" for i in conn.execute(select(users.c.id).where(
            users.c.tenant_id == tenant, users.c.id.in_(ids))).scalars()}
        if len(found) < len(ids):
            rest = [i for i in ids if i not in found]
            found.update({i: "Group" for i in conn.execute(select(groups.c.id).where(
                groups.c.tenant_id == tenant, groups.c.id.in_(rest))).scalars()})
        return found


def _stored(row: Any) -> StoredResource:
    return StoredResource(row.id, row.version, row.created, row.last_modified, row.doc)
