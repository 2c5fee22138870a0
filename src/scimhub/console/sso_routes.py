"""Single sign-on: a tenant's OpenID Connect sign-in, its settings page and its callback.

``/signin`` does not know the tenant, and guessing it from a typed e-mail would tell anyone
which e-mails are admins; so each tenant has its own sign-in address, ``/signin/<tenant id>``,
which the settings page shows (for the admins' bookmarks, and as the app's sign-in URL in the
identity provider). All tenants share one redirect URI, ``<public base>/sso/callback``; the
``state`` names the sign-in under way, kept server-side (``store/sso.py``), and a cookie binds
it to the browser that started it, so a callback URL sent to someone else signs nobody in.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from scimhub.console import csrf
from scimhub.console.context import Console
from scimhub.console.event_log import client_address
from scimhub.console.oidc import OidcClient, OidcError, check_issuer
from scimhub.console.pages import redirect
from scimhub.console.reauth import confirm_password
from scimhub.console.sessions import (
    COOKIE,
    Session,
    clear_cookie,
    current_session,
    safe_next,
    set_cookie,
    signed_in,
)
from scimhub.scim.types import TenantId
from scimhub.server import public_base
from scimhub.store.sso import (
    PENDING_SECONDS,
    SsoAdmin,
    SsoConfig,
    SsoNotConfigured,
    SsoStore,
)

#: Binds a sign-in under way to the browser that started it (its value is the state).
STATE_COOKIE = "scimhub_sso"
CALLBACK_PATH = "/sso/callback"
MAX_FIELD = {"issuer": 2000, "client_id": 500, "client_secret": 2000, "display_name": 100}


def callback_url(request: Request) -> str:
    return public_base(request) + CALLBACK_PATH


def sign_in_address(request: Request, tenant: TenantId) -> str:
    return f"{public_base(request)}/signin/{tenant}"


def _tenant_id(value: object) -> TenantId | None:
    """A tenant id from a URL: a UUID's characters only, so nothing odd reaches a query."""
    text = str(value)
    if not 1 <= len(text) <= 36 or any(c not in "0123456789abcdef-" for c in text):
        return None
    return TenantId(text)


