"""Job files for the engine's tests, written by one builder instead of a TOML copy per file.

Every end-to-end test writes a job file: the same ``[job]``/``[source]``/``[target]``/``[scope]``
head and, mostly, the same user mappings (the Acunetix 360 defaults of docs/entra.md). Keeping
them here means a change to the job format is made once, and each test states only what is
particular to it (its name, scope, actions and the mappings it is about).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import httpx

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

#: The job's file source: ``directory.json`` next to the job file.
FILE_SOURCE = 'type = "file"\npath = "directory.json"'

#: The ``[[scope.filters]]`` table of the e2e jobs: Engineering only.
ENGINEERING_ONLY = '''
[[scope.filters]]
title = "Engineering only"
clauses = [{ attribute = "department", operator = "EQUALS", value = "Engineering" }]
'''


def toml_value(value: Any) -> str:
    """A Python value as TOML: strings as JSON strings (a subset of TOML basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def mapping(target: str, source: str | None = None, **keys: Any) -> str:
    """One ``[[mappings.users]]`` table: target, source, then any other key (match, apply...)."""
    lines = ["[[mappings.users]]", f"target = {toml_value(target)}"]
    if source is not None:
        lines.append(f"source = {toml_value(source)}")
    lines += [f"{key} = {toml_value(value)}" for key, value in keys.items()]
    return "\n" + "\n".join(lines) + "\n"


#: The matching mapping every job has: userName from userPrincipalName.
USER_NAME = mapping("userName", "userPrincipalName", match=1)
#: Entra's ``active`` expression (docs/entra.md): false once soft deleted.
ACTIVE = mapping("active", expression='Switch([IsSoftDeleted], , "False", "True", "True", "False")')
WORK_EMAIL = mapping('emails[type eq "work"].value', "mail")
NAMES = mapping("name.givenName", "givenName") + mapping("name.familyName", "surname")
MANAGER = mapping(f"{ENTERPRISE}:manager", "manager")
#: The standard user mappings of the e2e jobs, in Entra's order.
STANDARD_USERS = USER_NAME + ACTIVE + WORK_EMAIL + NAMES


def job_toml(name: str, url: str, *, interval: str | None = None, source: str = FILE_SOURCE,
             token: str | None = None, timeout: int | None = None, mode: str = "all",
             scope: str = "", actions: str | None = None, mappings: str = "") -> str:
    """A job file's text.

    ``token`` writes a literal token (for load-time tests without a target); without it the
    job names ``SCIMHUB_TARGET_TOKEN`` by ``token_env``. ``scope`` is written under
    ``[scope]`` after ``mode``; ``actions`` (``None``: no ``[actions]`` table) likewise.
    """
    head = f'[job]\nname = "{name}"\n'
    if interval is not None:
        head += f'interval = "{interval}"\n'
    credential = f'token = "{token}"' if token is not None else 'token_env = "SCIMHUB_TARGET_TOKEN"'
    text = f'{head}\n[source]\n{source}\n\n[target]\nurl = "{url}"\n{credential}\n'
    if timeout is not None:
        text += f"timeout = {timeout}\n"
    text += f'\n[scope]\nmode = "{mode}"\n{scope}\n'
    if actions is not None:
        text += f"[actions]\n{actions}\n"
    return text + mappings


def run_scimhub(*args: str, env: Mapping[str, str], timeout: float = 120
                ) -> subprocess.CompletedProcess[str]:
    """``python -m scimhub ARGS`` as a user runs it: a clean environment, only what it needs.

    ``PATH`` is the only variable inherited, so no token or database URL of the developer's
    shell leaks into the test.
    """
    return subprocess.run([sys.executable, "-m", "scimhub", *args], capture_output=True,
                          text=True, timeout=timeout, check=False,
                          env={"PATH": "/usr/bin:/bin", **env})


def person(oid: str, first: str, last: str, **extra: Any) -> dict[str, Any]:
    """A file-source user, assigned and in Engineering unless ``extra`` says otherwise."""
    return {"objectId": oid, "userPrincipalName": f"{first.lower()}@contoso.example",
            "mail": f"{first.lower()}@contoso.example", "mailNickname": first.lower(),
            "givenName": first, "surname": last, "accountEnabled": True, "assigned": True,
            "department": "Engineering", **extra}


class TargetView:
    """What a scimhub target holds, read through its own SCIM API (``scim``: the tenant's)."""

    scim: httpx.Client

    def users(self) -> dict[str, dict[str, Any]]:
        """The target's users by userName."""
        listed = self.scim.get("/Users", params={"count": 1000}).json()["Resources"]
        return {u["userName"]: u for u in listed}

    def groups(self) -> dict[str, set[str]]:
        """The target's groups by displayName, with their members' userNames."""
        listed = self.scim.get("/Groups", params={"count": 1000}).json()["Resources"]
        users = {u["id"]: name for name, u in self.users().items()}
        return {g["displayName"]: {users[m["value"]] for m in g.get("members", [])}
                for g in listed}
