"""What the command modules share: the --database option and opening the stores."""

from __future__ import annotations

from pathlib import Path

import click

from scimhub.engine import ConfigError, JobConfig, load_jobs
from scimhub.logs import ENV as LOG_FORMAT_ENV
from scimhub.logs import FORMATS as LOG_FORMATS
from scimhub.logs import configure as configure_logging
from scimhub.security import TokenVault
from scimhub.store.database import Database, database_url
from scimhub.store.migrate import migrate
from scimhub.store.tenants import TenantStore

database_option = click.option(
    "--database", "database", default=None,
    help="Database URL (default: $SCIMHUB_DATABASE_URL, else sqlite:///./scimhub.db).",
)


def _set_log_format(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        configure_logging("json" if value == "json" else "text")


def log_format_option() -> click.Option:
    """``--log-format text|json`` (default ``$SCIMHUB_LOG_FORMAT``, else text): every command
    takes it, before or after its name."""
    return click.Option(["--log-format"], type=click.Choice(LOG_FORMATS), default=None,
                        envvar=LOG_FORMAT_ENV, expose_value=False, is_eager=True,
                        callback=_set_log_format,
                        help="text, or one JSON object per line (default: "
                             f"${LOG_FORMAT_ENV}, else text).")


def open_database(database: str | None) -> Database:
    """The database, created or migrated to the current schema."""
    db = Database(database_url(database))
    migrate(db)
    return db


def open_tenants(database: str | None) -> TenantStore:
    return TenantStore(open_database(database), TokenVault.from_environment())


def load_job_file(config: Path, name: str | None) -> list[JobConfig]:
    """The jobs of a job file (only ``name`` when given), or a one-line error."""
    try:
        jobs = load_jobs(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if name:
        jobs = [j for j in jobs if j.name == name]
        if not jobs:
            raise click.ClickException(f"{config}: no job named {name!r}")
    return jobs
