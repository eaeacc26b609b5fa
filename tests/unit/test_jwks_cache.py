"""The token verifier's signing keys (issue 13, defect 6): a token with an unknown ``kid`` may make it look for
new keys at most once a minute, so random kids cannot turn every request into an outbound fetch; and a refresh
that fails keeps the keys it has, so a JWKS outage does not reject every valid token once the hour is up."""

from __future__ import annotations

import base64
import time
import urllib.error
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.auth import JWKS_TTL, UNKNOWN_KID_INTERVAL, JwtVerifier
from chalicelib.domain.errors import Unauthenticated

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"
CLIENT = "client-123"
KEYS = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("k1", "k2")}


def b64(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def jwk(kid: str) -> dict[str, str]:
    numbers = KEYS[kid].public_key().public_numbers()
    return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": b64(numbers.n), "e": b64(numbers.e)}


def token(kid: str, signer: str | None = None) -> str:
    now = int(time.time())
    claims = {"sub": "u-1", "iss": ISSUER, "token_use": "access", "client_id": CLIENT, "iat": now, "exp": now + 600}
    return jwt.encode(claims, KEYS[signer or kid], algorithm="RS256", headers={"kid": kid})


class Jwks:
    """The pool's JWKS endpoint: the keys it publishes, whether it answers, and how often it was asked."""

    def __init__(self, *kids: str) -> None:
        self.kids = list(kids)
        self.down = False
        self.fetches = 0

    def __call__(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        if self.down:
            raise urllib.error.URLError("timed out")
        return {"keys": [jwk(k) for k in self.kids]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup() -> tuple[JwtVerifier, Jwks, Clock]:
    endpoint, clock = Jwks("k1"), Clock()
    verifier = JwtVerifier(
        jwks_url="https://example/jwks.json", issuer=ISSUER, client_id=CLIENT, fetch=endpoint, clock=clock
    )
    return verifier, endpoint, clock


def test_random_kids_cost_at_most_one_fetch_a_minute(setup: tuple[JwtVerifier, Jwks, Clock]) -> None:
    verifier, endpoint, clock = setup
    assert verifier.verify(token("k1")).subject == "u-1"
    assert endpoint.fetches == 1
    for n in range(50):
        with pytest.raises(Unauthenticated, match="unknown signing key"):
            verifier.verify(token(f"random-{n}", signer="k1"))
        clock.now += 1
    assert endpoint.fetches == 1, "an unknown kid within a minute of the last fetch must not fetch again"
    clock.now += UNKNOWN_KID_INTERVAL
    for n in range(50):
        with pytest.raises(Unauthenticated, match="unknown signing key"):
            verifier.verify(token(f"again-{n}", signer="k1"))
    assert endpoint.fetches == 2
    assert verifier.verify(token("k1")).subject == "u-1"  # the known key still works, without a fetch
    assert endpoint.fetches == 2


def test_a_rotated_key_is_found_once_a_minute_has_passed(setup: tuple[JwtVerifier, Jwks, Clock]) -> None:
    verifier, endpoint, clock = setup
    verifier.verify(token("k1"))
    endpoint.kids.append("k2")  # Cognito publishes a new key
    clock.now += UNKNOWN_KID_INTERVAL + 1
    assert verifier.verify(token("k2")).subject == "u-1"
    assert endpoint.fetches == 2


def test_a_failed_refresh_keeps_the_keys_and_is_not_retried_on_every_request(
    setup: tuple[JwtVerifier, Jwks, Clock],
) -> None:
    verifier, endpoint, clock = setup
    verifier.verify(token("k1"))
    endpoint.down = True
    clock.now += JWKS_TTL + 1  # the keys are due for a refresh, and the endpoint does not answer
    for _ in range(20):
        assert verifier.verify(token("k1")).subject == "u-1"
    assert endpoint.fetches == 2, "one failed refresh, then the cached keys until the next try"
    clock.now += UNKNOWN_KID_INTERVAL + 1
    assert verifier.verify(token("k1")).subject == "u-1"
    assert endpoint.fetches == 3
    endpoint.down = False
    clock.now += UNKNOWN_KID_INTERVAL + 1
    verifier.verify(token("k1"))
    assert endpoint.fetches == 4
    clock.now += 10
    verifier.verify(token("k1"))
    assert endpoint.fetches == 4, "refreshed: the next hour needs no fetch"


def test_with_no_keys_yet_a_failed_fetch_is_an_outage_not_a_refusal(setup: tuple[JwtVerifier, Jwks, Clock]) -> None:
    verifier, endpoint, _ = setup
    endpoint.down = True
    with pytest.raises(urllib.error.URLError):
        verifier.verify(token("k1"))  # the authorizer answers "unavailable" (503), not 401
