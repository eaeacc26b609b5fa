"""In-process moto with the real resources from infra/template.json, the Chalice test client, signed-in users
(API tokens, and dashboard visitors with a session cookie) and the application's movable clock.

The helpers these fixtures use, and the ones tests share, are in tests/support/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import identity
from devstack.provision import provision
from tests.support.clock import Clock
from tests.support.data import YEAR
from tests.support.stack import SENDER, Stack, app_env, clear_outbox, moto_jwks
from tests.support.visitor import Visitor, sign_in


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    from chalicelib import container

    with mock_aws():
        clear_outbox()  # no mail from an earlier test
        outputs = provision(None, region="us-east-1", prefix="event-feedback", sender=SENDER)
        env = app_env(outputs)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(container, "jwks_fetcher", moto_jwks)
        container.reset()
        yield Stack(outputs, env)
        container.reset()


@pytest.fixture
def tokens(stack: Stack) -> dict[str, str]:
    """Access tokens of an admin and a viewer, for the JSON API's Bearer header."""
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool, client_id = stack.outputs["UserPoolId"], stack.outputs["UserPoolClientId"]
    out = {}
    for role in ("admin", "viewer"):
        email, password = f"{role}@example.org", identity.new_password()
        identity.ensure_user(idp, pool, email, password, role)
        out[role] = identity.sign_in(idp, client_id, email, password)
    return out


@pytest.fixture
def client(stack: Stack) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as c:
        yield c


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The application's clock, frozen and movable: ``container.now`` returns ``clock.now``."""
    from chalicelib import container

    c = Clock(datetime(YEAR, 1, 5, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(container, "now", lambda: c.now)
    return c


# The dashboard ---------------------------------------------------------------------------------------------


@pytest.fixture
def users(stack: Stack) -> dict[str, tuple[str, str]]:
    """The dashboard's admin and viewer: email and password."""
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    out = {}
    for role in ("admin", "viewer"):
        email, password = f"dash-{role}@example.org", identity.new_password()
        identity.ensure_user(idp, stack.outputs["UserPoolId"], email, password, role)
        out[role] = (email, password)
    return out


@pytest.fixture
def admin(client: Any, users: dict[str, tuple[str, str]]) -> Visitor:
    """A browser signed in to the dashboard as an admin."""
    visitor = Visitor(client)
    assert sign_in(visitor, *users["admin"]).status_code == 303
    return visitor


@pytest.fixture
def viewer(client: Any, users: dict[str, tuple[str, str]]) -> Visitor:
    """A browser signed in to the dashboard as a viewer."""
    visitor = Visitor(client)
    assert sign_in(visitor, *users["viewer"]).status_code == 303
    return visitor


@pytest.fixture
def cognito_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password check the dashboard asks Cognito for."""
    from chalicelib.adapters.signin import CognitoPasswordAuth

    calls: list[str] = []
    original: Callable[..., Any] = CognitoPasswordAuth.authenticate

    def counting(self: CognitoPasswordAuth, email: str, password: str) -> Any:
        calls.append("initiate_auth")
        return original(self, email, password)

    monkeypatch.setattr(CognitoPasswordAuth, "authenticate", counting)
    return calls
