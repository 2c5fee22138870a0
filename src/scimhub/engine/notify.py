"""Failure e-mail: one message when a job enters quarantine, and, with ``on_failure``, one
digest of a cycle's failures, never one message per failed object (docs/entra.md §2.7)."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


@dataclass(frozen=True)
class Notifications:
    email: str
    on_failure: bool = False
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password_env: str | None = None
    sender: str = "scimhub@localhost"

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Notifications | None:
        if not table.get("email"):
            return None
        return cls(email=str(table["email"]), on_failure=bool(table.get("on_failure", False)),
                   host=str(table.get("smtp_host", "127.0.0.1")),
                   port=int(table.get("smtp_port", 25)),
                   starttls=bool(table.get("starttls", False)),
                   user=table.get("smtp_user"), password_env=table.get("smtp_password_env"),
                   sender=str(table.get("sender", "scimhub@localhost")))

    def send(self, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, self.email, subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, os.environ.get(self.password_env or "", ""))
            smtp.send_message(message)


def quarantine_message(job: str, reason: str) -> tuple[str, str]:
    return (f"[scimhub] {job} is in quarantine",
            f"The provisioning job {job} was quarantined:\n\n  {reason}\n\n"
            "It now runs once a day and leaves quarantine by itself after a cycle whose "
            "credentials the target accepts and whose failures stay under the thresholds "
            "(or at once with `scimhub job restart`). `scimhub job status` shows its state; "
            "`scimhub logs --job "
            f"{job} --status failure` lists what failed.\n")


def failure_digest(job: str, cycle_id: str, failures: Sequence[Mapping[str, Any]]
                   ) -> tuple[str, str]:
    lines = [f"  {f.get('identity') or f.get('source_id')}: {f.get('error_code')}: "
             f"{f.get('detail')}" for f in failures[:50]]
    more = f"\n  ... and {len(failures) - 50} more" if len(failures) > 50 else ""
    return (f"[scimhub] {job}: {len(failures)} failures in cycle {cycle_id}",
            f"Cycle {cycle_id} of {job} could not provision {len(failures)} objects:\n\n"
            + "\n".join(lines) + more + "\n\nThey are retried by the next cycles.\n")
