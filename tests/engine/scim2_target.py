"""scim2-server, the python-scim project's reference SCIM server, as a second test target.

"Never rely on what scimhub does as a target": the engine's end-to-end tests run against this
server too. It is started with ``bench/scim2_server.sh`` (gunicorn, one worker, in-memory
storage, ``bench/scim2_server_app.py``), which creates ``bench/.venv-scim2-server`` from PyPI on
first use, so the test command needs nothing installed beforehand: the first start takes about
30 seconds, later ones a second. The server keeps everything in memory: a fixture that wants an
empty target starts its own.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parents[2] / "bench"
#: The first start installs scim2-server and gunicorn into a venv: allow for a slow index.
FIRST_START_SECONDS = 600.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Scim2Server:
    """One scim2-server process on a free port; ``scim_url`` is its SCIM base URL."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_urlsafe(24)
        self.scim_url = f"http://127.0.0.1:{self.port}/v2"
        self.log = workdir / "scim2-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Scim2Server:
        env = {**os.environ, "SCIM2_BENCH_TOKEN": self.token}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["bash", str(BENCH / "scim2_server.sh"), str(self.port), "4"],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + FIRST_START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"scim2-server exited ({self.proc.returncode}): "
                                   f"{self.log.read_text()[-2000:]}")
            try:
                answer = httpx.get(f"{self.scim_url}/ResourceTypes", timeout=2,
                                   headers={"Authorization": f"Bearer {self.token}"})
                if answer.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"scim2-server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: gunicorn and its worker
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.scim_url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token}"})
