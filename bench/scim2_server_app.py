"""WSGI entry point for the reference SCIM server ``scim2-server``, for gunicorn.

scim2-server's own CLI (``scim2_server.testserver.cli:main``) builds its app inline
and serves it with ``wsgiref``'s threading server, which is no fair match for a
production ASGI server. This module rebuilds the same app as the CLI does with its
defaults (RFC 7643 User/Group/EnterpriseUser schemas and the User/Group resource
types shipped in the package, the packaged service provider config, one
``InMemoryStorage``) so that gunicorn can serve it:

    gunicorn --chdir bench --worker-class gthread --workers 1 --threads 8 \\
        scim2_server_app:app

Only one worker may be used: the storage lives in the worker's memory.
If ``SCIM2_BENCH_TOKEN`` is set, the app accepts only that bearer token (as the CLI's
``--bearer-token`` does), so the reference pays for an auth check as scimhub does.
The SCIM base URL is ``http://HOST:PORT/v2``.

This module imports ``scim2_server``, which is installed only in
``bench/.venv-scim2-server`` (see ``bench/scim2_server.sh``), never in the project venv.
"""

from __future__ import annotations

import os

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)


def build_app(token: str | None = None) -> BearerTokenApplication:
    """Build the app exactly as ``scim2-server`` does without options (plus an optional token).

    Mirroring the CLI keeps the benchmark honest: we measure the reference as its
    authors ship it, not a tuned variant.
    """
    config = load_default_service_provider_config()
    if token:
        schemes = config.authentication_schemes or []
        config.authentication_schemes = [*schemes, BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=config,
    )
    service = ScimService(provider, secret=os.environ.get("SCIM2_SERVER_SECRET"))
    return BearerTokenApplication(
        InMemoryStorage(), provider, service=service, bearer_tokens=[token] if token else []
    )


app = build_app(os.environ.get("SCIM2_BENCH_TOKEN") or None)
