"""Re-entering the current password before a sensitive action (revealing or resetting the API
token, changing the password). A wrong one counts toward the sign-in lockout, from the same
address, and is recorded in the activity log as a failed sign-in: someone with a session but
not the password is probing it."""

from __future__ import annotations

from starlette.requests import Request

from scimhub.console.auth_routes import failed_password, locked_message
from scimhub.console.context import Console
from scimhub.console.event_log import client_address
from scimhub.console.sessions import Session

WRONG_CURRENT_PASSWORD = "The current password is not correct."  # noqa: S105 - a message


async def confirm_password(console: Console, request: Request, session: Session,
                           password: str, where: str) -> tuple[int, str] | None:
    """None when ``password`` is the signed-in admin's, else (status, error) for the page.
    ``where`` names the page in the activity log ("API Settings")."""
    client = client_address(request)
    locked = await console.run(lambda: console.lockout.locked(session.email, client))
    if locked is not None:
        return 429, locked_message(locked)
    admin = await console.slow(lambda: console.ctx.tenants.sign_in(session.email, password))
    if admin is None or admin.id != session.info.admin_id:
        locked = await console.run(lambda: failed_password(
            console, session.email, client, actor=session.email, where=where))
        return (429, locked_message(locked)) if locked else (200, WRONG_CURRENT_PASSWORD)
    await console.run(lambda: console.lockout.succeeded(session.email, client))
    return None
