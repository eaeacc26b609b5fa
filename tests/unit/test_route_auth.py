"""Every admin route is behind the JWT authorizer and names the role it needs; nothing else is."""

from __future__ import annotations

import pytest

from app import app

ADMIN_ROUTES = [
    (path, method, entry)
    for path, methods in app.routes.items()
    for method, entry in methods.items()
    if path.startswith("/admin")
]


def test_there_are_admin_routes_to_check():
    assert len(ADMIN_ROUTES) >= 15


@pytest.mark.parametrize(("path", "method", "entry"), ADMIN_ROUTES, ids=[f"{m} {p}" for p, m, _ in ADMIN_ROUTES])
def test_every_admin_route_has_the_authorizer_and_a_role(path, method, entry):
    assert entry.authorizer is not None, f"{method} {path} has no authorizer"
    assert entry.authorizer.name == "cognito_jwt"
    assert getattr(entry.view_function, "required_role", None) in ("admin", "viewer"), f"{method} {path}"


def test_writes_need_the_admin_role():
    for path, method, entry in ADMIN_ROUTES:
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            assert entry.view_function.required_role == "admin", f"{method} {path} is open to viewers"


def test_participant_pages_need_no_login():
    for path, methods in app.routes.items():
        if path.startswith(("/s/", "/u/", "/health")):
            assert all(entry.authorizer is None for entry in methods.values()), path


# The dashboard's pages use the session cookie instead of the authorizer: each is registered through
# ``dashboard.page``, which checks the session, the role and the event scope before the view runs. Only
# these routes are open: the sign-in page, its form and its second step, sign-out, and the static scripts.
DASHBOARD_PUBLIC = {
    ("/dashboard", "GET"),
    ("/dashboard/sign-in", "POST"),
    ("/dashboard/sign-in/challenge", "POST"),
    ("/dashboard/sign-out", "POST"),
    ("/dashboard/static/{name}", "GET"),
}
DASHBOARD_ROUTES = [
    (path, method, entry)
    for path, methods in app.routes.items()
    for method, entry in methods.items()
    if path.startswith("/dashboard") and (path, method) not in DASHBOARD_PUBLIC
]


def test_there_are_dashboard_pages_to_check():
    assert len(DASHBOARD_ROUTES) >= 12
    assert {(p, m) for p, methods in app.routes.items() for m in methods if p.startswith("/dashboard")} >= (
        DASHBOARD_PUBLIC
    )


@pytest.mark.parametrize(
    ("path", "method", "entry"), DASHBOARD_ROUTES, ids=[f"{m} {p}" for p, m, _ in DASHBOARD_ROUTES]
)
def test_every_dashboard_page_checks_the_session_and_a_role(path, method, entry):
    assert getattr(entry.view_function, "required_role", None) in ("admin", "viewer"), f"{method} {path}"
    if method != "GET":
        assert entry.view_function.required_role == "admin", f"{method} {path} is open to viewers"
