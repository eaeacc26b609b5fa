"""RFC 6238 time-based codes, as an authenticator app computes them from the setup key Cognito gives."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


def code(setup_key: str, at: float | None = None) -> str:
    """The 6-digit code for the key (base32, spaces allowed) in the current 30-second step."""
    key = setup_key.replace(" ", "").upper()
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"
