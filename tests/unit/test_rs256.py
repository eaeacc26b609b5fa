"""The pure-Python RS256 check agrees with the cryptography library, and refuses every kind of tampering."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.adapters.rs256 import RsaPublicKey, key_from_jwk, verify

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public(private: rsa.RSAPrivateKey) -> RsaPublicKey:
    numbers = private.public_key().public_numbers()
    return RsaPublicKey(n=numbers.n, e=numbers.e)


def sign(private: rsa.RSAPrivateKey, message: bytes, digest: hashes.HashAlgorithm | None = None) -> bytes:
    return private.sign(message, padding.PKCS1v15(), digest or hashes.SHA256())


def b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=2000))
def test_a_real_signature_verifies_and_a_changed_message_does_not(message: bytes) -> None:
    signature = sign(PRIVATE, message)
    assert verify(message, signature, public(PRIVATE))
    assert not verify(message + b"x", signature, public(PRIVATE))
    assert not verify(message, signature, public(OTHER))


def test_every_tampered_signature_is_refused() -> None:
    message = b"header.payload"
    signature = sign(PRIVATE, message)
    key = public(PRIVATE)
    for i in range(0, len(signature), 17):
        flipped = bytearray(signature)
        flipped[i] ^= 0x01
        assert not verify(message, bytes(flipped), key)
    assert not verify(message, signature[1:], key)  # wrong length
    assert not verify(message, b"\x00" + signature, key)
    assert not verify(message, key.n.to_bytes(key.size, "big"), key)  # s >= n
    assert not verify(message, bytes(key.size), key)  # s = 0
    assert not verify(message, sign(PRIVATE, message, hashes.SHA512()), key)  # another digest


def test_keys_come_only_from_rs256_signing_jwks_of_2048_bits_or_more() -> None:
    numbers = PRIVATE.public_key().public_numbers()
    jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k", "n": b64(numbers.n), "e": b64(numbers.e)}
    assert key_from_jwk(jwk) == public(PRIVATE)
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()
    for bad in (
        {**jwk, "kty": "EC"},
        {**jwk, "alg": "RS512"},
        {**jwk, "use": "enc"},
        {**jwk, "n": b64(weak.n)},
        {**jwk, "e": b64(1)},
        {k: v for k, v in jwk.items() if k != "n"},
    ):
        with pytest.raises(ValueError):
            key_from_jwk(bad)
