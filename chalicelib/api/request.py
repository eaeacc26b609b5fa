"""Small, typed accessors for the parts of a Chalice request the views read."""

from __future__ import annotations

from chalice.app import Request


def body_bytes(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def query(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})
