"""Personal-link tokens: long and random; only their SHA-256 is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def looks_like_token(value: str) -> bool:
    """Shape check before any lookup, so garbage never reaches the database."""
    # fullmatch, not match with $: "$" also matches just before a trailing newline.
    return bool(_TOKEN.fullmatch(value))


def panel_id(secret: str, participant_id: str) -> str:
    """A pseudonymous ID that links one person's answers across waves without naming them."""
    return "pn_" + hmac.new(secret.encode(), participant_id.encode(), hashlib.sha256).hexdigest()[:20]
