"""Dashboard sign-in adapters: Cognito's USER_PASSWORD_AUTH, and the failed-attempt counters in DynamoDB."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib.adapters import tables as t
from chalicelib.domain.errors import TemporarilyUnavailable, Unauthenticated, ValidationFailed
from chalicelib.domain.signin import CHALLENGES, EXPIRED_STEP, MFA_SETUP, NEW_PASSWORD, ChallengeRequired, SignedIn

WRONG = "the email address or password is not right"
# Cognito's answers that mean "not these credentials"; with PreventUserExistenceErrors an unknown user
# looks like a wrong password, and we keep it that way.
_REFUSED = {"NotAuthorizedException", "UserNotFoundException", "InvalidParameterException"}
_NOT_READY = {"UserNotConfirmedException", "PasswordResetRequiredException"}
_BUSY = {"TooManyRequestsException", "LimitExceededException", "InternalErrorException", "ThrottlingException"}


class CognitoPasswordAuth:
    """InitiateAuth with USER_PASSWORD_AUTH against the admin user pool's app client (no secret)."""

    def __init__(self, idp: Any, client_id: str) -> None:
        self.idp = idp
        self.client_id = client_id

    def authenticate(self, email: str, password: str) -> SignedIn:
        reply = _ask(
            lambda: self.idp.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            ),
            _password_refused,
        )
        return self._signed_in(reply, email)

    def respond(self, challenge: str, session: str, email: str, answer: str) -> SignedIn:
        if challenge == MFA_SETUP:
            return self._finish_setup(session, email, answer)
        responses = {"USERNAME": email}
        responses["NEW_PASSWORD" if challenge == NEW_PASSWORD else f"{challenge}_CODE"] = answer
        reply = _ask(
            lambda: self.idp.respond_to_auth_challenge(
                ClientId=self.client_id, ChallengeName=challenge, Session=session, ChallengeResponses=responses
            ),
            _answer_refused,
        )
        return self._signed_in(reply, email)

    def sign_out(self, access_token: str) -> None:
        """GlobalSignOut: Cognito revokes the user's refresh tokens and refuses this access token on its API."""
        try:
            _ask(lambda: self.idp.global_sign_out(AccessToken=access_token), _sign_out_refused)
        except _AlreadySignedOut:
            pass

    def _finish_setup(self, session: str, email: str, code: str) -> SignedIn:
        """The first code from the newly paired app: VerifySoftwareToken, then the MFA_SETUP answer."""
        verified = _ask(
            lambda: self.idp.verify_software_token(
                Session=session, UserCode=code, FriendlyDeviceName="event-feedback dashboard"
            ),
            _answer_refused,
        )
        if verified.get("Status", "SUCCESS") != "SUCCESS":
            raise Unauthenticated("the code is not right")
        next_session = str(verified.get("Session") or session)
        reply = _ask(
            lambda: self.idp.respond_to_auth_challenge(
                ClientId=self.client_id,
                ChallengeName=MFA_SETUP,
                Session=next_session,
                ChallengeResponses={"USERNAME": email},
            ),
            _answer_refused,
        )
        return self._signed_in(reply, email)

    def _signed_in(self, reply: dict[str, Any], email: str) -> SignedIn:
        name = reply.get("ChallengeName")
        if name == MFA_SETUP and reply.get("Session"):
            # Pairing starts at once: Cognito gives the app's secret for this step's session.
            paired = _ask(lambda: self.idp.associate_software_token(Session=reply["Session"]), _answer_refused)
            raise ChallengeRequired(
                "this account must set up an authenticator app",
                name=MFA_SETUP,
                session=str(paired.get("Session") or reply["Session"]),
                email=email,
                setup_key=str(paired.get("SecretCode") or ""),
            )
        if name:
            offered = name in CHALLENGES
            raise ChallengeRequired(
                f"this account must complete the {name} step"
                + ("" if offered else ", which the dashboard does not offer; ask an administrator"),
                name=str(name),
                session=str(reply.get("Session") or ""),
                email=email,
            )
        result = reply.get("AuthenticationResult") or {}
        token = result.get("AccessToken")
        if not token:
            raise Unauthenticated(WRONG)
        return SignedIn(access_token=str(token), expires_in=int(result.get("ExpiresIn", 3600)))


def _ask(call: Callable[[], dict[str, Any]], refused: Callable[[str, str], Exception | None]) -> dict[str, Any]:
    """One Cognito call: its refusals as ``refused`` maps them (code, message), load as "try again"."""
    try:
        return call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        mapped = refused(code, str(error.get("Message") or ""))
        if mapped is not None:
            raise mapped from None
        if code in _BUSY:
            raise TemporarilyUnavailable("sign-in is busy just now; try again in a minute") from None
        raise
    except BotoCoreError as exc:
        raise TemporarilyUnavailable("sign-in cannot be checked just now; try again") from exc


