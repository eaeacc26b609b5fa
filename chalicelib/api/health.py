"""Liveness for the local stack, load balancers and the deploy's smoke check: answers 200 once the app can
import and build its settings (for a cloud stage: its secrets read and accepted), else a JSON 500."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import container
from chalicelib.api.errors import handled

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
@handled(as_json=True)
def health() -> dict[str, str]:
    container.settings()
    return {"status": "ok"}
