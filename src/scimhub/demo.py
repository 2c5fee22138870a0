"""``scimhub demo``: both halves of provisioning, end to end, on the embedded default."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx

from scimhub.engine import CycleSummary, load_jobs, next_day, run_once, sample_directory
from scimhub.security import random_password
from scimhub.store.database import Database
from scimhub.store.migrate import migrate

JOB = """[job]
name = "demo"
interval = "40m"

[source]
type = "file"
path = "directory.json"

[target]
url = "{url}"
token_env = "SCIMHUB_DEMO_TOKEN"

[scope]
mode = "assigned"
"""


def run_demo(host: str, port: int, workdir: Path, users: int, serve: bool) -> None:
    started = time.perf_counter()
    if workdir.exists():
        for name in ("scimhub.db", "scimhub.db-wal", "scimhub.db-shm", "directory.json",
                     "job.toml", "server.log"):
            (workdir / name).unlink(missing_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(workdir / 'scimhub.db').resolve()}"
    env = {**os.environ, "SCIMHUB_DATABASE_URL": url,
           "SCIMHUB_KEY_FILE": os.environ.get("SCIMHUB_KEY_FILE",
                                              str((workdir / "scimhub.key").resolve()))}
    password = random_password()
    created = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "scimhub", "tenant", "create", "demo", "--admin-email",
         "admin@demo.example", "--admin-password", password, "--json"],
        env=env, capture_output=True, text=True, check=True)
    token = json.loads(created.stdout)["token"]
    base = f"http://{host}:{port}"
    server = _start_server(host, port, env, workdir)
    try:
        directory = sample_directory(users=users)
        (workdir / "directory.json").write_text(json.dumps(directory, indent=1))
        (workdir / "job.toml").write_text(JOB.format(url=f"{base}/scim/v2"))
        os.environ["SCIMHUB_DEMO_TOKEN"] = token
        [job] = load_jobs(workdir / "job.toml")
        db = Database(url)
        migrate(db)
        initial = asyncio.run(run_once(job, db))
        changes = next_day(directory)
        (workdir / "directory.json").write_text(json.dumps(directory, indent=1))
        incremental = asyncio.run(run_once(job, db))
        _report(base, token, password, workdir, url, initial, incremental, changes,
                time.perf_counter() - started)
        if serve:
            click.echo("Serving; stop with Ctrl-C.")
            server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        server.wait(timeout=15)


def _start_server(host: str, port: int, env: dict[str, str], workdir: Path
                  ) -> subprocess.Popen[bytes]:
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "scimhub", "serve", "--host", host, "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        if server.poll() is not None:
            raise click.ClickException(
                f"scimhub serve exited (is port {port} free?): see {workdir / 'server.log'}")
        try:
            if httpx.get(f"http://{host}:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise click.ClickException(f"scimhub serve did not start: see {workdir / 'server.log'}")


def _line(summary: CycleSummary) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts.items())) or "no change"
    return (f"{summary.kind:<11} cycle: {counts}; {summary.failures} failures, "
            f"{summary.requests} requests in {summary.duration_s:.1f} s")


def _report(base: str, token: str, password: str, workdir: Path, url: str,
            initial: CycleSummary, incremental: CycleSummary, changes: list[str],
            seconds: float) -> None:
    script = Path(sys.executable).parent / "scimhub"
    which = str(script) if script.exists() else shutil.which("scimhub") or "scimhub"
    changed = "\n".join(f"    - {c}" for c in changes)
    click.echo(f"""
scimhub demo ({seconds:.1f} s) — files in {workdir}/

  1. service provider   {base}/scim/v2  (SQLite: {url})
  2. tenant "demo"      Secret Token {token}
  3. engine, {_line(initial)}
  4. the directory changed:
{changed}
  5. engine, {_line(incremental)}

Where to look:
  console        {base}/   (admin@demo.example / {password})
  SCIM           curl -H 'Authorization: Bearer {token}' '{base}/scim/v2/Users?count=5'
  provisioning   {which} logs --database {url} --job demo --limit 20
  the job        {workdir / 'job.toml'}
  run it again   {which} sync --config {workdir / 'job.toml'} --once --database {url}
""")
