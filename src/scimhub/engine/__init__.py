"""The provisioning engine: what Entra ID's provisioning service does, for any SCIM 2.0 target.

This module is the engine's public surface: the command line, the console and the demo
import from here and nowhere deeper (``tests/test_layering.py`` holds them to it), so
that everything under ``scimhub.engine`` can be reshaped without touching them.

A cycle runs Entra's steps (docs/entra.md §2.1, §2.10), each in a module of that name:

- ``sources/``      import: read the directory (``sources/base.py`` is the contract a new
                    source implements; ``file.py`` reads a JSON or CSV export)
- ``cycle/plan``    scope (assignment and scoping filters), change detection, the
                    accidental-deletion guard
- ``cycle/match``   match by the matching attributes, link, or create
- ``cycle/provision`` the action: create, update, disable, delete; escrow of failures
- ``cycle/memberships``, ``cycle/managers`` references, once both ends are linked
- ``target/``       the SCIM client, its retry policy, Test Connection, schema discovery
- ``mapping``, ``expressions/``, ``scoping``  what the job file says, parsed and checked
- ``runner``        one cycle with quarantine around it, or every job on its interval
- ``metrics``       what the runner reports (an ``Observer``), kept for Prometheus
- ``on_demand``     one object through the same steps, now
"""

from scimhub.engine.config import JobConfig, load_jobs
from scimhub.engine.cycle.summary import CycleSummary
from scimhub.engine.errors import (
    ConfigError,
    EngineError,
    JobTargetChanged,
    SourceCredentialsRejected,
    SourceError,
    TargetError,
)
from scimhub.engine.log_export import write_csv
from scimhub.engine.metrics import EngineMetrics, MetricsServer, Observer, serve_metrics
from scimhub.engine.on_demand import OnDemandReport, provision_user
from scimhub.engine.runner import (
    report_stored_state,
    run_forever,
    run_once,
    terminal_progress,
    without_queries,
)
from scimhub.engine.sample import next_day, sample_directory
from scimhub.engine.target.connection import ConnectionReport, Step, test_connection
from scimhub.engine.target.schema import listing, listing_lines, read_schema

__all__ = [
    "ConfigError",
    "ConnectionReport",
    "CycleSummary",
    "EngineError",
    "EngineMetrics",
    "JobConfig",
    "JobTargetChanged",
    "MetricsServer",
    "Observer",
    "OnDemandReport",
    "SourceCredentialsRejected",
    "SourceError",
    "Step",
    "TargetError",
    "listing",
    "listing_lines",
    "load_jobs",
    "next_day",
    "provision_user",
    "read_schema",
    "report_stored_state",
    "run_forever",
    "run_once",
    "sample_directory",
    "serve_metrics",
    "terminal_progress",
    "test_connection",
    "without_queries",
    "write_csv",
]
