"""The default attribute mappings: Acunetix 360's tables in Microsoft's tutorial.

See docs/entra.md §1.3.

``active`` uses Entra's default expression, so that a user who is disabled in the
source or leaves scope (IsSoftDeleted) is disabled in the target.
"""

from __future__ import annotations

from scimhub.engine.types import MappingSpec

ACTIVE_EXPRESSION = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'

USER_MAPPINGS: list[MappingSpec] = [
    {"target": "userName", "source": "userPrincipalName", "match": 1},
    {"target": "active", "expression": ACTIVE_EXPRESSION},
    {"target": 'emails[type eq "work"].value', "source": "mail"},
    {"target": "name.givenName", "source": "givenName"},
    {"target": "name.familyName", "source": "surname"},
    {"target": 'phoneNumbers[type eq "mobile"].value', "source": "mobile"},
]

GROUP_MAPPINGS: list[MappingSpec] = [
    {"target": "displayName", "source": "displayName", "match": 1},
]

#: ``[source] type = "scim"`` without ``[[mappings.users]]``: the SCIM user passes through
#: unchanged, each attribute from the same SCIM path of the source (engine/sources/scim.py
#: flattens the source resource into those paths). ``active`` keeps Entra's expression (the
#: source's ``active`` is ``accountEnabled``), so a user disabled or removed in the source is
#: disabled in the target; ``manager`` is sent as the manager's target id. ``id`` and ``meta``
#: are the target's own, and ``externalId`` passes through as the source has it (map
#: ``objectId`` to it to anchor the target user on the source's id). Passwords are never read.
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM_USER_MAPPINGS: list[MappingSpec] = [
    {"target": "userName", "source": "userName", "match": 1},
    {"target": "active", "expression": ACTIVE_EXPRESSION},
    {"target": "externalId", "source": "externalId"},
    {"target": "displayName", "source": "displayName"},
    {"target": "nickName", "source": "nickName"},
    {"target": "title", "source": "title"},
    {"target": "userType", "source": "userType"},
    {"target": "preferredLanguage", "source": "preferredLanguage"},
    {"target": "locale", "source": "locale"},
    {"target": "timezone", "source": "timezone"},
    {"target": "profileUrl", "source": "profileUrl"},
    *({"target": f"name.{part}", "source": f"name.{part}"}
      for part in ("formatted", "givenName", "familyName", "middleName", "honorificPrefix",
                   "honorificSuffix")),
    *({"target": f'emails[type eq "{kind}"].value', "source": f'emails[type eq "{kind}"].value'}
      for kind in ("work", "home", "other")),
    *({"target": f'phoneNumbers[type eq "{kind}"].value',
       "source": f'phoneNumbers[type eq "{kind}"].value'}
      for kind in ("work", "mobile", "home", "fax", "pager", "other")),
    *({"target": f'addresses[type eq "work"].{part}', "source": f'addresses[type eq "work"].{part}'}
      for part in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")),
    *({"target": f"{_ENTERPRISE}:{name}", "source": f"{_ENTERPRISE}:{name}"}
      for name in ("employeeNumber", "costCenter", "organization", "division", "department")),
    {"target": f"{_ENTERPRISE}:manager", "source": "manager"},
]

#: A SCIM source's groups: by ``displayName`` (matching) and ``externalId``; members follow.
SCIM_GROUP_MAPPINGS: list[MappingSpec] = [
    {"target": "displayName", "source": "displayName", "match": 1},
    {"target": "externalId", "source": "externalId"},
]
