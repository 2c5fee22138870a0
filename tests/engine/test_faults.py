"""The engine converges to exactly the source's state through a target that misbehaves:
20% of requests answered 429 with Retry-After, 500, a dropped connection or a stall before
forwarding, or forwarded and then their answer lost (connection dropped, 504). scimhub would
refuse a second user with 409 and hide it, so the proxy counts the creates that reach it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.server import ServerProcess, free_port
from tests.engine.fault_proxy import AFTER, FaultProxy
from tests.engine.test_engine_e2e import Job, directory, target  # noqa: F401
from tests.engine.test_job_control import scimhub, sync


def test_engine_converges_through_injected_faults(target: ServerProcess,  # noqa: F811
                                                  tmp_path: Path) -> None:
    job = Job(target, tmp_path)
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "fault-" + u["userPrincipalName"]
    data["groups"][0]["displayName"] = "Fault pioneers"
    job.write(data)
    lose = [("POST", "Users", "lost"), ("POST", "Groups", "504"), ("PATCH", "Groups", "lost")]
    with FaultProxy(target.url, free_port(), rate=0.2, stall=3.0, script=lose) as proxy:
        config = job.workdir / "job.toml"
        config.write_text(config.read_text().replace(target.url, proxy.url)
                          + '\n[escrow]\nfirst_retry = "0s"\n')
        text = config.read_text().replace('token_env = "SCIMHUB_TARGET_TOKEN"',
                                          'token_env = "SCIMHUB_TARGET_TOKEN"\ntimeout = 1.5')
        config.write_text(text)
        summaries = []
        for _ in range(8):
            result = sync(job)
            summaries.append(json.loads(result.stdout.strip().splitlines()[-1]))
            if result.returncode == 0 and summaries[-1]["failures"] == 0:
                break
        assert sum(proxy.injected.values()) > 0, "no fault was injected"
        assert sum(proxy.injected[f] for f in AFTER) >= len(lose), "answers lost after forwarding"
    assert summaries[-1]["failures"] == 0, summaries
    assert sum(s["retries"] for s in summaries) > 0, "the cycle summaries count the retries"
    users = job.users()
    mine = {n for n in users if n.startswith("fault-")}
    assert mine == {"fault-ada@contoso.example", "fault-grace@contoso.example",
                    "fault-alan@contoso.example", "fault-donald@contoso.example"}
    listed = job.scim.get("/Users", params={"filter": 'userName sw "fault-"', "count": 100})
    assert listed.json()["totalResults"] == 4, "no duplicate user"
    twice = {name: n for name, n in proxy.posts.items() if n > 1}
    assert not twice, f"creates that reached the target more than once: {twice}"
    assert not proxy.answers[("POST", "Users", 409)] + proxy.answers[("POST", "Groups", 409)]
    assert job.groups()["Fault pioneers"] == {"fault-ada@contoso.example",
                                              "fault-grace@contoso.example",
                                              "fault-alan@contoso.example"}
    log = json.loads(scimhub(job, "logs", "--job", "acunetix-360", "--json",
                             "--limit", "1000").stdout)
    assert all(e["status"] == "success" for e in log if e["source_id"] == "u1"
               and e["action"] == "create"), "every logged create succeeded once"
