"""An uploaded list kept between the dashboard's mapping step and "Import", unreadable by the store.

The file is compressed and encrypted with a fresh random key that is never stored: the key travels in the
mapping form (inside its MAC'd state), so the browser that uploaded the file is the only holder of the one
thing that opens it. The store keeps ciphertext for an hour at most (the import deletes it at once), and
without the page, what it keeps is noise: nothing personal lands anywhere new in readable form.

The cipher is SHAKE-256 as a keyed stream (the key is used once, so no nonce is needed) with an
HMAC-SHA256 tag over the ciphertext (encrypt-then-MAC), both from the standard library: the Lambda layer
ships no cryptography wheel (see requirements.txt).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib

from chalicelib.domain.errors import ValidationFailed

KEY_BYTES = 32
TAG_BYTES = 32


def _xor(data: bytes, key: bytes) -> bytes:
    stream = hashlib.shake_256(b"ef-pending-upload-stream\x00" + key).digest(len(data))
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def _tag(key: bytes, ciphertext: bytes) -> bytes:
    mac_key = hashlib.sha256(b"ef-pending-upload-mac\x00" + key).digest()
    return hmac.new(mac_key, ciphertext, hashlib.sha256).digest()


def seal_upload(raw: bytes) -> tuple[str, bytes]:
    """(the key, as hex for the form; the sealed bytes, for the store)."""
    key = secrets.token_bytes(KEY_BYTES)
    ciphertext = _xor(zlib.compress(raw, 6), key)
    return key.hex(), ciphertext + _tag(key, ciphertext)


def open_upload(key_hex: str, sealed: bytes) -> bytes:
    """The uploaded bytes, or ValidationFailed when the key or the bytes are not the ones sealed."""
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        raise ValidationFailed("the uploaded file cannot be found; upload it again") from None
    ciphertext, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    if len(key) != KEY_BYTES or len(sealed) < TAG_BYTES or not hmac.compare_digest(tag, _tag(key, ciphertext)):
        raise ValidationFailed("the uploaded file cannot be found; upload it again")
    return zlib.decompress(_xor(ciphertext, key))
