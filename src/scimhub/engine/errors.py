"""The engine's one exception tree for what a SCIM target answered (translated in target.py).

::

    TargetError                 code (Entra's provisioning-log code), status, scim_type, detail
    ├── Transient               timeouts, connection errors, 408, 5xx: retried with back-off
    │   ├── Throttled           429: retried after Retry-After
    │   └── AnswerLost          a write that is not safe to resend reached the target, no answer
    ├── Rejected                any other 4xx: recorded against the object; the cycle goes on
    │   └── Conflict            409/412: the object already exists (or changed) in the target
    ├── Unreachable             nothing sent to this target can succeed: the job is quarantined
    │   └── CredentialsRejected 401/403
    ├── DuplicateTargetEntries  a match query found more than one resource
    └── ServiceIncompatible     a success the engine cannot read (not JSON, no id, ...)
"""

from __future__ import annotations

MULTIPLE_ENTRIES = "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse"
INCOMPATIBLE = "SystemForCrossDomainIdentityManagementServiceIncompatible"


class TargetError(Exception):
    """``code`` is the error code of Entra's provisioning log (docs/entra.md §2.10)."""

    def __init__(self, code: str, detail: str, status: int | None = None,
                 scim_type: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status
        self.scim_type = scim_type


class Transient(TargetError):
    """The target may answer differently in a moment: retried with back-off."""


class Throttled(Transient):
    """429: retried after ``retry_after`` seconds when the target said how long."""

    def __init__(self, detail: str, retry_after: float | None,
                 scim_type: str | None = None) -> None:
        super().__init__("TooManyRequests", detail, 429, scim_type)
        self.retry_after = retry_after


class AnswerLost(Transient):
    """A non-idempotent write (a create, a member add) left in full and its answer was lost: the
    connection dropped, the answer timed out, or a 408/5xx came back, possibly from a gateway
    after the target did the work. Resending could make a second object, so the caller looks
    the object up first (target.py ``create_or_find``, ``add_members``)."""

    def __init__(self, error: TargetError) -> None:
        super().__init__(error.code, error.detail, error.status, error.scim_type)


class Rejected(TargetError):
    """The target refused this object's request: recorded against the object."""


class Conflict(Rejected):
    """409 (uniqueness: the object exists already) or 412 (it changed meanwhile)."""

    def __init__(self, detail: str, scim_type: str | None = None, status: int = 409) -> None:
        super().__init__("Conflict", detail, status, scim_type)


class Unreachable(TargetError):
    """Fatal for the job: every request would fail the same way, so the caller quarantines."""


class CredentialsRejected(Unreachable):
    """401/403: the Secret Token is wrong, expired or not allowed to provision."""


class DuplicateTargetEntries(TargetError):
    """A match query found more than one resource, so the engine cannot tell which is its own."""

    def __init__(self, detail: str) -> None:
        super().__init__(MULTIPLE_ENTRIES, detail)


class ServiceIncompatible(TargetError):
    """A success whose body the engine cannot read."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(INCOMPATIBLE, detail, status)
