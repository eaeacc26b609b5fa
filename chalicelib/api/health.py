"""Liveness for the local stack and load balancers: answers once the app can import and read settings."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import container

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    container.settings()
    return {"status": "ok"}
