"""Cognito user-pool JWT verification against the pool's JWKS (moto's pool locally, Cognito in the cloud)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import Forbidden, Unauthenticated

JWKS_TTL = 3600.0  # the keys are looked at again after an hour (Cognito rotates by adding a key first)
UNKNOWN_KID_INTERVAL = 60.0  # at most one look for new keys a minute, whatever the tokens' kids
ROLES = ("admin", "viewer")
ALL_EVENTS = "events:all"  # the group that lets an account see every event; without it, only its event:<id> ones


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    events: frozenset[str]  # from groups event:<id>
    expires_at: int = 0  # the token's exp (epoch seconds)
    issued_at: int = 0  # the token's iat (epoch seconds): a user signed out everywhere refuses older tokens
    all_events: bool = False  # in group events:all

    @property
    def role(self) -> str | None:
        for role in ROLES:
            if role in self.roles:
                return role
        return None

    def sees(self, event_id: str) -> bool:
        """Whether this account may see the event: every event in group ``events:all``, else only those of its
        ``event:<id>`` groups. No group at all means no event: access fails closed, so taking a scoped user's
        last event group away revokes their access rather than widening it."""
        return self.all_events or event_id in self.events

    @property
    def scope(self) -> frozenset[str] | None:
        """The events this account sees, or None for every event."""
        return None if self.all_events else self.events

    def require_event(self, event_id: str) -> None:
        if not self.sees(event_id):
            raise Forbidden("you have no access to this event")

    def require_all_events(self, what: str) -> None:
        """Creating events and questionnaires (shared by every event) is for admins of every event."""
        if not self.all_events:
            raise Forbidden(f"{what} takes an admin of every event (group {ALL_EVENTS})")


def fetch_jwks(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise Unauthenticated("JWKS URL must be https")
    with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - scheme checked above  # nosec B310
        loaded: dict[str, Any] = json.loads(reply.read().decode("utf-8"))
        return loaded


class JwtVerifier:
    """Verifies RS256 tokens from one user pool: signature (kid from JWKS), expiry, issuer, client, use."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        client_id: str,
        fetch: Callable[[str], dict[str, Any]] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.client_id = client_id
        self.fetch = fetch
        self.clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # the last refresh that succeeded
        self._tried_at: float | None = None  # the last refresh tried, successful or not

    def _key(self, kid: str) -> Any:
        """The public key for ``kid``. The JWKS is fetched when there are no keys yet, when the keys are an hour
        old, or for a kid not among them; but never more than once a minute after the first fetch, so tokens
        with made-up kids cost no outbound request, and a fetch that fails keeps the keys already held (the
        error reaches the caller only while there are none)."""
        now = self.clock()
        stale = self._fetched_at is None or now - self._fetched_at > JWKS_TTL
        wanted = kid not in self._keys or stale
        may_try = self._tried_at is None or now - self._tried_at >= UNKNOWN_KID_INTERVAL
        if wanted and (may_try or not self._keys):
            self._tried_at = now
            try:
                self._keys = self._load()
                self._fetched_at = now
            except Exception:
                if not self._keys:
                    raise
                from chalicelib.observability import logger

                logger.warning("the JWKS could not be refreshed; the cached signing keys stay in use", exc_info=True)
        if kid not in self._keys:
            raise Unauthenticated("unknown signing key")
        return self._keys[kid]

    def _load(self) -> dict[str, Any]:
        from chalicelib.adapters import rs256

        keys = {}
        for jwk in self.fetch(self.jwks_url).get("keys", []):
            try:
                keys[str(jwk["kid"])] = rs256.key_from_jwk(jwk)
            except (KeyError, ValueError, TypeError):
                continue  # not an RS256 signing key: never used
        return keys

    def verify(self, token: str) -> Principal:
        import jwt  # imported on first verification, not at cold start

        from chalicelib.adapters import rs256

        if not token or token.count(".") != 2 or len(token) > 8192:
            raise Unauthenticated("malformed token")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise Unauthenticated("unexpected algorithm")
            # The signature first (our RS256 check: no cryptography wheel in the Lambda), then the claims.
            signing_input, _, signature = token.rpartition(".")
            if not rs256.verify(
                signing_input.encode("ascii"),
                jwt.utils.base64url_decode(signature),
                self._key(str(header.get("kid", ""))),
            ):
                raise Unauthenticated("invalid token")
            claims = jwt.decode(
                token,
                issuer=self.issuer,
                options={
                    "verify_signature": False,  # verified just above
                    "verify_exp": True,
                    "verify_iat": True,
                    "verify_nbf": True,
                    "verify_iss": True,
                    "verify_aud": False,
                    "require": ["exp", "iat", "iss", "sub", "token_use"],
                },
                leeway=30,
            )
        except (jwt.PyJWTError, ValueError, UnicodeEncodeError) as exc:
            raise Unauthenticated("invalid token") from exc
        use = claims.get("token_use")
        audience = claims.get("client_id") if use == "access" else claims.get("aud")
        if use not in ("access", "id") or audience != self.client_id:
            raise Unauthenticated("token is not for this application")
        groups = claims.get("cognito:groups") or []
        if not isinstance(groups, list):
            raise Unauthenticated("malformed groups claim")
        events = frozenset(g.split(":", 1)[1] for g in groups if isinstance(g, str) and g.startswith("event:"))
        return Principal(
            subject=str(claims["sub"]),
            roles=frozenset(g for g in groups if g in ROLES),
            events=events,
            expires_at=int(claims["exp"]),
            issued_at=int(claims.get("iat") or 0),
            all_events=ALL_EVENTS in groups,
        )
