"""RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature verification in pure Python, for Cognito's JWTs.

Verifying needs only the public key and modular exponentiation, so the ``cryptography`` wheel (4.7 MB zipped,
most of the layer once boto3 is set aside) is not shipped for it. The check is RFC 8017 §8.2.2 by
encode-and-compare: the expected encoding is built in full and compared with the recovered one, so there is
no padding parser to fool.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# DER of DigestInfo { sha256, NULL } followed by the 32-byte digest (RFC 8017 §9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
MIN_BITS = 2048


@dataclass(frozen=True)
class RsaPublicKey:
    n: int
    e: int

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8


def _b64url_int(value: Any) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError("missing key component")
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    return int.from_bytes(raw, "big")


def key_from_jwk(jwk: Mapping[str, Any]) -> RsaPublicKey:
    """An RSA public key from a JWK; ValueError for anything else or a key shorter than 2048 bits."""
    if jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") != "RS256" or jwk.get("use", "sig") != "sig":
        raise ValueError("not an RS256 signing key")
    key = RsaPublicKey(n=_b64url_int(jwk.get("n")), e=_b64url_int(jwk.get("e")))
    if key.n.bit_length() < MIN_BITS or key.e < 3 or key.e % 2 == 0:
        raise ValueError("RSA key too weak")
    return key


def verify(message: bytes, signature: bytes, key: RsaPublicKey) -> bool:
    """True when ``signature`` is ``key``'s RS256 signature of ``message``."""
    k = key.size
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return False
    recovered = pow(s, key.e, key.n).to_bytes(k, "big")
    t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(recovered, expected)
