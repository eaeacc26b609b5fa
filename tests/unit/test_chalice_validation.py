"""What `chalice deploy` validates before it deploys anything, checked without deploying: the routes, and that
each route's content types are all binary or all not (a mix made `chalice deploy` refuse the app once the
uploads' types became binary; only the deploy rehearsal and tests/e2e/test_deploy_resume.py would show it)."""

from __future__ import annotations

from chalice.deploy.validate import validate_route_content_types, validate_routes

from app import app


def test_chalice_deploy_accepts_the_routes_and_their_content_types() -> None:
    validate_routes(app.routes)
    validate_route_content_types(app.routes, app.api.binary_types)
