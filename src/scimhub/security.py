"""Secrets: API tokens, admin passwords and the key that lets the console reveal a token.

A token is ``scimhub_<prefix>_<secret>``. The prefix is public and indexed so
a request finds its token row in one lookup; the whole token is then checked
against its SHA-256 in constant time. SHA-256 is enough for tokens because
they carry 256 bits of entropy; passwords, which do not, get Argon2id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

TOKEN_SCHEME = "scimhub"  # noqa: S105 - a public prefix, not a secret
_PASSWORDS = PasswordHasher()
#: One Argon2 hash at a time per process: each already runs on several lanes
#: (``parallelism=4``) and takes 64 MiB, so more at once would add memory and take the
#: CPU from every other request (40 concurrent creates with a password would otherwise
#: hold 2.5 GiB and starve the event loop), without hashing any faster.
_HASHING = threading.BoundedSemaphore(1)
PASSWORD_HASH_PREFIX = "$argon2"  # noqa: S105 - the hash format marker


@dataclass(frozen=True)
class IssuedToken:
    token: str
    prefix: str
    digest: str


def issue_token() -> IssuedToken:
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedToken(token=token, prefix=prefix, digest=token_digest(token))


def token_prefix(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_SCHEME or len(parts[1]) != 12:
        return None
    return parts[1]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, digest: str) -> bool:
    return hmac.compare_digest(token_digest(token), digest)


def hash_password(password: str) -> str:
    """Argon2id; slow on purpose, so call it from a worker thread, never the event loop."""
    with _HASHING:
        return _PASSWORDS.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:  # not queued behind _HASHING: sign-ins are few (throttled) and must not wait on
        return _PASSWORDS.verify(password_hash, password)  # a burst of SCIM creates
    except (VerificationError, InvalidHashError):
        return False


class TokenVault:
    """Encrypts the copy of a token that the console may reveal again.

    The key lives outside the database (an environment variable or a file
    with mode 0600), so a stolen database alone reveals no token.
    """

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_environment(cls, key_file: str | None = None) -> TokenVault:
        env_key = os.environ.get("SCIMHUB_SECRET_KEY")
        if env_key:
            return cls(env_key.encode())
        path = Path(key_file or os.environ.get("SCIMHUB_KEY_FILE", "scimhub.key"))
        return cls(_load_or_create_key(path))

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, sealed: str) -> str | None:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None


def _load_or_create_key(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def random_password() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(12)).decode().rstrip("=")
