"""Dashboard sign-in: check a password with the identity provider, and slow down guessing per address.

Attempts are counted under keyed hashes, never the address itself, and counted *before* the identity provider
is asked, each by one conditional atomic update, so parallel guesses cannot all pass a check none has written
yet. Two counters: per address and network (``MAX_FAILURES`` in ``WINDOW``: the client's IPv4 address, or its
IPv6 /64), and per address from every network together (``MAX_ADDRESS_FAILURES``). A refused attempt is refused
without asking the identity provider, so a guesser learns nothing and costs nothing upstream. The network in
the key keeps the lockout from being a tool: someone who knows an admin's address and guesses from their own
network locks out only that network, while the admin signs in from theirs; guessing from many networks meets
the ceiling per address, which then locks the address everywhere until its window ends (Cognito's own
protection against guessing applies as well). A successful sign-in clears both counters.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain.errors import DomainError, ValidationFailed

MAX_FAILURES = 5  # per address and network, in WINDOW
MAX_ADDRESS_FAILURES = 50  # per address, every network together, in WINDOW
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

    def __init__(
        self, message: str, *, name: str = "", session: str = "", email: str = "", setup_key: str = ""
    ) -> None:
        super().__init__(message)
        self.name = name
        self.session = session
        self.email = email
        self.setup_key = setup_key  # MFA_SETUP: the authenticator app's secret, for the person to enter

    @property
    def answerable(self) -> bool:
        return self.name in CHALLENGES and bool(self.session)


# The challenges the dashboard answers: a first sign-in's new password, and a one-time code. (The first is
# Cognito's challenge name, not a password: hence the two scanners' markers.)
NEW_PASSWORD = "NEW_PASSWORD_REQUIRED"  # noqa: S105  # nosec B105
MFA_SETUP = "MFA_SETUP"  # the pool requires an authenticator app and this account has none yet
CHALLENGES = (NEW_PASSWORD, "SOFTWARE_TOKEN_MFA", "SMS_MFA", MFA_SETUP)
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

    def sign_out(self, access_token: str) -> None:
        """Revoke the session at the identity provider (its refresh token, and the access token for the
        provider's own API); an already revoked or expired session is not an error."""
        ...


class AttemptLog(Protocol):
    def take(self, key: str, now: datetime, window: timedelta, limit: int) -> int | None:
        """Count one attempt, atomically, if the key has fewer than ``limit`` in its current window (or start a
        new window with it); None when counted, else the seconds until the full window ends."""
        ...

    def give_back(self, key: str) -> None:
        """Uncount one attempt of the key's current window (a right password that leads to a challenge)."""
        ...

    def clear(self, key: str) -> None:
        """Forget the key's attempts (after a successful sign-in)."""
        ...


def attempt_key(secret: str, email: str) -> str:
    """A keyed hash of the normalised address: counters never hold the address."""
    normalised = email.strip().lower()
    return hmac.new(secret.encode(), b"sign-in\x00" + normalised.encode(), hashlib.sha256).hexdigest()


def network_of(origin: str) -> str:
    """The network a request came from, as the lockout counts it: an IPv4 address, an IPv6 /64 (one subscriber's
    allocation), or "unknown" for anything else (one network of its own)."""
    try:
        address = ipaddress.ip_address(origin.strip())
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def attempt_keys(secret: str, email: str, origin: str) -> tuple[str, str]:
    """The two counters' keys: address and network, and address alone."""
    address = attempt_key(secret, email)
    network = hmac.new(
        secret.encode(), b"sign-in-from\x00" + address.encode() + b"\x00" + network_of(origin).encode(), hashlib.sha256
    )
    return network.hexdigest(), address


def sign_in(
    authenticator: PasswordAuthenticator,
    attempts: AttemptLog,
    email: str,
    password: str,
    *,
    secret: str,
    now: datetime,
    origin: str = "",
) -> SignedIn:
    """Check the password unless the address is locked out from this network (``origin``: the client's IP
    address), counting the attempt first; clear the counters on success."""
    email = email.strip()
    if not email or not password:
        raise ValidationFailed("enter your email address and your password")
    if len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD:
        raise ValidationFailed("the email address or password is too long")
    keys = _count_attempt(attempts, email, origin, secret, now)
    try:
        result = authenticator.authenticate(email, password)
    except ChallengeRequired:
        # the password was right: this attempt is given back, but earlier ones (wrong codes) still count, so
        # entering the password again never buys more guesses at a code
        for key in keys:
            attempts.give_back(key)
        raise
    for key in keys:
        attempts.clear(key)
    return result


def _count_attempt(attempts: AttemptLog, email: str, origin: str, secret: str, now: datetime) -> tuple[str, str]:
    """Count the attempt under both keys, or raise LockedOut without counting further."""
    keys = attempt_keys(secret, email, origin)
    for key, limit in zip(keys, (MAX_FAILURES, MAX_ADDRESS_FAILURES), strict=True):
        wait = attempts.take(key, now, WINDOW, limit)
        if wait is not None:
            raise LockedOut(wait)
    return keys


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
    origin: str = "",
) -> SignedIn:
    """Answer a sign-in challenge: each answer counts as a sign-in attempt of the address, as a password does,
    so codes cannot be guessed faster than passwords."""
    if challenge not in CHALLENGES:
        raise ValidationFailed("this sign-in step is not offered by the dashboard")
    if challenge == NEW_PASSWORD:
        if not answer or len(answer) > MAX_PASSWORD:
            raise ValidationFailed("choose a new password")
    elif not (answer.isdigit() and 6 <= len(answer) <= 8):
        raise ValidationFailed("enter the 6-digit code")
    keys = _count_attempt(attempts, email, origin, secret, now)
    result = authenticator.respond(challenge, session, email, answer)
    for key in keys:
        attempts.clear(key)
    return result
