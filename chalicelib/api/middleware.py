"""HTTP middleware for every route, carried by a blueprint so that app.py stays a routing table: each request
is traced and its metrics are flushed as EMF (chalicelib/observability.py, ``http_boundary``)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.observability import http_boundary

bp = Blueprint(__name__)
bp.register_middleware(http_boundary, "http")
