"""Small, typed accessors for the parts of a Chalice request the views read."""

from __future__ import annotations

import re

from chalice.app import Request

# A stage name or a custom domain's base path, one segment at a time (API Gateway allows no more than these).
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9$_.+!*'()-]+")


def body_bytes(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def query(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


def base_path(request: Request | None) -> str:
    """The path in front of the API's own paths in the URL the browser used: ``/api`` through the API
    Gateway stage URL, a custom domain's base path (``/feedback``), ``""`` at a domain's root and under
    ``chalice local``. Every link, form action and redirect of the pages starts with it.

    It comes from the request, not from EF_PUBLIC_BASE_URL, because one deployment can be reached both
    ways at once: ``requestContext.path`` is the path the browser used, and its last segments are the
    route (``resourcePath``, e.g. ``/s/{token}``); what comes before them is the prefix. Anything that does
    not fit that shape gives ``""``."""
    if request is None:
        return ""
    context = request.context or {}
    used, route = context.get("path"), context.get("resourcePath")
    if not isinstance(used, str) or not isinstance(route, str) or "+}" in route:
        return ""
    used_parts = [part for part in used.split("/") if part]
    route_parts = [part for part in route.split("/") if part]
    extra = len(used_parts) - len(route_parts)
    if extra <= 0:
        return ""
    prefix, rest = used_parts[:extra], used_parts[extra:]
    if any(r != u for r, u in zip(route_parts, rest, strict=True) if not r.startswith("{")):
        return ""
    if not all(_PREFIX_SEGMENT.fullmatch(part) and part.strip(".") for part in prefix):
        return ""
    return "/" + "/".join(prefix)
