"""The environment variables ``scimhub serve`` hands its workers the operating options in.

uvicorn's workers build the application from the environment
(:func:`scimhub.web.app_from_environment`); one name per option, kept here so that the command
and the modules that read them cannot disagree.
"""

from __future__ import annotations

from typing import Final

#: ``--tenant-rate-limit``: every tenant's default limit ("200/s"); unset: no limit.
RATE_LIMIT_ENV: Final = "SCIMHUB_TENANT_RATE_LIMIT"
#: ``--redis``: where the limits' counters live; unset: in the process.
REDIS_ENV: Final = "SCIMHUB_REDIS_URL"
#: ``--metrics``: "1" serves ``GET /metrics``.
METRICS_ENV: Final = "SCIMHUB_METRICS"
#: ``--metrics-token``: the bearer token ``/metrics`` requires, when set.
METRICS_TOKEN_ENV: Final = "SCIMHUB_METRICS_TOKEN"  # noqa: S105 - a variable's name
#: ``--audit-retention``: how long the audit and activity logs keep entries ("90d"; "0": ever).
RETENTION_ENV: Final = "SCIMHUB_AUDIT_RETENTION"
