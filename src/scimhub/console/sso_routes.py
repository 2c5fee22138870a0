"""Single sign-on: a tenant's OpenID Connect sign-in, its settings page and its callback."""

from __future__ import annotations

from starlette.routing import BaseRoute

from scimhub.console.context import Console


def sso_routes(console: Console) -> list[BaseRoute]:
    return []
