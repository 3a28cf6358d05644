"""Dashboard access control: argon2 passwords, server-side sessions, CSRF, rate limits.

- Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory).
- A login creates a server-side session: the cookie holds 32 random bytes, the store
  keeps only their SHA-256, so sessions can be revoked and a database copy is no key.
  Cookies are HttpOnly, SameSite=Lax, scoped to ``/admin`` and Secure when
  ``[server] public_url`` is https.
- Every form carries the session's CSRF token (synchronizer token); the login form,
  before there is a session, uses a double-submit cookie. A missing or wrong token is
  refused with 403.
- Failed logins are limited per email and per client address, atomically, and password
  checks run off the event loop (``login_guard``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

SESSION_COOKIE = "parley_admin"
LOGIN_COOKIE = "parley_login"
SESSION_HOURS = 12
MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email costs as much time as a wrong
# password and response times do not reveal who has a login.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    """Lower-cased and trimmed; ValueError when it does not look like an email."""
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValueError(f"'{email}' does not look like an email address")
    return email


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    if password.strip() != password:
        raise ValueError("the password must not start or end with spaces")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work whether or not the hash exists."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def session_expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=SESSION_HOURS)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path inside the dashboard, never elsewhere."""
    if target and target.startswith("/admin") and not target.startswith("//") \
            and "\\" not in target and "\n" not in target and "\r" not in target:
        return target
    return "/admin/"
