"""``scimhub serve``: the SCIM endpoint and the console in one uvicorn process tree."""

from __future__ import annotations

import os
import shutil
import tempfile

import click

from scimhub.cli.options import database_option
from scimhub.logs import uvicorn_log_config
from scimhub.rates import BadRate
from scimhub.server.environment import (
    METRICS_ENV,
    METRICS_TOKEN_ENV,
    RATE_LIMIT_ENV,
    REDIS_ENV,
    RETENTION_ENV,
)
from scimhub.server.hosts import PUBLIC_URL_ENV, TRUSTED_HOSTS_ENV, BadPublicUrl, HostPolicy
from scimhub.server.metrics import MULTIPROC_ENV
from scimhub.server.ratelimit import BadRedisUrl, TenantRateLimits
from scimhub.server.request_log import ACCESS_LOG_ENV
from scimhub.store.database import Database, database_url
from scimhub.store.migrate import migrate


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--access-log/--no-access-log", default=None,
              help="One log line per request (request id, tenant id, route, status, "
                   "duration; never the query string). Default: on with --log-format json, "
                   "off with text.")
@click.option("--public-url", envvar=PUBLIC_URL_ENV, default=None, metavar="URL",
              help="The base URL clients reach this server at (e.g. https://scim.example.com): "
                   "used in Location, meta.location and the console's Tenant URL "
                   f"(default: ${PUBLIC_URL_ENV}).")
@click.option("--trusted-hosts", envvar=TRUSTED_HOSTS_ENV, default="", metavar="NAMES",
              help="More Host names to answer, comma-separated (localhost, 127.0.0.1, ::1, "
                   "--host and the --public-url host always are); other Hosts get 400.")
@click.option("--forwarded-allow-ips", envvar="FORWARDED_ALLOW_IPS", default="",
              metavar="IPS",
              help="Addresses of proxies whose X-Forwarded-For and X-Forwarded-Proto are "
                   "believed, comma-separated (default: $FORWARDED_ALLOW_IPS, else none).")
@click.option("--tenant-rate-limit", envvar=RATE_LIMIT_ENV, default=None, metavar="RATE",
              help="Every tenant's SCIM request limit, e.g. 200/s (requests per second, with a "
                   "burst); `scimhub tenant limit` overrides it per tenant. Off when not given "
                   f"(default: ${RATE_LIMIT_ENV}).")
@click.option("--redis", "redis_url", envvar=REDIS_ENV, default=None, metavar="URL",
              help="Keep the rate limits' counters in Redis (redis://host:6379/0), so that "
                   "every process and machine shares one limit; in the process when not given "
                   f"(default: ${REDIS_ENV}).")
@click.option("--metrics/--no-metrics", envvar=METRICS_ENV, default=False, show_default=True,
              help=f"Serve Prometheus metrics at GET /metrics (default: ${METRICS_ENV}).")
@click.option("--metrics-token", envvar=METRICS_TOKEN_ENV, default=None, metavar="TOKEN",
              help="Require `Authorization: Bearer TOKEN` on /metrics (default: "
                   f"${METRICS_TOKEN_ENV}; without it /metrics is open to whoever reaches it).")
@click.option("--audit-retention", envvar=RETENTION_ENV, default="90d", show_default=True,
              metavar="AGE",
              help="How long the activity and audit logs keep entries (e.g. 90d, 12h; 0 keeps "
                   f"them forever) (default: ${RETENTION_ENV}).")
@database_option
def serve(host: str, port: int, workers: int, access_log: bool | None,
          public_url: str | None,
          trusted_hosts: str, forwarded_allow_ips: str, tenant_rate_limit: str | None,
          redis_url: str | None, metrics: bool, metrics_token: str | None,
          audit_retention: str, database: str | None) -> None:
    """Run the SCIM endpoint at /scim/v2 and the console at /."""
    try:
        hosts = HostPolicy.build(public_url=public_url, bind_host=host,
                                 trusted=trusted_hosts.split(","))
    except BadPublicUrl as exc:
        raise click.BadParameter(str(exc), param_hint="--public-url") from None
    try:  # the workers read them again; a bad one must stop here, not in every worker
        TenantRateLimits.from_options(tenant_rate_limit, redis_url)
    except BadRate as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant-rate-limit") from None
    except BadRedisUrl as exc:
        raise click.BadParameter(str(exc), param_hint="--redis") from None
    if host in ("0.0.0.0", "::") and not public_url and not trusted_hosts.strip():  # noqa: S104
        click.echo("scimhub: listening on every address, but only Host headers naming this "
                   "machine locally are answered: give --public-url (or --trusted-hosts) with "
                   "the name clients use.", err=True)
    url = database_url(database)
    db = Database(url)
    migrate(db)  # once, before any worker starts
    db.dispose()
    os.environ["SCIMHUB_DATABASE_URL"] = url
    os.environ.update(hosts.to_environment())  # what the workers' app reads
    # The operating options reach the workers the same way; each module that uses one reads
    # and checks its own variable (server/ratelimit.py, server/metrics.py, console/retention.py).
    for name, value in ((RATE_LIMIT_ENV, tenant_rate_limit), (REDIS_ENV, redis_url),
                        (METRICS_ENV, "1" if metrics else "0"),
                        (METRICS_TOKEN_ENV, metrics_token), (RETENTION_ENV, audit_retention)):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    if access_log is None:
        os.environ.pop(ACCESS_LOG_ENV, None)  # the request log follows the log format
    else:
        os.environ[ACCESS_LOG_ENV] = "1" if access_log else "0"
    if not (metrics and workers > 1):
        run_server(host, port, workers, forwarded_allow_ips)
        return
    # Each worker counts in files here, which /metrics adds up (server/metrics.py). Fresh
    # for every start, so that a previous run's counts are not added to this one's.
    directory = tempfile.mkdtemp(prefix="scimhub-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        run_server(host, port, workers, forwarded_allow_ips)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_server(host: str, port: int, workers: int, forwarded_allow_ips: str = "") -> None:
    """``forwarded_allow_ips`` empty: the client address and scheme are the connection's own,
    whatever X-Forwarded-* headers say. uvicorn's own access log stays off (it prints the
    query string); the application writes the request log (server/request_log.py)."""
    import uvicorn

    uvicorn.run(
        "scimhub.web:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        access_log=False,
        log_config=uvicorn_log_config(),
        log_level="info",
        loop="uvloop",
        http="httptools",
        proxy_headers=bool(forwarded_allow_ips.strip()),
        forwarded_allow_ips=forwarded_allow_ips,
        lifespan="on",
    )
