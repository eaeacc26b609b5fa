"""Personal-link tokens: long and random; only their SHA-256 is ever stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# A personal QR card's link: a token kind of its own beside the invitation's and the reminders'.
CARD = "card"


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


def card_token(secret: str, wave_id: str, participant_id: str) -> str:
    """The token of one participant's QR card for one wave. Derived (HMAC) rather than random, so that the
    sheet of cards can be printed again with the same codes; like every token, only its hash is stored."""
    digest = hmac.new(secret.encode(), f"card\x00{wave_id}\x00{participant_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
