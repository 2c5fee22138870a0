"""The SCIM server: the service provider's HTTP side, at ``/scim/v2``.

What other packages may use is exported here (``__all__``); the rest is the server's
own. The console, served beside SCIM, uses only this API: it depends on the server,
never the reverse (``tests/test_layering.py`` enforces it). The whole application
(SCIM, health, console) is composed above both, in :mod:`scimhub.web`.
"""

from scimhub.server.context import AppContext
from scimhub.server.hosts import HostPolicy, public_base, tenant_url

__all__ = ["AppContext", "HostPolicy", "public_base", "tenant_url"]