def _password_refused(code: str, message: str) -> Exception | None:
    if code in _REFUSED:
        return Unauthenticated(WRONG)
    if code in _NOT_READY:
        return ChallengeRequired("this account must be confirmed or its password reset first")
    return None


def _sign_out_refused(code: str, message: str) -> Exception | None:
    if code in _REFUSED:  # the token was revoked or has expired already: nothing left to revoke
        return _AlreadySignedOut()
    return None


class _AlreadySignedOut(Exception):
    """Cognito no longer knows the token: the session is over there already."""


def _answer_refused(code: str, message: str) -> Exception | None:
    if code == "InvalidPasswordException":
        return ValidationFailed(_password_rule(message))
    if code in ("CodeMismatchException", "ExpiredCodeException", "EnableSoftwareTokenMFAException"):
        return Unauthenticated("the code is not right")
    if code in _REFUSED | {"ResourceNotFoundException"}:
        return Unauthenticated(EXPIRED_STEP)
    return None


def _password_rule(message: str) -> str:
    """Cognito's reason for refusing a new password ("Password does not conform to policy: ..."), kept
    only when it is one of its policy sentences: it never contains the password."""
    reason = message.partition(":")[2].strip() if ":" in message else ""
    if reason and len(reason) < 120 and re.fullmatch(r"[A-Za-z0-9 ,.'-]+", reason):
        return f"the new password was refused: {reason[:1].lower()}{reason[1:].rstrip('.')}"
    return "the new password was refused: it must follow the account's password rules"


def _conditional(exc: UpdateError | PutError) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class DynamoAttemptLog:
    """Failed sign-ins per keyed address hash, in one item that expires by TTL after its window."""

    def take(self, key: str, now: datetime, window: timedelta, limit: int) -> int | None:
        """One conditional update counts the attempt while the window is current and not full; a conditional
        put starts a new window when there is none or it is over; when both are refused the window is full."""
        cutoff = int((now - window).timestamp())
        for _ in range(3):  # a concurrent attempt may start or clear the window between our writes
            try:
                t.AuthAttemptItem(key).update(
                    actions=[t.AuthAttemptItem.failures.add(1)],
                    condition=(t.AuthAttemptItem.window_started > cutoff) & (t.AuthAttemptItem.failures < limit),
                )
                return None
            except UpdateError as exc:
                if not _conditional(exc):
                    raise
            try:
                t.AuthAttemptItem(key, failures=1, window_started=int(now.timestamp()), expires_at=now + window).save(
                    condition=t.AuthAttemptItem.attempt_key.does_not_exist()
                    | (t.AuthAttemptItem.window_started <= cutoff)
                )
                return None
            except PutError as exc:
                if not _conditional(exc):
                    raise
            try:
                item = t.AuthAttemptItem.get(key, consistent_read=True)
            except t.AuthAttemptItem.DoesNotExist:
                continue  # cleared meanwhile: count again
            started = int(item.window_started)
            if started > cutoff and int(item.failures or 0) >= limit:
                return max(1, math.ceil(started + window.total_seconds() - now.timestamp()))
        return 1  # raced three times: refuse this one attempt rather than let it through uncounted

    def give_back(self, key: str) -> None:
        try:
            t.AuthAttemptItem(key).update(
                actions=[t.AuthAttemptItem.failures.add(-1)], condition=t.AuthAttemptItem.failures > 0
            )
        except UpdateError as exc:
            if not _conditional(exc):
                raise

    def clear(self, key: str) -> None:
        try:
            t.AuthAttemptItem(key).delete()
        except DeleteError:
            pass


class DynamoSignedOutSessions:
    """Sessions signed out before their token expired: the token is verified locally, so signing out must be
    remembered until the token's own expiry, under its SHA-256 (never the token). And users signed out
    everywhere (``make revoke``): every token of theirs issued before then is refused, under the SHA-256 of
    their Cognito subject."""

    PREFIX = "signed-out:"
    USER_PREFIX = "signed-out-user:"

    @classmethod
    def _key(cls, token: str) -> str:
        return cls.PREFIX + hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def user_key(cls, subject: str) -> str:
        """The item key of a user's "signed out everywhere", which ``make revoke`` writes (deploy/access.py):
        ``window_started`` is the first second from which their tokens are accepted again."""
        return cls.USER_PREFIX + hashlib.sha256(subject.encode()).hexdigest()

    def revoke(self, token: str, now: datetime, until: datetime) -> None:
        t.AuthAttemptItem(self._key(token), failures=0, window_started=int(now.timestamp()), expires_at=until).save()

    def is_revoked(self, token: str, subject: str = "", issued_at: int = 0) -> bool:
        """One strongly consistent BatchGetItem: the token's own sign-out, and its user's."""
        keys = [self._key(token)] + ([self.user_key(subject)] if subject else [])
        for item in t.AuthAttemptItem.batch_get(keys, consistent_read=True):
            if item.attempt_key.startswith(self.USER_PREFIX):
                if issued_at < int(item.window_started):
                    return True
            else:
                return True
        return False
