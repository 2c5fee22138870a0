"""``scimhub --log-format json sync``: every line on stderr is a JSON object, the cycle's line
says which job, cycle and outcome, and neither the target's token nor a ``Redact()``ed value
is written anywhere, whether the cycle succeeds or the token is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess, scimhub
from tests.engine.jobs import STANDARD_USERS, job_toml, mapping, person, run_scimhub
from tests.engine.observe import PYTHONPATH, json_lines

JOB = "logs-job"
#: Sent to the target through Redact(): it must reach the target and nothing else.
SECRET = "zq-redacted-7731"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("logs-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.start()
    yield proc
    proc.stop()


def test_json_logs_carry_the_cycle_and_never_a_token_or_a_redacted_value(
        target: ServerProcess, tmp_path: Path) -> None:
    token = target.create_tenant("logs")["token"]
    (tmp_path / "directory.json").write_text(json.dumps({"users": [
        person("u1", "Ada", "Lovelace", mailNickname=SECRET),
        person("u2", "Grace", "Hopper")]}))
    config = tmp_path / "job.toml"
    config.write_text(job_toml(JOB, target.scim_url, mappings=STANDARD_USERS + mapping(
        "nickName", expression="Redact([mailNickname])")))

    def sync() -> tuple[int, str, str]:
        result = run_scimhub("--log-format", "json", "sync", "--config", str(config), "--once",
                             "--json", "--database", f"sqlite:///{tmp_path}/engine.db",
                             env={"SCIMHUB_TARGET_TOKEN": token, **PYTHONPATH})
        return result.returncode, result.stdout, result.stderr

    code, out, err = sync()
    assert code == 0, err
    summary = json.loads(out.splitlines()[-1])
    lines = json_lines(err)
    started = [line for line in lines if line.get("job") == JOB and "outcome" not in line]
    assert started and started[0]["kind"] == "initial" and started[0]["job_id"]
    ended = [line for line in lines if line.get("cycle_id") == summary["cycle_id"]]
    assert len(ended) == 1, lines
    assert ended[0]["job"] == JOB and ended[0]["outcome"] == "success"
    assert ended[0]["level"] == "info" and ended[0]["counts"] == summary["counts"]
    # the value went to the target, and only there
    users = httpx.get(f"{target.scim_url}/Users", params={"filter": 'nickName pr'},
                      headers={"Authorization": f"Bearer {token}"}).json()["Resources"]
    assert SECRET in [u["nickName"] for u in users]
    assert SECRET not in out + err and token not in out + err

    scimhub("token", "reset", "logs", env=target.env)
    code, out, err = sync()
    assert code == 1
    lines = json_lines(err)  # the command's own error too is a JSON line
    assert any(line.get("quarantine_reason") == "EncounteredQuarantineException: Unauthorized"
               for line in lines), lines
    ended = [line for line in lines if line.get("outcome") == "quarantined"]
    assert ended and ended[0]["level"] == "warning" and ended[0]["error"] == "Unauthorized"
    assert any(line["level"] == "error" and "quarantined, target: Unauthorized"
               in line["message"] for line in lines), lines
    assert "filter=" not in err  # a request's query (a match filter's value) is never logged
    assert SECRET not in out + err and token not in out + err
