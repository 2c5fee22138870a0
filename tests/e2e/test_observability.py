"""Metrics and JSON logs from a real ``scimhub serve`` process.

What only a real process shows: the lines on its stderr (uvicorn's own among them), several
worker processes adding up in /metrics, the metrics directory cleaned at exit, and a
database that stops taking connections under a running server.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import ServerProcess
from tests.support.postgres import ADMIN_URL, temporary_database

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PASSWORD = "Pa55word-in-a-body"
METRICS_TOKEN = "scrape-token-0123456789"


@contextmanager
def serving(tmp_path: Path, *args: str, workers: int = 1, database: str | None = None
            ) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    """A server with tenant contoso (``tenant_id``, ``token``), stopped at the end."""
    tmp_path.mkdir(exist_ok=True)
    server = ServerProcess(database=database or f"sqlite:///{tmp_path}/scimhub.db",
                           workdir=tmp_path, workers=workers, args=args)
    tenant = server.create_tenant("contoso")
    server.start()
    try:
        yield server, tenant
    finally:
        server.stop()


def total(text: str, name: str, **labels: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples
               if s.name == name and set(labels.items()) <= set(s.labels.items()))


def test_json_logs_one_line_per_request_with_its_id_and_no_secret(tmp_path: Path) -> None:
    with serving(tmp_path, "--log-format", "json", "--metrics") as (server, tenant):
        token = tenant["token"]
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.scim_url, headers=auth, timeout=10) as scim:
            created = scim.post("/Users", headers={"X-Request-Id": "entra-0001"}, json={
                "schemas": [USER], "userName": "ada@contoso.example", "password": PASSWORD})
            assert created.status_code == 201, created.text
            assert created.headers["x-request-id"] == "entra-0001"
            listed = scim.get("/Users", params={"filter": 'userName eq "ada@contoso.example"'})
            generated = listed.headers["x-request-id"]
            assert re.fullmatch(r"[0-9a-f]{32}", generated)
            refused = scim.get("/Users", headers={"Authorization": "Bearer not-a-token"})
            assert refused.status_code == 401
            metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    lines = server.log_text().splitlines()
    assert lines
    records: list[dict[str, Any]] = [json.loads(line) for line in lines]  # every line JSON
    assert any(r["logger"].startswith("uvicorn") and "Started server process" in r["message"]
               for r in records)
    requests = {r["request_id"]: r for r in records if r["logger"] == "scimhub.request"}
    create = requests["entra-0001"]
    assert create["tenant_id"] == tenant["tenant_id"]
    assert {k: create[k] for k in ("method", "route", "operation", "resource_type", "status",
                                   "path")} == {
        "method": "POST", "route": "/scim/v2/Users", "operation": "create",
        "resource_type": "User", "status": 201, "path": "/scim/v2/Users"}
    assert create["duration_ms"] > 0 and create["client"] == "127.0.0.1"
    assert requests[generated]["operation"] == "list"
    assert requests[generated]["tenant_id"] == create["tenant_id"]
    unauthenticated = [r for r in requests.values() if r["status"] == 401]
    assert len(unauthenticated) == 1 and unauthenticated[0]["tenant_id"] is None
    text = "\n".join(lines)
    for secret in (token, token.rsplit("_", 1)[-1], PASSWORD, "not-a-token", "userName eq",
                   "ada@contoso.example"):
        assert secret not in text, secret
        assert secret not in metrics, secret


def test_text_logs_write_no_request_line_unless_asked(tmp_path: Path) -> None:
    with serving(tmp_path / "default") as (server, _tenant):
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 404
    assert "Started server process" in server.log_text()
    assert "scimhub.request" not in server.log_text()
    with serving(tmp_path / "access-log", "--access-log") as (server, _tenant):
        httpx.get(f"{server.url}/healthz", headers={"X-Request-Id": "probe-1"}, timeout=10)
    assert re.search(r"scimhub\.request: GET /healthz 200 request_id=probe-1 ", server.log_text())


def _worker_directories(server: ServerProcess) -> dict[int, str]:
    """The worker processes of ``server`` and the metrics directory each was given."""
    assert server.process is not None
    found: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != server.process.pid:
                continue
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
            if b"spawn_main" not in (stat.parent / "cmdline").read_bytes():
                continue  # multiprocessing's resource tracker, not a worker
        except (OSError, IndexError, ValueError):
            continue
        for entry in environ:
            if entry.startswith(b"PROMETHEUS_MULTIPROC_DIR="):
                found[int(stat.parent.name)] = entry.split(b"=", 1)[1].decode()
    return found


def test_two_workers_report_the_sum(tmp_path: Path) -> None:
    with serving(tmp_path, "--metrics", "--metrics-token", METRICS_TOKEN,
                 workers=2) as (server, tenant):
        token = tenant["token"]
        workers = _worker_directories(server)
        assert len(workers) == 2 and len(set(workers.values())) == 1
        directory = Path(next(iter(workers.values())))

        def one(_: int) -> None:  # a connection of its own, so that either worker takes it
            response = httpx.get(f"{server.scim_url}/Users", timeout=10,
                                 headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200

        sent = 0
        with ThreadPoolExecutor(8) as pool:
            deadline = time.monotonic() + 60
            while ({f"counter_{pid}.db" for pid in workers}
                   - {p.name for p in directory.iterdir()}):
                assert time.monotonic() < deadline, "one worker never answered"
                list(pool.map(one, range(40)))
                sent += 40
        scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 401
        for _ in range(6):  # whichever worker answers the scrape, it reports both
            text = httpx.get(f"{server.url}/metrics", headers=scrape, timeout=10).text
            assert total(text, "scimhub_http_requests_total", route="/scim/v2/Users",
                         status="200") == sent
            assert total(text, "scimhub_http_request_duration_seconds_count",
                         route="/scim/v2/Users") == sent
    assert not directory.exists()


def test_a_database_that_refuses_connections_is_counted(tmp_path: Path) -> None:
    with temporary_database("scimhub_obs_e2e") as url:
        name = url.rsplit("/", 1)[1]
        with serving(tmp_path, "--metrics", database=url) as (server, tenant):
            auth = {"Authorization": f"Bearer {tenant['token']}"}
            assert httpx.get(f"{server.scim_url}/Users", headers=auth,
                             timeout=10).status_code == 200
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s", (name,))
                try:
                    failed = httpx.get(f"{server.scim_url}/Users", headers=auth, timeout=10)
                    health = httpx.get(f"{server.url}/healthz", timeout=10)
                    text = httpx.get(f"{server.url}/metrics", timeout=10).text
                finally:
                    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert failed.status_code == 500
            assert failed.json()["status"] == "500"
            assert health.status_code == 503
            assert total(text, "scimhub_database_errors_total", kind="OperationalError") == 2
            assert total(text, "scimhub_http_requests_total", status="500") == 1
            assert httpx.get(f"{server.scim_url}/Users", headers=auth,
                             timeout=10).status_code == 200


def test_rate_limited_requests_are_counted(tmp_path: Path) -> None:
    with serving(tmp_path, "--metrics", "--tenant-rate-limit", "5/minute") as (server, tenant):
        auth = {"Authorization": f"Bearer {tenant['token']}"}
        with httpx.Client(base_url=server.scim_url, headers=auth, timeout=10) as scim:
            statuses = [scim.get("/Users").status_code for _ in range(8)]
            statuses.append(scim.get("/Users/some-id").status_code)
        assert statuses.count(200) == 5 and statuses.count(429) == 4, statuses
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert total(text, "scimhub_rate_limited_requests_total") == 4
    assert total(text, "scimhub_rate_limited_requests_total", operation="list",
                 resource_type="User") == 3
    assert total(text, "scimhub_rate_limited_requests_total", operation="get") == 1
    assert total(text, "scimhub_http_requests_total", status="429") == 4
