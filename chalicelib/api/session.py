"""The dashboard's session cookie and CSRF tokens: HMAC-SHA256 under ``EF_SESSION_SECRET``.

The cookie carries the Cognito access token and a MAC over it, so a cookie we did not issue is refused
before the token is even parsed; the token itself is then verified on every request (signature, expiry,
client), so an expired session ends with the token. A CSRF token is an HMAC of the session and the
form's purpose (e.g. ``import:<event_id>``), so it is valid for one session and one kind of action.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.adapters.auth import Principal

SESSION_COOKIE = "ef_session"
SIGNIN_COOKIE = "ef_signin"  # a nonce that binds the sign-in form's CSRF token before any session exists
_VERSION = "v1"


def _mac(secret: str, *parts: str) -> str:
    digest = hmac.new(secret.encode(), "\x00".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verified(token: str) -> Principal:
    """The principal of a Cognito access token that is valid and was not signed out: the one check every route
    makes (the admin API's authorizer and the dashboard's pages). Unauthenticated otherwise."""
    from chalicelib import container
    from chalicelib.domain.errors import Unauthenticated

    principal = container.verifier().verify(token)
    # signed out (this session, or the user everywhere), though the token has not expired yet
    if container.signed_out_sessions().is_revoked(token, principal.subject, principal.issued_at):
        raise Unauthenticated("this session was signed out; sign in again")
    return principal


def seal(secret: str, token: str) -> str:
    """The cookie value for an access token."""
    return f"{_VERSION}.{token}.{_mac(secret, 'session', token)}"


def unseal(secret: str, value: str) -> str | None:
    """The access token in a cookie value, or None when the MAC does not match."""
    version, _, rest = value.partition(".")
    token, _, mac = rest.rpartition(".")
    if version != _VERSION or not token or not mac:
        return None
    if not hmac.compare_digest(mac, _mac(secret, "session", token)):
        return None
    return token


def seal_state(secret: str, purpose: str, data: dict[str, Any], now: int) -> str:
    """A value a form carries between two steps (e.g. a sign-in challenge): JSON and its MAC, with the
    time it was made. Readable by the browser that holds it, unforgeable by anyone."""
    body = base64.urlsafe_b64encode(json.dumps({**data, "at": now}, separators=(",", ":")).encode()).decode()
    return f"{body}.{_mac(secret, 'state', purpose, body)}"


def open_state(secret: str, purpose: str, value: str, now: int, max_age: int) -> dict[str, Any] | None:
    """The data of ``seal_state``, or None when the MAC is wrong or the value is older than ``max_age``."""
    body, _, mac = value.rpartition(".")
    if not body or len(value) > 8192 or not hmac.compare_digest(mac, _mac(secret, "state", purpose, body)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("at"), int) or not 0 <= now - data["at"] <= max_age:
        return None
    return data


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(secret: str, binding: str, purpose: str) -> str:
    """The token a form for ``purpose`` carries; ``binding`` is the session token (or sign-in nonce)."""
    return _mac(secret, "csrf", hashlib.sha256(binding.encode()).hexdigest(), purpose)


def csrf_valid(secret: str, binding: str, purpose: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(str(given), csrf_token(secret, binding, purpose))


def parse_cookies(header: str | None) -> dict[str, str]:
    """Cookie header to a dict; a malformed pair is skipped rather than spoiling the others."""
    out: dict[str, str] = {}
    for pair in (header or "").split(";"):
        name, sep, value = pair.strip().partition("=")
        if sep and name and name not in out:
            out[name] = value.strip().strip('"')
    return out


def cookie(name: str, value: str, *, max_age: int, secure: bool) -> str:
    attributes = [f"{name}={value}", f"Max-Age={max(0, int(max_age))}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def expired_cookie(name: str, *, secure: bool) -> str:
    return cookie(name, "", max_age=0, secure=secure)
