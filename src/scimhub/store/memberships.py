"""Pages of a group's members and of a user's groups, for people rather than SCIM clients.

A SCIM read of a group returns all its members; the console shows them a page
at a time, so that a group of 100,000 members opens as fast as one of ten.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BindParameter, and_, bindparam, func, select

from scimhub.scim.render import Reference
from scimhub.scim.types import TenantId
from scimhub.store.database import Database
from scimhub.store.tables import group_members as gm
from scimhub.store.tables import groups, users

_T: BindParameter[str] = bindparam("tenant_id")
_MEMBER_COUNT = select(func.count()).select_from(gm).where(
    gm.c.tenant_id == _T, gm.c.group_id == bindparam("id"))
_MEMBER_PAGE = (
    select(gm.c.member_id, gm.c.member_type,
           func.coalesce(users.c.display_name, users.c.user_name, groups.c.display_name))
    .select_from(gm.outerjoin(users, and_(users.c.tenant_id == gm.c.tenant_id,
                                          users.c.id == gm.c.member_id))
                 .outerjoin(groups, and_(groups.c.tenant_id == gm.c.tenant_id,
                                         groups.c.id == gm.c.member_id)))
    .where(gm.c.tenant_id == _T, gm.c.group_id == bindparam("id"))
    .order_by(gm.c.member_id)
    .limit(bindparam("limit")).offset(bindparam("offset"))
)
_GROUP_COUNT = select(func.count()).select_from(gm).where(
    gm.c.tenant_id == _T, gm.c.member_id == bindparam("id"))
_GROUP_PAGE = (
    select(gm.c.group_id, groups.c.display_name)
    .select_from(gm.join(groups, and_(groups.c.tenant_id == gm.c.tenant_id,
                                      groups.c.id == gm.c.group_id)))
    .where(gm.c.tenant_id == _T, gm.c.member_id == bindparam("id"))
    .order_by(groups.c.display_name_ci, gm.c.group_id)
    .limit(bindparam("limit")).offset(bindparam("offset"))
)


@dataclass(frozen=True)
class ReferencePage:
    total: int
    items: list[Reference]


class Memberships:
    def __init__(self, db: Database) -> None:
        self.db = db

    def member_page(self, tenant: TenantId, group_id: str, offset: int, limit: int
                    ) -> ReferencePage:
        """Members of a group ordered by id: users and groups, with their display names."""
        params = {"tenant_id": tenant, "id": group_id}
        with self.db.read() as tx:
            total = int(tx.scalar(_MEMBER_COUNT, params))
            rows = tx.all(_MEMBER_PAGE, {**params, "limit": limit, "offset": offset})
        return ReferencePage(total, [Reference(str(r[0]), str(r[1]), r[2]) for r in rows])

    def group_page(self, tenant: TenantId, member_id: str, offset: int, limit: int
                   ) -> ReferencePage:
        """The groups a user (or group) is a direct member of, by name."""
        params = {"tenant_id": tenant, "id": member_id}
        with self.db.read() as tx:
            total = int(tx.scalar(_GROUP_COUNT, params))
            rows = tx.all(_GROUP_PAGE, {**params, "limit": limit, "offset": offset})
        return ReferencePage(total, [Reference(str(r[0]), "Group", r[1]) for r in rows])
