"""``scimhub sync --metrics-port``: the engine's own metrics, scraped from a real engine
process provisioning a real ``scimhub serve`` (through a fault-injecting proxy for retries)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scimhub.engine.metrics import object_labels, reason_code
from scimhub.engine.target.retry import retry_reason
from tests.e2e.server import ServerProcess, free_port, scimhub
from tests.engine.fault_proxy import FaultProxy
from tests.engine.jobs import STANDARD_USERS, job_toml, person, run_scimhub
from tests.engine.observe import PYTHONPATH, Engine, json_lines, value
from tests.support.postgres import temporary_database

JOB = "metrics-job"


def directory() -> dict[str, object]:
    return {"users": [person("u1", "Ada", "Lovelace"), person("u2", "Grace", "Hopper"),
                      person("u3", "Alan", "Turing"),
                      person("u4", "Edsger", "Dijkstra", accountEnabled=False)],
            "groups": [{"objectId": "g1", "displayName": "Pioneers", "assigned": True,
                        "members": ["u1", "u2"]}]}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("metrics-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The engine's own database: its state is what the metrics are primed from."""
    if request.param == "postgresql":
        with temporary_database("scimhub_metrics") as url:
            yield url
        return
    yield f"sqlite:///{tmp_path}/engine.db"


def prepare(workdir: Path, url: str, interval: str = "1h") -> Path:
    (workdir / "directory.json").write_text(json.dumps(directory()))
    config = workdir / "job.toml"
    config.write_text(job_toml(JOB, url, interval=interval, mappings=STANDARD_USERS))
    return config


def tenant(target: ServerProcess, name: str) -> str:
    return target.create_tenant(name)["token"]


def test_a_cycle_is_counted_by_kind_outcome_and_action_as_its_summary_says(
        target: ServerProcess, tmp_path: Path) -> None:
    token = tenant(target, "metrics-cycle")
    config = prepare(tmp_path, target.scim_url)
    before = time.time()
    with Engine(config, f"sqlite:///{tmp_path}/engine.db", token, free_port()) as engine:
        samples = engine.wait(lambda m: value(m, "scimhub_engine_cycles_total") is not None,
                              "the first cycle")
        after = time.time()
    summary = json.loads(engine.stdout.splitlines()[0])
    assert summary["failures"] == 0 and summary["counts"]["create"] == 4, summary
    cycles = [(dict(labels), v) for (name, labels), v in samples.items()
              if name == "scimhub_engine_cycles_total"]
    assert len(cycles) == 1, cycles
    labels, count = cycles[0]
    assert count == 1 and labels["job"] == JOB and labels["kind"] == "initial"
    assert labels["outcome"] == "success" and labels["job_id"]
    # objects_total by action and status is the summary's counts, one for one
    objects = {(dict(ls)["action"], dict(ls)["status"]): v for (name, ls), v in samples.items()
               if name == "scimhub_engine_objects_total"}
    assert objects == {object_labels(k): v for k, v in summary["counts"].items()}, objects
    assert objects[("skip", "skipped")] == 1  # the disabled user, not created
    last = value(samples, "scimhub_engine_last_success_timestamp_seconds", job=JOB)
    assert last is not None and before <= last <= after
    assert value(samples, "scimhub_engine_quarantined", job=JOB) == 0
    assert value(samples, "scimhub_engine_escrowed_objects", job=JOB) == 0
    assert value(samples, "scimhub_engine_cycle_duration_seconds_count", job=JOB) == 1
    assert value(samples, "scimhub_engine_retries_total") is None
    # the cycle's log line carries what an operator greps for
    ended = [line for line in json_lines(engine.stderr)
             if line.get("cycle_id") == summary["cycle_id"]]
    assert ended and ended[-1]["outcome"] == "success" and ended[-1]["job"] == JOB
    assert ended[-1]["job_id"] == labels["job_id"] and ended[-1]["counts"] == summary["counts"]
    assert token not in engine.stdout + engine.stderr


