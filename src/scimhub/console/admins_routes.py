"""Admins: the tenant's admins, invitations, removal; and each admin's own account.

Any admin of a tenant may add and remove that tenant's admins (the session's tenant scopes
every lookup: another tenant's admin is "not found"). A new admin comes either through an
invitation link (a one-time secret, valid 72 hours, shown once to the inviting admin, who hands
it over) or with a first password the inviting admin chooses and hands over. The last admin
cannot be removed; an admin may remove themselves while another remains, and is signed out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console import csrf
from scimhub.console.auth_routes import MAX_EMAIL_LENGTH
from scimhub.console.context import Console
from scimhub.console.event_log import client_address, event_in
from scimhub.console.pages import redirect
from scimhub.console.reauth import confirm_password
from scimhub.console.sessions import (
    COOKIE,
    Session,
    clear_cookie,
    set_cookie,
    signed_in,
)
from scimhub.security import hash_password
from scimhub.server import public_base
from scimhub.store.admins import (
    AdminExists,
    LastAdmin,
    NoSuchAdmin,
    add_admin,
    change_password,
    list_admins,
    normalise_email,
    password_problem,
    remove_admin,
)
from scimhub.store.invitations import Invitation, InvitationGone, Invitations
from scimhub.store.sql import Tx

#: Longer than any secret this server issues (43 characters): not worth a lookup.
MAX_SECRET_LENGTH: Final = 128
PASSWORDS_DIFFER: Final = "The two new passwords are not the same."
BAD_EMAIL: Final = "Enter the new admin's e-mail address, such as name@example.com."


def when(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M UTC")


def email_problem(email: str) -> str | None:
    local, at, domain = email.rpartition("@")
    if (not at or not local or not domain or len(email) > MAX_EMAIL_LENGTH
            or any(c.isspace() for c in email)):
        return BAD_EMAIL
    return None


def already_admin(email: str) -> str:
    return (f"{email} is already an admin, of this tenant or another: an e-mail can be the "
            "admin of one tenant only.")


def admin_routes(console: Console) -> list[Route]:
    invitations = Invitations(console.ctx.db)
    db = console.ctx.db

    async def admins_page(request: Request, session: Session, *, status: int = 200,
                          **context: object) -> Response:
        def read() -> tuple[object, object]:
            return list_admins(db, session.tenant_id), invitations.pending(session.tenant_id)

        admins, pending = await console.run(read)
        values: dict[str, object] = {"error": None, "notice": None, "invite_link": None,
                                     "form": {"email": "", "method": "link"}, **context}
        return console.pages.render(request, "admins.html", csrf=session.csrf,
                                    signed_in=session, status=status, admins=admins,
                                    pending=pending, when=when, **values)

    async def show_admins(request: Request, session: Session) -> Response:
        return await admins_page(request, session)

    async def add(request: Request, session: Session) -> Response:
        form = await request.form()
        email = normalise_email(str(form.get("email", "")))
        method = "password" if form.get("method") == "password" else "link"
        kept = {"email": email[:MAX_EMAIL_LENGTH], "method": method}
        problem = email_problem(email)
        if problem is not None:
            return await admins_page(request, session, status=400, error=problem, form=kept)
        if method == "link":
            record = event_in(console, request, session.tenant_id, "admin_invited",
                              actor=session.email,
                              detail=f"invited {email}; the link is valid for 72 hours")
            try:
                secret = await console.run(lambda: invitations.create(
                    session.tenant_id, email, session.info.admin_id, then=record))
            except AdminExists:
                return await admins_page(request, session, status=409,
                                         error=already_admin(email), form=kept)
            return await admins_page(
                request, session, invite_link=f"{public_base(request)}/invite/{secret}",
                invited=email, notice=f"Invitation for {email} created.")
        password = str(form.get("password", ""))
        problem = password_problem(password)
        if problem is None and password != str(form.get("password2", "")):
            problem = PASSWORDS_DIFFER
        if problem is not None:
            return await admins_page(request, session, status=400, error=problem, form=kept)
        password_hash = await console.slow(lambda: hash_password(password))
        record = event_in(console, request, session.tenant_id, "admin_added",
                          actor=session.email, detail=f"added {email} with a first password")
        try:
            await console.run(lambda: add_admin(db, session.tenant_id, email, password_hash,
                                                then=record))
        except AdminExists:
            return await admins_page(request, session, status=409, error=already_admin(email),
                                     form=kept)
        return await admins_page(request, session, notice=(
            f"{email} is an admin of {session.info.tenant_name} now. Hand them the password "
            "by another channel than the e-mail address, and ask them to change it under "
            "Your account."))

    async def find_admin(session: Session, admin_id: str) -> str | None:
        admins = await console.run(lambda: list_admins(db, session.tenant_id))
        return next((a.email for a in admins if a.id == admin_id), None)

    async def confirm_removal(request: Request, session: Session) -> Response:
        admin_id = str(request.path_params["admin_id"])
        email = await find_admin(session, admin_id)
        if email is None:
            return await admins_page(request, session, status=404,
                                     error="No such admin in this tenant.")
        return console.pages.render(request, "remove_admin.html", csrf=session.csrf,
                                    signed_in=session, admin_id=admin_id, email=email,
                                    yourself=admin_id == session.info.admin_id)

    async def remove(request: Request, session: Session) -> Response:
        admin_id = str(request.path_params["admin_id"])
        yourself = admin_id == session.info.admin_id

        def record(email: str, tx: Tx) -> None:
            detail = "removed themselves" if yourself else f"removed {email}"
            event_in(console, request, session.tenant_id, "admin_removed",
                     actor=session.email, detail=detail)(tx)

        try:
            email = await console.run(lambda: remove_admin(
                db, session.tenant_id, admin_id, by=session.info.admin_id, then=record))
        except NoSuchAdmin:
            return await admins_page(request, session, status=404,
                                     error="No such admin in this tenant.")
        except LastAdmin:
            return await admins_page(request, session, status=409, error=(
                "The last admin cannot be removed: nobody could sign in to this tenant. "
                "Add another admin first."))
        if yourself:  # their sessions, this one included, went with them
            response = redirect("/signin?signed_out=1")
            clear_cookie(response, request, COOKIE)
            return response
        return await admins_page(request, session, notice=(
            f"{email} is no longer an admin; their sessions have ended."))

    async def revoke(request: Request, session: Session) -> Response:
        invitation_id = str(request.path_params["invitation_id"])
        client = client_address(request)

        def record(tx: Tx, email: str) -> None:  # the e-mail is known inside the transaction
            console.events.record(session.tenant_id, "invitation_withdrawn",
                                  actor=session.email, client=client, detail=email, tx=tx)

        email = await console.run(lambda: invitations.revoke(session.tenant_id,
                                                             invitation_id[:64], record))
        if email is None:
            return await admins_page(request, session, status=404,
                                     error="No such invitation in this tenant.")
        return await admins_page(request, session,
                                 notice=f"The invitation for {email} was withdrawn.")

    # Your account -------------------------------------------------------------------------

    async def account_page(request: Request, session: Session, *, status: int = 200,
                           **context: object) -> Response:
        others = await console.run(lambda: console.sessions.count_others(
            session.info.admin_id, session.id))
        values: dict[str, object] = {"error": None, "notice": None, **context}
        return console.pages.render(request, "account.html", csrf=session.csrf,
                                    signed_in=session, status=status, others=others, **values)

    async def show_account(request: Request, session: Session) -> Response:
        return await account_page(request, session)

    async def new_password(request: Request, session: Session) -> Response:
        form = await request.form()
        current = str(form.get("current_password", ""))
        new, again = str(form.get("new_password", "")), str(form.get("new_password2", ""))
        problem = password_problem(new) or (PASSWORDS_DIFFER if new != again else None)
        if problem is not None:
            return await account_page(request, session, status=400, error=problem)
        failed = await confirm_password(console, request, session, current, "Your account")
        if failed is not None:
            return await account_page(request, session, status=failed[0], error=failed[1])
        password_hash = await console.slow(lambda: hash_password(new))

        record = event_in(console, request, session.tenant_id, "password_changed",
                          actor=session.email, detail="their other sessions were signed out")
        ended = await console.run(lambda: change_password(
            db, session.tenant_id, session.info.admin_id, password_hash, session.id,
            then=record))
        return await account_page(request, session, notice=(
            "Your password was changed" + (f"; {_sessions(ended)} signed out." if ended
                                           else ".")))

    async def end_others(request: Request, session: Session) -> Response:
        record = event_in(console, request, session.tenant_id, "sessions_revoked",
                          actor=session.email)
        ended = await console.run(lambda: console.sessions.end_others(
            session.info.admin_id, session.id, then=record))
        return await account_page(request, session, notice=(
            f"{_sessions(ended).capitalize()} signed out." if ended
            else "You had no other sessions."))

    # Accepting an invitation (no session) ----------------------------------------------------

    def invitation_page(request: Request, token: str, *, invitation: Invitation | None,
                        status: int = 200, error: str | None = None) -> Response:
        response = console.pages.render(
            request, "invitation.html", csrf=token, status=status, invitation=invitation,
            error=error, notice=None, when=when)
        if invitation is not None and request.cookies.get(csrf.SIGN_IN_COOKIE) != token:
            set_cookie(response, request, csrf.SIGN_IN_COOKIE, token, samesite="strict")
        return response

    async def lookup(secret: str) -> Invitation | None:
        if len(secret) > MAX_SECRET_LENGTH:
            return None
        return await console.run(lambda: invitations.find(secret))

    async def show_invitation(request: Request) -> Response:
        secret = str(request.path_params["secret"])
        invitation = await lookup(secret)
        token = request.cookies.get(csrf.SIGN_IN_COOKIE) or csrf.new_sign_in_token()
        return invitation_page(request, token, invitation=invitation,
                               status=200 if invitation else 404)

    async def accept(request: Request) -> Response:
        form = await request.form()
        token = request.cookies.get(csrf.SIGN_IN_COOKIE)
        if token is None or not csrf.matches(token, form.get(csrf.FIELD)):
            return console.pages.refused(request, csrf.new_sign_in_token())
        secret = str(request.path_params["secret"])
        invitation = await lookup(secret)
        if invitation is None:
            return invitation_page(request, token, invitation=None, status=404)
        new, again = str(form.get("password", "")), str(form.get("password2", ""))
        problem = password_problem(new) or (PASSWORDS_DIFFER if new != again else None)
        if problem is not None:
            return invitation_page(request, token, invitation=invitation, status=400,
                                   error=problem)
        password_hash = await console.slow(lambda: hash_password(new))

        def record(accepted: Invitation, tx: Tx) -> None:
            event_in(console, request, accepted.tenant_id, "admin_added",
                     actor=accepted.email, detail="accepted an invitation")(tx)

        try:
            await console.run(lambda: invitations.accept(secret, password_hash, then=record))
        except InvitationGone:
            return invitation_page(request, token, invitation=None, status=404)
        except AdminExists:
            return invitation_page(request, token, invitation=invitation, status=409,
                                   error=already_admin(invitation.email))
        response = redirect("/signin?welcome=1")
        clear_cookie(response, request, csrf.SIGN_IN_COOKIE)
        return response

    return [
        Route("/settings/admins", signed_in(console, show_admins), methods=["GET"]),
        Route("/settings/admins/add", signed_in(console, add), methods=["POST"]),
        Route("/settings/admins/{admin_id}/remove", signed_in(console, confirm_removal),
              methods=["GET"]),
        Route("/settings/admins/{admin_id}/remove", signed_in(console, remove),
              methods=["POST"]),
        Route("/settings/admins/invitations/{invitation_id}/revoke",
              signed_in(console, revoke), methods=["POST"]),
        Route("/account", signed_in(console, show_account), methods=["GET"]),
        Route("/account/password", signed_in(console, new_password), methods=["POST"]),
        Route("/account/sessions", signed_in(console, end_others), methods=["POST"]),
        Route("/invite/{secret}", show_invitation, methods=["GET"]),
        Route("/invite/{secret}", accept, methods=["POST"]),
    ]


def _sessions(count: int) -> str:
    return f"{count} other session{'s' if count != 1 else ''}"
