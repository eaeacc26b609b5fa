"""Signing out revokes the session on every route (issue 13, defect 2): the cookie's access token, copied and
used as a Bearer token on the admin API, is refused once its session signed out, Cognito is told
(``GlobalSignOut``, so its refresh token is revoked too), and the authorizer's verdict is not cached past that
check."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from app import app
from chalicelib.api import admin
from chalicelib.api.session import SESSION_COOKIE
from tests.support.api import auth, body
from tests.support.visitor import Visitor, csrf_for, sign_in


def token_of(visitor: Visitor) -> str:
    return visitor.jar[SESSION_COOKIE].split(".", 1)[1].rsplit(".", 1)[0]


def signed_in(client: Any, email: str, password: str) -> tuple[Visitor, str]:
    visitor = Visitor(client)
    assert sign_in(visitor, email, password).status_code == 303
    return visitor, token_of(visitor)


def sign_out(visitor: Visitor) -> None:
    events = visitor.get("/dashboard")
    assert visitor.post("/dashboard/sign-out", {"csrf": csrf_for(events, "/dashboard/sign-out")}).status_code == 303


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_a_signed_out_token_is_refused_by_the_admin_api(client, users, role):
    visitor, token = signed_in(client, *users[role])
    assert client.http.get("/admin/events", headers=auth(token)).status_code == 200
    sign_out(visitor)
    after = client.http.get("/admin/events", headers=auth(token))
    assert after.status_code == 401, after.body
    assert body(after)["error"]["code"] == "unauthorized"
    assert token not in after.body.decode()


def test_signing_out_ends_that_session_only(client, users):
    first, signed_out = signed_in(client, *users["admin"])
    second, token = signed_in(client, *users["admin"])  # another browser of the same person
    sign_out(first)
    assert client.http.get("/admin/events", headers=auth(signed_out)).status_code == 401
    assert second.get("/dashboard/programme").status_code == 200
    assert client.http.get("/admin/events", headers=auth(token)).status_code == 200


def test_cognito_is_told_and_revokes_the_session_there_too(client, users, stack):
    visitor, token = signed_in(client, *users["admin"])
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    assert idp.get_user(AccessToken=token)["Username"]
    sign_out(visitor)
    with pytest.raises(ClientError) as refused:
        idp.get_user(AccessToken=token)
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_the_authorizer_caches_no_verdict_past_sign_out():
    ttls = {authorizer.name: authorizer.config.ttl_seconds for authorizer in _authorizers()}
    assert ttls == {"cognito_jwt": 0}, json.dumps(ttls)


def _authorizers() -> list[Any]:
    found = {route.view_function.__name__: route for routes in app.routes.values() for route in routes.values()}
    return list({id(r.authorizer): r.authorizer for r in found.values() if r.authorizer is not None}.values()) or [
        admin.cognito_jwt
    ]


def test_make_revoke_ends_every_session_of_a_user_at_once_on_every_route(client, users, stack):
    import time
    from datetime import UTC, datetime

    from deploy.access import revoke
    from devstack import identity

    email, password = users["viewer"]
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    browser, _ = signed_in(client, email, password)
    bearer = identity.sign_in(idp, stack.outputs["UserPoolClientId"], email, password)  # a CLI's token
    assert client.http.get("/admin/events", headers=auth(bearer)).status_code == 200

    revoke(idp, boto3.client("dynamodb", region_name="us-east-1"), stack.outputs, email, datetime.now(UTC))
    assert client.http.get("/admin/events", headers=auth(bearer)).status_code == 401
    after = browser.get("/dashboard/programme")
    assert after.status_code == 303 and "ended=1" in after.headers["Location"]
    with pytest.raises(ClientError):  # Cognito signed them out too (their refresh tokens are gone)
        idp.get_user(AccessToken=bearer)
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    items = ddb.scan(TableName=f"{stack.outputs['TablePrefix']}auth_attempts")["Items"]
    assert email not in json.dumps(items)  # only a hash of their Cognito subject is kept

    time.sleep(1.1)  # a sign-in from the next second on is a new session
    again = identity.sign_in(idp, stack.outputs["UserPoolClientId"], email, password)
    assert client.http.get("/admin/events", headers=auth(again)).status_code == 200
