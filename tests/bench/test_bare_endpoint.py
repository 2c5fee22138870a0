"""The bare endpoint (bench/bare_endpoint.py) is only a fair baseline if it really does the
work the Entra workload asks for: the workload's own end-state verification must pass against
it on both databases, and what it does not understand must be refused (400/401), not lost.

Each test starts the script as a real process on a free loopback port and stops it.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import temporary_database

BENCH = Path(__file__).resolve().parents[2] / "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Bare:
    """A running bare endpoint: its SCIM base URL and token."""

    def __init__(self, database: str, workdir: Path) -> None:
        self.token = secrets.token_urlsafe(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/scim/v2"
        self.log = workdir / "bare.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(BENCH / "bare_endpoint.py"), "--port", str(self.port),
                 "--database", database],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "SCIM_TOKEN": self.token})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"bare endpoint did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)


@pytest.fixture(params=["sqlite", "postgresql"])
def bare(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bare]:
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(temporary_database("bare_bench"))
        else:
            url = f"sqlite:///{tmp_path / 'bare.db'}"
        server = Bare(url, tmp_path)
        stack.callback(server.stop)
        yield server


def test_entra_workload_verifies_against_the_bare_endpoint(bare: Bare, tmp_path: Path) -> None:
    """Every phase answers as expected and the end state (patched values, disabled users,
    group members after adds and removes, the paged listing) is what was written."""
    out = subprocess.run(
        [sys.executable, str(BENCH / "entra_workload.py"), "--url", bare.url,
         "--users", "150", "--groups", "3", "--members", "120", "--page-size", "40",
         "--json", str(tmp_path / "figures.json")],
        env={**os.environ, "SCIM_TOKEN": bare.token}, capture_output=True, text=True,
        timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "verification: PASS" in out.stdout


def test_bare_endpoint_refuses_what_it_does_not_do(bare: Bare) -> None:
    """A wrong token is 401; a filter, a PATCH path or a body it does not understand is a
    SCIM error with 400, never a 500 (a baseline that dropped them would look faster)."""
    headers = {"Authorization": f"Bearer {bare.token}", "Content-Type": "application/scim+json"}
    with httpx.Client(base_url=bare.url, headers=headers, timeout=10) as client:
        assert client.get("/Users", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/Users").status_code == 200
        bad_filter = client.get("/Users", params={"filter": 'emails.value co "x"'})
        assert bad_filter.status_code == 400
        assert bad_filter.json()["status"] == "400"
        assert client.post("/Users", content=b"{not json").status_code == 400
        created = client.post("/Users", json={"userName": "a@example.com",
                                              "name": {"familyName": "A"}})
        assert created.status_code == 201
        rid = created.json()["id"]
        assert client.post("/Users", json={"userName": "a@example.com"}).status_code == 409
        unknown_path = client.patch(f"/Users/{rid}", json={"Operations": [
            {"op": "Replace", "path": "title", "value": "x"}]})
        assert unknown_path.status_code == 400
        assert client.get(f"/Users/{rid}").json()["name"] == {"familyName": "A"}
        group = client.post("/Groups", json={"displayName": "g"}).json()["id"]
        unknown_member = client.patch(f"/Groups/{group}", json={"Operations": [
            {"op": "Add", "path": "members", "value": [{"value": "no-such-user"}]}]})
        assert unknown_member.status_code == 400
        assert client.get(f"/Groups/{group}").json()["members"] == []
        assert client.patch("/Groups/none", json={"Operations": []}).status_code == 404