def test_a_revoked_token_quarantines_and_a_restart_reports_it_before_any_cycle(
        target: ServerProcess, tmp_path: Path, engine_db: str) -> None:
    name = f"metrics-revoked-{engine_db[:6]}"
    token = tenant(target, name)
    config = prepare(tmp_path, target.scim_url)
    env = {"SCIMHUB_TARGET_TOKEN": token, **PYTHONPATH}
    first = run_scimhub("sync", "--config", str(config), "--once", "--json",
                        "--database", engine_db, env=env)
    assert first.returncode == 0, first.stderr
    scimhub("token", "reset", name, env=target.env)  # the job's token stops working

    with Engine(config, engine_db, token, free_port()) as engine:
        primed = engine.wait(  # the success the database knows, whenever the cycle ends
            lambda m: value(m, "scimhub_engine_last_success_timestamp_seconds") is not None,
            "the metrics")
        samples = engine.wait(
            lambda m: value(m, "scimhub_engine_cycles_total", outcome="quarantined") == 1,
            "the quarantining cycle")
    last = value(primed, "scimhub_engine_last_success_timestamp_seconds", job=JOB)
    assert last is not None and last > 0
    assert value(samples, "scimhub_engine_quarantined", job=JOB) == 1
    assert value(samples, "scimhub_engine_quarantine_reason", job=JOB,
                 reason="EncounteredQuarantineException: Unauthorized") == 1
    assert value(samples, "scimhub_engine_last_success_timestamp_seconds", job=JOB) == last
    assert value(samples, "scimhub_engine_cycles_total", outcome="success") is None
    logged = [line for line in json_lines(engine.stderr) if "quarantine_reason" in line]
    assert logged and logged[0]["quarantine_reason"] == \
        "EncounteredQuarantineException: Unauthorized" and logged[0]["job"] == JOB
    assert "401" in logged[0]["detail"]
    assert token not in engine.stdout + engine.stderr

    # A new process, with no cycle of its own (the job is stopped), still reports the
    # quarantine and the last success: an alert must not clear on a restart.
    stopped = run_scimhub("job", "stop", JOB, "--database", engine_db, env=env)
    assert stopped.returncode == 0, stopped.stderr
    with Engine(config, engine_db, token, free_port()) as engine:
        samples = engine.wait(lambda m: value(m, "scimhub_engine_quarantined") is not None,
                              "the metrics")
    assert value(samples, "scimhub_engine_quarantined", job=JOB) == 1
    assert value(samples, "scimhub_engine_quarantine_reason", job=JOB,
                 reason="EncounteredQuarantineException: Unauthorized") == 1
    assert value(samples, "scimhub_engine_last_success_timestamp_seconds", job=JOB) == last
    assert value(samples, "scimhub_engine_cycles_total") is None


def test_a_429_is_counted_as_a_retry(target: ServerProcess, tmp_path: Path) -> None:
    token = tenant(target, "metrics-retry")
    # The credentials probe (the cycle's first GET /Users) is answered 429 once.
    with FaultProxy(target.url, free_port(), rate=0.0,
                    script=[("GET", "Users", "429")]) as proxy:
        config = prepare(tmp_path, target.scim_url.replace(target.url, proxy.url))
        with Engine(config, f"sqlite:///{tmp_path}/engine.db", token, free_port()) as engine:
            samples = engine.wait(
                lambda m: value(m, "scimhub_engine_cycles_total") is not None, "the cycle")
        assert proxy.injected["429"] == 1
    assert value(samples, "scimhub_engine_retries_total", job=JOB, reason="429") == 1
    assert value(samples, "scimhub_engine_cycles_total", outcome="success") == 1
    summary = json.loads(engine.stdout.splitlines()[0])
    assert summary["retries"] == 1


def test_the_metrics_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = prepare(tmp_path, "http://127.0.0.1:9/scim/v2")
        result = run_scimhub("sync", "--config", str(config), "--once", "--database",
                             f"sqlite:///{tmp_path}/engine.db", "--metrics-port", str(port),
                             env={"SCIMHUB_TARGET_TOKEN": "t", **PYTHONPATH})
    assert result.returncode == 1
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("outcome", "reason"), [
    (429, "429"), (503, "5xx"), (500, "5xx"), (408, "timeout"), (501, None), (404, None),
    (200, None)])
def test_retry_reasons_are_the_transient_answers(outcome: int, reason: str | None) -> None:
    assert retry_reason(outcome) == reason


def test_a_quarantine_reason_is_labelled_by_its_code_only() -> None:
    assert reason_code("EncounteredQuarantineException: Unauthorized: GET /Users?filter=x "
                       "-> 401: bad token") == "EncounteredQuarantineException: Unauthorized"
    assert reason_code("EncounteredEscrowProportionThreshold: 9 of 10 objects failed") == \
        "EncounteredEscrowProportionThreshold"


def test_a_rate_limited_tenant_s_429s_are_the_retries_the_summary_counts(
        target: ServerProcess, tmp_path: Path) -> None:
    """The real thing: ``scimhub serve`` answering 429 to a tenant over its limit."""
    token = tenant(target, "metrics-limited")
    scimhub("tenant", "limit", "metrics-limited", "3/s", env=target.env)
    config = prepare(tmp_path, target.scim_url)
    with Engine(config, f"sqlite:///{tmp_path}/engine.db", token, free_port()) as engine:
        samples = engine.wait(
            lambda m: value(m, "scimhub_engine_cycles_total") is not None, "the cycle")
    summary = json.loads(engine.stdout.splitlines()[0])
    assert summary["failures"] == 0 and summary["retries"] > 0, summary
    assert value(samples, "scimhub_engine_retries_total", job=JOB, reason="429") == \
        summary["retries"]
    assert value(samples, "scimhub_engine_cycles_total", outcome="success") == 1
