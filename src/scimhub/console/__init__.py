"""The admin console: sign-in, API Settings, the directory, activity and provisioning.

Served by ``scimhub serve`` at ``/``, beside SCIM at ``/scim/v2``.
"""

from scimhub.console.routes import console_routes, scim_audit

__all__ = ["console_routes", "scim_audit"]
