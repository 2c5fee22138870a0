"""Admins: the tenant's admins, invitations, removal; and each admin's own account."""

from __future__ import annotations

from starlette.routing import BaseRoute

from scimhub.console.context import Console


def admin_routes(console: Console) -> list[BaseRoute]:
    return []
