"""What each kind of directory calls things: the id attribute, the change stamp, the default
filters, and which LDAP attributes give Entra's source attribute names.

The engine's default mappings read Entra's names (``userPrincipalName``, ``surname``...), so a
profile maps the directory's own attributes onto them; a job overrides or adds to that with
``[source.attributes]``. Each Entra name lists LDAP attributes tried in order (the first with a
value wins), e.g. a group's ``displayName`` is AD's displayName, else its cn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

#: How the profile proves nothing changed and where a delta starts (sources/ldap.py).
StampKind = Literal["csn", "usn", "timestamp"]


@dataclass(frozen=True)
class Profile:
    name: str
    #: The attribute that gives ``objectId``: stable across renames and moves, never the DN.
    id_attribute: str
    #: The per-entry change stamp an incremental read filters on (``(stamp>=watermark)``).
    stamp_attribute: str
    stamp_kind: StampKind
    user_filter: str
    group_filter: str
    #: Entra name -> LDAP attributes, first with a value wins.
    user_attributes: Mapping[str, tuple[str, ...]]
    group_attributes: Mapping[str, tuple[str, ...]]
    #: ``accountEnabled`` false for users matching this filter (AD reads userAccountControl).
    disabled_filter: str | None = None
    #: The user attribute a posixGroup's ``memberUid`` names.
    uid_attribute: str | None = "uid"


#: A group's member attributes that hold DNs, and the one (posixGroup) that holds uids.
MEMBER_DN_ATTRIBUTES = ("member", "uniqueMember")
MEMBER_UID_ATTRIBUTE = "memberUid"

_COMMON_USER = {
    "mail": ("mail",),
    "givenName": ("givenName",),
    "surname": ("sn",),
    "displayName": ("displayName", "cn"),
    "mobile": ("mobile",),
    "jobTitle": ("title",),
}

PROFILES: dict[str, Profile] = {
    "openldap": Profile(
        name="openldap", id_attribute="entryUUID", stamp_attribute="entryCSN",
        stamp_kind="csn",
        user_filter="(objectClass=inetOrgPerson)",
        group_filter="(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"
                     "(objectClass=posixGroup))",
        user_attributes={**_COMMON_USER, "userPrincipalName": ("mail",),
                         "mailNickname": ("uid",), "department": ("departmentNumber", "ou"),
                         "employeeId": ("employeeNumber",)},
        group_attributes={"displayName": ("cn",), "description": ("description",)},
    ),
    "active-directory": Profile(
        name="active-directory", id_attribute="objectGUID", stamp_attribute="uSNChanged",
        stamp_kind="usn",
        user_filter="(&(objectCategory=person)(objectClass=user))",
        group_filter="(objectClass=group)",
        user_attributes={**_COMMON_USER, "userPrincipalName": ("userPrincipalName",),
                         "mailNickname": ("mailNickname", "sAMAccountName"),
                         "department": ("department",), "employeeId": ("employeeID",)},
        group_attributes={"displayName": ("displayName", "cn"),
                          "mailNickname": ("mailNickname", "sAMAccountName"),
                          "mail": ("mail",), "description": ("description",)},
        uid_attribute=None,
    ),
    "freeipa": Profile(
        name="freeipa", id_attribute="ipaUniqueID", stamp_attribute="modifyTimestamp",
        stamp_kind="timestamp",
        user_filter="(&(objectClass=inetOrgPerson)(objectClass=ipaObject))",
        group_filter="(&(objectClass=groupOfNames)(objectClass=ipaUserGroup))",
        user_attributes={**_COMMON_USER, "userPrincipalName": ("krbPrincipalName", "mail"),
                         "mailNickname": ("uid",), "department": ("departmentNumber", "ou"),
                         "employeeId": ("employeeNumber",)},
        group_attributes={"displayName": ("cn",), "description": ("description",)},
        disabled_filter="(nsAccountLock=TRUE)",
    ),
}

#: AD's userAccountControl flag ACCOUNTDISABLE.
ACCOUNTDISABLE = 0x2
