"""SCIM responses: ``application/scim+json`` bodies serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from scimhub.scim.errors import ScimError

SCIM_JSON = "application/scim+json"


class ScimResponse(Response):
    media_type = SCIM_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> ScimResponse:
    return ScimResponse(error.to_document(), status_code=error.status, headers=headers)
