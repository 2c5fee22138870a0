"""Failure e-mail through a real SMTP server (aiosmtpd): one message when a job enters
quarantine, one digest per cycle with failures, never one per object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.server import ServerProcess, free_port
from tests.engine.test_engine_e2e import Job, directory, target  # noqa: F401
from tests.engine.test_job_control import sync


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture()
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def notify(job: Job, port: int) -> None:
    config = job.workdir / "job.toml"
    config.write_text(config.read_text() + f"""
[notifications]
email = "it-ops@contoso.example"
on_failure = true
smtp_host = "127.0.0.1"
smtp_port = {port}
sender = "scimhub@contoso.example"
""")


def test_quarantine_mails_once_per_reason(target: ServerProcess, tmp_path: Path,  # noqa: F811
                                          inbox: tuple[Inbox, int]) -> None:
    mailbox, port = inbox
    job = Job(target, tmp_path)
    notify(job, port)
    for _ in range(2):
        assert sync(job, token="scimhub_000000000000_revoked").returncode == 1
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "it-ops@contoso.example"
    assert "quarantine" in message["Subject"]
    assert "EncounteredQuarantineException" in message.get_payload()


def test_a_cycle_with_failures_sends_one_digest(target: ServerProcess, tmp_path: Path,  # noqa: F811
                                                inbox: tuple[Inbox, int]) -> None:
    mailbox, port = inbox
    job = Job(target, tmp_path)
    notify(job, port)
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "mail-" + u["userPrincipalName"]
    job.write(data)
    assert sync(job).returncode == 0
    assert mailbox.messages == []
    for name in ("mail-ada@contoso.example", "mail-donald@contoso.example"):
        user = job.users()[name]
        assert job.scim.delete(f"/Users/{user['id']}").status_code == 204  # behind its back
    for u in data["users"]:
        u["surname"] += "-changed"
    job.write(data)
    result = sync(job)
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["failures"] >= 2
    assert len(mailbox.messages) == 1, "one digest, not one message per failure"
    body = mailbox.messages[0].get_payload()
    # Issue 11: a linked user deleted out of band is Entra's InvalidAnchor (docs/entra.md §2.10).
    assert "mail-ada@contoso.example: InvalidAnchor" in body
    assert "mail-donald@contoso.example: InvalidAnchor" in body