def sso_routes(console: Console) -> list[BaseRoute]:
    store = SsoStore(console.ctx.db, console.ctx.tenants.vault)
    oidc = OidcClient()

    # Signing in

    def refused(request: Request, reason: str, *, tenant: TenantId | None, status: int = 403,
                actor: str | None = None) -> Response:
        """The clear page every refusal ends on, its reason recorded for the tenant."""
        console.events.record(tenant, "sso_refused", actor=actor,
                              client=client_address(request), detail=reason)
        back = f"/signin/{tenant}" if tenant else "/signin"
        response = console.pages.render(request, "sso_refused.html", csrf="", status=status,
                                        reason=reason, back=back)
        clear_cookie(response, request, STATE_COOKIE)
        return response

    async def refuse(request: Request, reason: str, *, tenant: TenantId | None,
                     status: int = 403, actor: str | None = None) -> Response:
        return await console.run(lambda: refused(request, reason, tenant=tenant,
                                                 status=status, actor=actor))

    async def tenant_sign_in(request: Request) -> Response:
        tenant = _tenant_id(request.path_params["tenant"])
        name = await console.run(lambda: store.tenant_name(tenant)) if tenant else None
        if tenant is None or name is None:
            return console.pages.render(request, "not_found.html", csrf="", status=404,
                                        what="No tenant has this sign-in address.")
        next_url = safe_next(request.query_params.get("next"))
        if await current_session(console, request) is not None:
            return redirect(next_url)
        config = await console.run(lambda: store.config(tenant))
        token = request.cookies.get(csrf.SIGN_IN_COOKIE) or csrf.new_sign_in_token()
        response = console.pages.render(
            request, "signin.html", csrf=token, error=None, email="", notice=None,
            next_url=next_url, tenant_name=name,
            sso_url=(f"/signin/{tenant}/sso?next={quote(next_url, safe='')}"
                     if config else None),
            sso_name=config.display_name if config else None)
        if request.cookies.get(csrf.SIGN_IN_COOKIE) != token:
            set_cookie(response, request, csrf.SIGN_IN_COOKIE, token, samesite="strict")
        return response

    async def start(request: Request) -> Response:
        """Off to the identity provider: a GET (a link), because the console's CSP allows a
        form to post only to itself, redirects included; starting a sign-in changes nothing
        that a forged link could abuse."""
        tenant = _tenant_id(request.path_params["tenant"])
        config = await console.run(lambda: store.config(tenant)) if tenant else None
        if tenant is None or config is None:
            return await refuse(request, "Single sign-on is not configured for this tenant.",
                                tenant=None, status=404)
        try:
            provider = await oidc.discover(config.issuer)
        except OidcError as exc:
            return await refuse(request, str(exc), tenant=tenant, status=502)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        next_url = safe_next(request.query_params.get("next"))
        await console.run(lambda: store.begin(tenant, state=state, nonce=nonce,
                                              code_verifier=verifier, next_url=next_url))
        response = redirect(oidc.authorization_url(
            provider, client_id=config.client_id, redirect_uri=callback_url(request),
            state=state, nonce=nonce, code_verifier=verifier))
        response.set_cookie(STATE_COOKIE, state, max_age=PENDING_SECONDS, path=CALLBACK_PATH,
                            httponly=True, secure=request.url.scheme == "https",
                            samesite="lax")
        return response

    async def callback(request: Request) -> Response:
        params = request.query_params
        state = params.get("state") or ""
        cookie = request.cookies.get(STATE_COOKIE) or ""
        if params.get("error"):
            # Some providers drop the state from an error answer: this browser's own
            # sign-in, ended by the refusal, names the tenant.
            key = cookie if len(cookie) <= 200 else ""
            mine = await console.run(lambda: store.consume(key)) if key else None
            description = params.get("error_description") or ""
            return await refuse(request, "The identity provider refused the sign-in ("
                                f"{params['error'][:100]}"
                                f"{': ' + description[:300] if description else ''}).",
                                tenant=mine.tenant_id if mine else None)
        if not state or len(state) > 200:
            return await refuse(request, "The identity provider's answer carried no valid "
                                "state, so it cannot be matched to a sign-in.",
                                tenant=None, status=400)
        if not cookie or len(cookie) > 200 or not hmac.compare_digest(state.encode(),
                                                                     cookie.encode()):
            # This browser's own sign-in, if any, is spoiled: consume it to name its tenant.
            mine = await console.run(lambda: store.consume(cookie)) if cookie else None
            return await refuse(request, "The identity provider's answer does not belong to "
                                "a sign-in started in this browser (wrong or already used "
                                "state). Start the sign-in again.",
                                tenant=mine.tenant_id if mine else None)
        pending = await console.run(lambda: store.consume(state))
        if pending is None:
            return await refuse(request, "This sign-in was already completed or abandoned: "
                                "each answer from the identity provider is good once. Start "
                                "the sign-in again.", tenant=None)
        tenant = pending.tenant_id
        if pending.expired:
            return await refuse(request, "This sign-in took longer than "
                                f"{PENDING_SECONDS // 60} minutes. Start it again.",
                                tenant=tenant)
        code = params.get("code") or ""
        if not code or len(code) > 4096:
            return await refuse(request, "The identity provider's answer carried no code.",
                                tenant=tenant, status=400)
        config = await console.run(lambda: store.config(tenant))
        secret = await console.run(lambda: store.client_secret(tenant))
        if config is None or secret is None:
            return await refuse(request, "Single sign-on is no longer configured for this "
                                "tenant (or its client secret was sealed with another server "
                                "key: save it again).", tenant=tenant)
        try:
            provider = await oidc.discover(config.issuer)
            id_token = await oidc.exchange(provider, client_id=config.client_id,
                                           client_secret=secret, code=code,
                                           redirect_uri=callback_url(request),
                                           code_verifier=pending.code_verifier)
            who = await oidc.identity(provider, id_token, client_id=config.client_id,
                                      nonce=pending.nonce)
        except OidcError as exc:
            return await refuse(request, str(exc), tenant=tenant)
        if who.email is None:
            return await refuse(request, who.email_problem or "No verified e-mail.",
                                tenant=tenant, actor=None)
        email = who.email
        admin = await console.run(lambda: store.admin_by_email(tenant, email))
        if admin is None:
            return await refuse(request, f"{email[:320]} is not an admin of this tenant. An "
                                "admin of the tenant can add you under Admins.",
                                tenant=tenant, actor=email)
        session_id = await console.run(lambda: console.sessions.start(tenant, admin.id))
        await console.run(lambda: console.events.record(
            tenant, "sso_sign_in", actor=admin.email, client=client_address(request),
            detail=f"as {who.subject[:200]} at {config.issuer[:300]}"))
        response = redirect(safe_next(pending.next_url))
        set_cookie(response, request, COOKIE, session_id)
        clear_cookie(response, request, STATE_COOKIE)
        clear_cookie(response, request, csrf.SIGN_IN_COOKIE)
        return response

    # The settings page

    async def settings_page(request: Request, session: Session, *, status: int = 200,
                            error: str | None = None, notice: str | None = None,
                            form: dict[str, str] | None = None) -> Response:
        tenant = session.tenant_id

        def read() -> tuple[SsoConfig | None, bool, SsoAdmin | None]:
            return store.config(tenant), store.required(tenant), store.first_admin(tenant)

        config, required, first = await console.run(read)
        return console.pages.render(
            request, "sso_settings.html", csrf=session.csrf, signed_in=session, status=status,
            error=error, notice=notice, config=config, required=required,
            first_admin=first.email if first else None, callback_url=callback_url(request),
            sign_in_address=sign_in_address(request, tenant), form=form or {})

    async def check_password(request: Request, session: Session) -> tuple[int, str] | None:
        """None when the form carries the admin's current password, else (status, error);
        a wrong one counts towards the lockout and is recorded, as on API Settings."""
        form = await request.form()
        return await confirm_password(console, request, session,
                                      str(form.get("password", "")), "Single sign-on")

    async def show(request: Request, session: Session) -> Response:
        return await settings_page(request, session)

    async def save(request: Request, session: Session) -> Response:
        form = await request.form()
        fields = {name: str(form.get(name, "")).strip() for name in MAX_FIELD}
        shown = {k: v for k, v in fields.items() if k != "client_secret"}
        for name, limit in MAX_FIELD.items():
            if len(fields[name]) > limit or any(ord(c) < 32 for c in fields[name]):
                return await settings_page(request, session, status=400, form=shown, error=(
                    f"The {name.replace('_', ' ')} is too long or has control characters."))
        for name in ("issuer", "client_id", "display_name"):
            if not fields[name]:
                return await settings_page(request, session, status=400, form=shown,
                                           error=f"The {name.replace('_', ' ')} is required.")
        tenant = session.tenant_id
        existing = await console.run(lambda: store.config(tenant))
        if existing is None and not fields["client_secret"]:
            return await settings_page(request, session, status=400, form=shown,
                                       error="The client secret is required.")
        failed = await check_password(request, session)
        if failed is not None:
            return await settings_page(request, session, status=failed[0], error=failed[1],
                                       form=shown)
        try:
            issuer = check_issuer(fields["issuer"])
            await oidc.discover(issuer, fresh=True)
        except OidcError as exc:
            return await settings_page(request, session, status=400, form=shown,
                                       error=f"Not saved: {exc}")
        secret = fields["client_secret"] or None
        await console.run(lambda: store.save(
            tenant, issuer=issuer, client_id=fields["client_id"],
            display_name=fields["display_name"], client_secret=secret))
        detail = (f"issuer {issuer}, client id {fields['client_id']}, button "
                  f"{fields['display_name']!r}, client secret "
                  f"{'replaced' if secret and existing else 'set' if secret else 'kept'}")
        await console.run(lambda: console.events.record(
            tenant, "sso_configured", actor=session.email, client=client_address(request),
            detail=detail))
        return await settings_page(request, session, notice=(
            "Single sign-on is saved. Try it from the tenant's sign-in address in a private "
            "window before requiring it."))

    async def remove(request: Request, session: Session) -> Response:
        failed = await check_password(request, session)
        if failed is not None:
            return await settings_page(request, session, status=failed[0], error=failed[1])
        tenant = session.tenant_id
        gone = await console.run(lambda: store.remove(tenant))
        if gone:
            await console.run(lambda: console.events.record(
                tenant, "sso_removed", actor=session.email, client=client_address(request)))
        return await settings_page(request, session, notice=(
            "Single sign-on is removed; admins sign in with their passwords."
            if gone else "Single sign-on was not configured."))

    async def require(request: Request, session: Session) -> Response:
        form = await request.form()
        wanted = form.get("required") == "on"
        failed = await check_password(request, session)
        if failed is not None:
            return await settings_page(request, session, status=failed[0], error=failed[1])
        tenant = session.tenant_id
        try:
            await console.run(lambda: store.require(tenant, wanted))
        except SsoNotConfigured:
            return await settings_page(request, session, status=400, error=(
                "Configure single sign-on before requiring it."))
        await console.run(lambda: console.events.record(
            tenant, "sso_required", actor=session.email, client=client_address(request),
            detail="required" if wanted else "no longer required"))
        return await settings_page(request, session, notice=(
            "Single sign-on is now required: only the first admin may still sign in with a "
            "password." if wanted else "Single sign-on is no longer required."))

    return [
        Route("/signin/{tenant}", tenant_sign_in, methods=["GET"]),
        Route("/signin/{tenant}/sso", start, methods=["GET"]),
        Route(CALLBACK_PATH, callback, methods=["GET"]),
        Route("/settings/sso", signed_in(console, show), methods=["GET"]),
        Route("/settings/sso", signed_in(console, save), methods=["POST"]),
        Route("/settings/sso/remove", signed_in(console, remove), methods=["POST"]),
        Route("/settings/sso/require", signed_in(console, require), methods=["POST"]),
    ]
