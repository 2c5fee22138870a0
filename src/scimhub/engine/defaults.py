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
