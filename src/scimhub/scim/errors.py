"""One exception tree for every SCIM error (RFC 7644 §3.12).

Each error knows its HTTP ``status`` and, where the RFC defines one, its
``scimType``, so that every layer can raise the precise error and only the
HTTP boundary turns it into a response body.
"""

from __future__ import annotations

from scimhub.scim.types import ERROR, ErrorBody


class ScimError(Exception):
    status: int = 400
    scim_type: str | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def to_document(self) -> ErrorBody:
        body: ErrorBody = {"schemas": [ERROR], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class TooMany(ScimError):
    scim_type = "tooMany"


class RateLimited(ScimError):
    """Over the tenant's request rate: ``429`` with ``Retry-After`` (RFC 6585 §4), which Entra,
    Okta and Slack's clients honour. RFC 7644 defines no ``scimType`` for it."""

    status = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        #: Whole seconds until a request would be allowed again (at least 1).
        self.retry_after = max(1, retry_after)


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"


class Mutability(ScimError):
    scim_type = "mutability"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class NoTarget(ScimError):
    scim_type = "noTarget"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidVersion(ScimError):
    scim_type = "invalidVers"  # RFC 7644 §3.12 spells it so


class Sensitive(ScimError):
    scim_type = "sensitive"


class Unauthorized(ScimError):
    status = 401


class Forbidden(ScimError):
    status = 403


class NotFound(ScimError):
    status = 404


class MethodNotAllowed(ScimError):
    status = 405


class NotAcceptable(ScimError):
    status = 406


class PreconditionFailed(ScimError):
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class UnsupportedMediaType(ScimError):
    status = 415


class NotImplementedFeature(ScimError):
    status = 501


class InvalidCursor(ScimError):
    """RFC 9865 §2.3: a cursor that is malformed or does not fit the query."""

    scim_type = "invalidCursor"
