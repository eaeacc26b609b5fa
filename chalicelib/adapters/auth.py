"""Cognito user-pool JWT verification against the pool's JWKS (moto's pool locally, Cognito in the cloud)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import Forbidden, Unauthenticated

JWKS_TTL = 3600.0
ROLES = ("admin", "viewer")


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    events: frozenset[str]  # from groups event:<id>; empty means every event
    expires_at: int = 0  # the token's exp (epoch seconds)

    @property
    def role(self) -> str | None:
        for role in ROLES:
            if role in self.roles:
                return role
        return None

    def sees(self, event_id: str) -> bool:
        """Whether this account may see the event: an ``event:<id>`` group scopes it, no such group means all."""
        return not self.events or event_id in self.events

    def require_event(self, event_id: str) -> None:
        if not self.sees(event_id):
            raise Forbidden("you have no access to this event")


def fetch_jwks(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise Unauthenticated("JWKS URL must be https")
    with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - scheme checked above  # nosec B310
        loaded: dict[str, Any] = json.loads(reply.read().decode("utf-8"))
        return loaded


class JwtVerifier:
    """Verifies RS256 tokens from one user pool: signature (kid from JWKS), expiry, issuer, client, use."""

    def __init__(
        self, *, jwks_url: str, issuer: str, client_id: str, fetch: Callable[[str], dict[str, Any]] = fetch_jwks
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.client_id = client_id
        self.fetch = fetch
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0

    def _key(self, kid: str) -> Any:
        from chalicelib.adapters import rs256

        stale = time.monotonic() - self._fetched_at > JWKS_TTL
        if kid not in self._keys or stale:
            document = self.fetch(self.jwks_url)
            keys = {}
            for jwk in document.get("keys", []):
                try:
                    keys[str(jwk["kid"])] = rs256.key_from_jwk(jwk)
                except (KeyError, ValueError, TypeError):
                    continue  # not an RS256 signing key: never used
            self._keys = keys
            self._fetched_at = time.monotonic()
        if kid not in self._keys:
            raise Unauthenticated("unknown signing key")
        return self._keys[kid]

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
        )
