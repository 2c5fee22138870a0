"""Test Connection against a real ``scimhub serve``, a port where nothing listens, and (for
answers scimhub never gives) a MockTransport; then ``scimhub test-connection`` as a process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from scimhub.engine.target import connection
from scimhub.engine.target.connection import ConnectionReport
from tests.e2e.server import ServerProcess, free_port
from tests.engine.live import EMPTY_LIST, token

STEPS = ["Tenant URL", "ServiceProviderConfig", "user probe", "group probe", "Schemas"]


def check(url: str, secret: str,
          handler: Callable[[httpx.Request], httpx.Response] | None = None) -> ConnectionReport:
    transport = httpx.MockTransport(handler) if handler else None
    return asyncio.run(connection.test_connection(url, secret, transport=transport))


def failed_step(report: ConnectionReport) -> str:
    return next(s.name for s in report.steps if not s.ok)


def test_scimhub_passes_every_step(server: ServerProcess) -> None:
    report = check(server.scim_url, token(server))
    assert report.ok, report.to_dict()
    assert [s.name for s in report.steps] == STEPS
    assert not any(s.warning for s in report.steps), report.to_dict()
    assert report.patch_supported is True and report.reason is None
    assert "urn:ietf:params:scim:schemas:core:2.0:User" in report.steps[-1].detail


def test_a_wrong_token_fails_the_user_probe(server: ServerProcess) -> None:
    report = check(server.scim_url, "scimhub_000000000000_wrong")
    assert not report.ok and failed_step(report) == "user probe"
    assert "401" in (report.reason or "") and "the token was rejected" in (report.reason or "")
    assert report.steps[1].ok and report.steps[1].warning, "SPC is optional: a warning"
    assert [s.name for s in report.steps] == STEPS[:3], "the first failure stops the test"


def test_a_port_where_nothing_listens_is_connection_refused() -> None:
    report = check(f"http://127.0.0.1:{free_port()}/scim/v2", "t")
    assert not report.ok and failed_step(report) == "ServiceProviderConfig"
    assert "cannot be reached" in (report.reason or "")
    assert "connection refused" in (report.reason or ""), report.reason


@pytest.mark.parametrize("url", ["ftp://example.com/scim", "example.com/scim/v2",
                                 "http://example.com:99999/scim", "https://x.example/scim?a=1"])
def test_a_tenant_url_that_is_not_an_http_base_fails_before_any_request(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    report = check(url, "t", handler)
    assert not report.ok and [s.name for s in report.steps] == ["Tenant URL"]


def test_a_404_probe_names_the_quarantine() -> None:
    """docs/entra.md §1.2: 404 instead of 200 + empty ListResponse is a documented quarantine cause;
    a missing /ServiceProviderConfig is only a warning."""
    report = check("https://target.example/scim/v2", "t", lambda _: httpx.Response(404))
    assert not report.ok and failed_step(report) == "user probe"
    assert "docs/entra.md §1.2: 404 here quarantines the job" in (report.reason or "")
    assert report.steps[1].ok and report.steps[1].warning


def test_a_probe_answer_that_is_not_json_is_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Users"):
            return httpx.Response(200, text="<html>Sign in</html>")
        return httpx.Response(200, json={"patch": {"supported": True}})

    report = check("https://target.example/scim/v2", "t", handler)
    assert failed_step(report) == "user probe"
    assert "not JSON" in (report.reason or "") and "Sign in" in (report.reason or "")


def test_a_target_that_ignores_the_filter_fails_the_probe() -> None:
    someone = {"totalResults": 1, "Resources": [{"id": "42", "userName": "someone"}]}
    report = check("https://target.example/scim/v2", "t",
                   lambda _: httpx.Response(200, json=someone))
    assert failed_step(report) == "user probe" and "ignores the filter" in (report.reason or "")


def test_no_patch_and_no_schemas_are_warnings_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/ServiceProviderConfig"):
            return httpx.Response(200, json={"patch": {"supported": False}})
        if path.endswith("/Schemas"):
            return httpx.Response(404)
        assert "excludedAttributes=members" in str(request.url) or path.endswith("/Users")
        return httpx.Response(200, json=EMPTY_LIST)

    report = check("https://target.example/scim/v2", "t", handler)
    assert report.ok, report.to_dict()
    assert report.patch_supported is False
    assert [s.name for s in report.steps if s.warning] == ["ServiceProviderConfig", "Schemas"]


def scimhub_test_connection(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SCIMHUB_TARGET_TOKEN"}
    return subprocess.run([sys.executable, "-m", "scimhub", "test-connection", *args],
                          capture_output=True, text=True, timeout=60, check=False, env=env)


def test_command_succeeds_with_json_report(server: ServerProcess) -> None:
    done = scimhub_test_connection("--tenant-url", server.scim_url, "--token", token(server),
                                   "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["reason"] is None
    assert [s["name"] for s in report["steps"]] == STEPS


def test_command_prints_each_step_and_the_reason(server: ServerProcess) -> None:
    ok = scimhub_test_connection("--tenant-url", server.scim_url, "--token", token(server))
    assert ok.returncode == 0
    assert [line[0] for line in ok.stdout.splitlines()] == ["✓"] * 5 + ["C"]
    assert ok.stdout.splitlines()[-1] == "Connection OK."
    bad = scimhub_test_connection("--tenant-url", server.scim_url, "--token", "wrong")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "✗ user probe: 401" in bad.stdout
    assert "Connection failed: user probe: 401 Unauthorized: the token was rejected" in bad.stdout


def test_command_exit_codes_for_bad_arguments_and_unreachable_targets() -> None:
    missing_token = scimhub_test_connection("--tenant-url", "http://127.0.0.1:1/scim/v2")
    assert missing_token.returncode == 2 and "--token" in missing_token.stderr
    not_http = scimhub_test_connection("--tenant-url", "ftp://example.com", "--token", "t")
    assert not_http.returncode == 2 and "not an http" in not_http.stdout
    nowhere = scimhub_test_connection("--tenant-url", f"http://127.0.0.1:{free_port()}/scim/v2",
                                      "--token", "t", "--json")
    assert nowhere.returncode == 1
    assert "connection refused" in json.loads(nowhere.stdout)["reason"]
