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
    """The password was right, but the account must answer a challenge (new password, MFA) first.
    ``name`` is the identity provider's challenge and ``session`` its handle for the next step."""

    code = "challenge"

    def __init__(self, message: str, *, name: str = "", session: str = "", email: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.session = session
        self.email = email

    @property
    def answerable(self) -> bool:
        return self.name in CHALLENGES and bool(self.session)


# The challenges the dashboard answers: a first sign-in's new password, and a one-time code. (The first is
# Cognito's challenge name, not a password: hence the two scanners' markers.)
NEW_PASSWORD = "NEW_PASSWORD_REQUIRED"  # noqa: S105  # nosec B105
CHALLENGES = (NEW_PASSWORD, "SOFTWARE_TOKEN_MFA", "SMS_MFA")
EXPIRED_STEP = "this sign-in step has expired; sign in again"


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    expires_in: int  # seconds


class PasswordAuthenticator(Protocol):
    def authenticate(self, email: str, password: str) -> SignedIn:
        """The tokens for a right email and password; Unauthenticated otherwise."""
        ...

    def respond(self, challenge: str, session: str, email: str, answer: str) -> SignedIn:
        """The tokens once the challenge is answered; ChallengeRequired for a further step,
        Unauthenticated for a wrong code or an expired step, ValidationFailed for a refused password."""
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
    key = _check_lockout(attempts, email, secret, now)
    try:
        result = authenticator.authenticate(email, password)
    except Unauthenticated:
        attempts.record_failure(key, now, WINDOW)
        raise
    attempts.clear(key)
    return result


def _check_lockout(attempts: AttemptLog, email: str, secret: str, now: datetime) -> str:
    key = attempt_key(secret, email)
    failures, started = attempts.failures(key, now - WINDOW)
    if failures >= MAX_FAILURES and started is not None:
        raise LockedOut(max(1, math.ceil((started + WINDOW - now).total_seconds())))
    return key


def answer_challenge(
    authenticator: PasswordAuthenticator,
    attempts: AttemptLog,
    *,
    challenge: str,
    session: str,
    email: str,
    answer: str,
    secret: str,
    now: datetime,
) -> SignedIn:
    """Answer a sign-in challenge: a wrong code counts as a failed sign-in of the address, as a wrong
    password does, so codes cannot be guessed faster than passwords."""
    if challenge not in CHALLENGES:
        raise ValidationFailed("this sign-in step is not offered by the dashboard")
    if challenge == NEW_PASSWORD:
        if not answer or len(answer) > MAX_PASSWORD:
            raise ValidationFailed("choose a new password")
    elif not (answer.isdigit() and 6 <= len(answer) <= 8):
        raise ValidationFailed("enter the 6-digit code")
    key = _check_lockout(attempts, email, secret, now)
    try:
        result = authenticator.respond(challenge, session, email, answer)
    except Unauthenticated:
        attempts.record_failure(key, now, WINDOW)
        raise
    attempts.clear(key)
    return result
