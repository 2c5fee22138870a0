"""``scimhub demo``: both halves end to end on SQLite."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--dir", "workdir", default="scimhub-demo", show_default=True,
              type=click.Path(path_type=Path), help="Where the demo keeps its files.")
@click.option("--users", default=300, show_default=True)
@click.option("--serve/--no-serve", default=True, help="Keep serving after the cycles.")
def demo(host: str, port: int, workdir: Path, users: int, serve: bool) -> None:
    """The whole loop on SQLite: a service provider, a tenant, and the engine provisioning
    a sample directory into it (initial cycle, then changes and an incremental cycle)."""
    from scimhub.demo import run_demo

    run_demo(host, port, workdir, users, serve)
