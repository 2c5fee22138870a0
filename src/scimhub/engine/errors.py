"""Every failure the engine raises, under one root, so a caller catches ``EngineError`` once.

::

    EngineError                   anything the engine could not do; the message says what
    ├── ConfigError (ValueError)  a job file that cannot run; names the file and the key
    │   └── MappingError          one attribute mapping that cannot be used; names it
    │       └── SchemaMismatch    mappings naming attributes the target does not advertise
    ├── ExpressionError           an expression that does not parse (position included)
    │   └── EvaluationError       a function that cannot use the values it was given
    ├── SourceError (ValueError)  source data that cannot be read; names the object at fault
    │   └── SourceCredentialsRejected  the directory refused the bind: quarantined like a 401
    ├── TargetError               what a SCIM target answered (translated in target/client.py):
    │   │                         code (Entra's provisioning-log code), status, scim_type, detail
    │   ├── Transient             timeouts, connection errors, 408, 5xx: retried with back-off
    │   │   ├── Throttled         429: retried after Retry-After
    │   │   └── AnswerLost        a write that is not safe to resend reached the target, no answer
    │   ├── Rejected              any other 4xx: recorded against the object; the cycle goes on
    │   │   └── Conflict          409/412: the object already exists (or changed) in the target
    │   ├── Unreachable           nothing sent to this target can succeed: the job is quarantined
    │   │   └── CredentialsRejected 401/403
    │   ├── DuplicateTargetEntries  a match query found more than one resource
    │   └── ServiceIncompatible   a success the engine cannot read (not JSON, no id, ...)
    ├── JobTargetChanged          the job file names a job whose state belongs to another target
    ├── JobStopped                'scimhub job stop' was run for the job
    ├── JobBusy                   another engine worker holds the job's lease
    │   └── LeaseLost             ... and took it over during this worker's cycle
    └── DeletionThresholdExceeded the accidental-deletion guard stopped the cycle

The classes live here and nowhere else; the modules that raise them re-export them under
their old names (``scimhub.engine.config.ConfigError``, ``scimhub.engine.runner.JobBusy``...)
so existing imports keep working. The store's own errors (``NoSuchJob``, ``JobExists`` in
``scimhub.store.provisioning``) stay in the store, which does not depend on the engine; the
command line maps them to messages.

This module imports nothing from the engine, so every engine module can import it.
"""

from __future__ import annotations

MULTIPLE_ENTRIES = "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse"
INCOMPATIBLE = "SystemForCrossDomainIdentityManagementServiceIncompatible"


class EngineError(Exception):
    """The root: ``scimhub sync`` reports any of these as the job's failure and goes on."""


class ConfigError(EngineError, ValueError):
    """A job file that cannot run; the message names the file and the key.

    Still a ``ValueError``, as it was before the engine had a root."""


class MappingError(ConfigError):
    """A mapping that cannot be used; the message names the mapping (the job loader prefixes
    the file). A kind of ``ConfigError`` because a mapping is part of the job's file."""


class SchemaMismatch(MappingError):
    """The job's mappings name attributes the target does not advertise in its ``/Schemas``
    and ``/ResourceTypes`` (engine/target/schema.py): nothing was written. A ``MappingError``
    because the job file (or the target's schema) has to change; ``problems`` holds one line
    per mapping at fault."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        super().__init__(problems[0] if len(problems) == 1
                         else "\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


class ExpressionError(EngineError):
    """A mapping expression that does not parse (``parse_expression``), or, as its subclass
    ``EvaluationError``, an object whose attributes a function cannot use (``evaluate``).
    Carries the 0-based character position in the expression text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"at position {self.position}: {self.message}"


class EvaluationError(ExpressionError):
    """A function could not use the values it was given (e.g. ``CDate("soon")``)."""


class SourceError(EngineError, ValueError):
    """Bad source data; the message names the file and the line or object at fault."""


class SourceCredentialsRejected(SourceError):
    """The directory refused the source's credentials (an LDAP bind answered
    invalidCredentials, a SCIM source's 401/403): every cycle would fail the same way until
    someone fixes them, so the runner quarantines the job with this reason, as it does for a
    rejected target token. The message never holds the secret."""


class JobTargetChanged(EngineError):
    """The job file names a job whose state belongs to another target: nothing was run."""


class JobStopped(EngineError):
    """``scimhub job stop`` was run for this job."""


class JobBusy(EngineError):
    """Another engine worker holds the job's lease: it runs there, not here."""


class LeaseLost(JobBusy):
    """This worker's lease ran out during a cycle and another worker holds it now."""


class DeletionThresholdExceeded(EngineError):
    """The cycle would disable or delete more than the job allows: nothing was deprovisioned
    (Entra's accidental-deletions prevention, docs/entra.md §2.2)."""

    def __init__(self, planned: int, threshold: int) -> None:
        super().__init__(f"the cycle would disable or delete {planned} objects, more than the "
                         f"threshold of {threshold}; run 'scimhub job allow-deletes' to let it")
        self.planned = planned
        self.threshold = threshold


class TargetError(EngineError):
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
