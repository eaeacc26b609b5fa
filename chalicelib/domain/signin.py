"""Dashboard sign-in: check a password with the identity provider, and slow down guessing per address.

Failures are counted per address under a keyed hash, never the address itself. After ``MAX_FAILURES``
failures within ``WINDOW`` the address is refused until the window is over, without asking the
identity provider at all, so a guesser learns nothing and costs nothing upstream.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain.errors import DomainError, Unauthenticated, ValidationFailed

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
MAX_EMAIL = 254
MAX_PASSWORD = 256


class LockedOut(DomainError):
    """Too many failed sign-ins for this address; ``retry_after`` is in seconds."""

    code = "locked_out"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}")
        self.retry_after = retry_after
        self.minutes = minutes


class ChallengeRequired(DomainError):
    """The password was right, but the account must answer a challenge (new password, MFA) first."""

    code = "challenge"


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    expires_in: int  # seconds


class PasswordAuthenticator(Protocol):
    def authenticate(self, email: str, password: str) -> SignedIn:
        """The tokens for a right email and password; Unauthenticated otherwise."""
        ...


class AttemptLog(Protocol):
    def failures(self, key: str, since: datetime) -> tuple[int, datetime | None]:
        """How many failures the key has in a window that started after ``since``, and when it started."""
        ...

    def record_failure(self, key: str, now: datetime, window: timedelta) -> None:
        """Count one failure: in the current window, or in a new one starting now."""
        ...

    def clear(self, key: str) -> None:
        """Forget the key's failures (after a successful sign-in)."""
        ...


def attempt_key(secret: str, email: str) -> str:
    """A keyed hash of the normalised address: counters never hold the address."""
    normalised = email.strip().lower()
    return hmac.new(secret.encode(), b"sign-in\x00" + normalised.encode(), hashlib.sha256).hexdigest()


def sign_in(
    authenticator: PasswordAuthenticator, attempts: AttemptLog, email: str, password: str, *, secret: str, now: datetime
) -> SignedIn:
    """Check the password unless the address is locked out; count failures and clear them on success."""
    email = email.strip()
    if not email or not password:
        raise ValidationFailed("enter your email address and your password")
    if len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD:
        raise ValidationFailed("the email address or password is too long")
    key = attempt_key(secret, email)
    failures, started = attempts.failures(key, now - WINDOW)
    if failures >= MAX_FAILURES and started is not None:
        raise LockedOut(max(1, math.ceil((started + WINDOW - now).total_seconds())))
    try:
        result = authenticator.authenticate(email, password)
    except Unauthenticated:
        attempts.record_failure(key, now, WINDOW)
        raise
    attempts.clear(key)
    return result
