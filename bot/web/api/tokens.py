"""API bearer tokens: made, hashed and checked here; kept by ``bot.store.api_tokens``.

A token is ``parley_`` and 43 URL-safe characters (256 random bits). Only its SHA-256
is stored: with that much entropy a slow password hash adds nothing, and a stolen
database gives no usable token. The token is shown once, by ``parley tokens create``.

``authenticate`` answers a request: 401 (with ``WWW-Authenticate: Bearer``) for a
missing, malformed, unknown or revoked token; 403 when the token's scope is too small.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from starlette.requests import Request

from bot.store.api_tokens import ApiStore, ApiToken, Scope
from bot.web.api.errors import ApiError

PREFIX = "parley_"
USED_EVERY = dt.timedelta(minutes=1)
"""``last used`` is rewritten at most this often: one write per request would make
every API read take SQLite's write lock."""


def new_token() -> str:
    """A fresh token (256 random bits)."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 a token is stored as."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_of(request: Request) -> str | None:
    """The token in ``Authorization: Bearer …``, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def authenticate(request: Request, store: ApiStore, now: dt.datetime,
                       needs: Scope) -> ApiToken:
    """The request's token, checked for ``needs``; ``ApiError`` 401 or 403 otherwise."""
    presented = bearer_of(request)
    if presented is None:
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>' "
                       "(make one with: parley tokens create --name N --scope read)")
    digest = hash_token(presented)
    found = await store.api_token_by_hash(digest)
    # the lookup is by digest; compare again in constant time all the same
    if found is None or not hmac.compare_digest(found.token_hash, digest):
        raise ApiError(401, "unauthorized", "unknown token")
    if found.revoked:
        raise ApiError(401, "unauthorized", "this token was revoked")
    if needs == "write" and found.scope != "write":
        raise ApiError(403, "forbidden", f"token '{found.name}' has scope "
                       f"'{found.scope}'; this needs 'write'")
    if found.id is not None and (found.last_used_at is None
                                 or now - found.last_used_at >= USED_EVERY):
        await store.api_token_used(found.id, now)
    return found
