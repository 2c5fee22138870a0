"""Starting and stopping a real ``scimhub serve`` process for tests and benchmarks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scimhub(*args: str, env: dict[str, str]) -> str:
    """Run the scimhub command line and return what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "scimhub", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scimhub {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@dataclass
class ServerProcess:
    database: str
    workdir: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    #: More ``scimhub serve`` options, e.g. ``("--public-url", "https://scim.example")``.
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SCIMHUB_DATABASE_URL": self.database,
            "SCIMHUB_KEY_FILE": str(self.workdir / "secret.key"),
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def scim_url(self) -> str:
        return f"{self.url}/scim/v2"

    def create_tenant(self, name: str) -> dict[str, str]:
        out = scimhub("tenant", "create", name, "--admin-email", f"admin@{name}.example",
                      "--admin-password", "correct horse battery", "--json", env=self.env)
        return dict(json.loads(out))

    def start(self) -> None:
        log = open(self.workdir / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scimhub", "serve", "--port", str(self.port),
             "--workers", str(self.workers), *self.args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scimhub serve exited: {self.log_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"scimhub serve did not become healthy: {self.log_text()}")

    def log_text(self) -> str:
        path = self.workdir / f"server-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
