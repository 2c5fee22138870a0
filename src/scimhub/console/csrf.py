"""Cross-site request forgery: every form carries a token that a forged request lacks.

Signed in, the token is derived from the session id (the synchronizer
pattern without a stored copy: only someone who holds the HttpOnly session
cookie can compute it). Before sign-in there is no session, so the sign-in
form uses a double-submit cookie. Either way the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

FIELD = "csrf"
#: The double-submit cookie of the sign-in form.
SIGN_IN_COOKIE = "scimhub_csrf"


def session_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"scimhub console csrf", hashlib.sha256).hexdigest()


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(32)


def matches(expected: str | None, given: object) -> bool:
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
