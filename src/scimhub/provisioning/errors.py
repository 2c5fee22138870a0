"""The engine's one exception tree for what a SCIM target answered (translated in target.py)."""

from __future__ import annotations


class TargetError(Exception):
    """``code`` is the error code of Entra's provisioning log (ENTRA.md §2.10)."""

    def __init__(self, code: str, detail: str, status: int | None = None,
                 scim_type: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status
        self.scim_type = scim_type


class Transient(TargetError):
    """Timeouts, connection errors and 5xx: retried with back-off."""


class Throttled(Transient):
    """429: retried after ``Retry-After``."""

    def __init__(self, detail: str, retry_after: float | None) -> None:
        super().__init__("TooManyRequests", detail, 429)
        self.retry_after = retry_after


class Rejected(TargetError):
    """A 4xx other than 401/403/429: recorded against the object; the cycle goes on."""


class CredentialsRejected(TargetError):
    """401/403: nothing will succeed with this token; the job stops (and is quarantined)."""


class DuplicateTargetEntries(TargetError):
    """A match query found more than one object (Entra: MultipleEntriesInResponse)."""


class ServiceIncompatible(TargetError):
    """A success whose body the engine cannot read."""
