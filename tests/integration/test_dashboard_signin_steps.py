"""Sign-in's second steps against moto's Cognito: a first sign-in with a temporary password chooses a new
one; an account with an authenticator app enters its code; and signing out ends the session everywhere,
not only in the browser that pressed the button."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import boto3
import pytest

from chalicelib import container
from chalicelib.api.session import SESSION_COOKIE, open_state, seal_state
from chalicelib.domain import signin
from devstack import identity
from tests.support import totp
from tests.support.cognito import add_newcomer
from tests.support.visitor import Visitor, csrf_for, page_text, sign_in


def state_of(response: Any) -> str:
    found = re.search(r'name="state" value="([^"]+)"', page_text(response))
    assert found, page_text(response)
    return found.group(1)


def answer(visitor: Visitor, page: Any, **fields: str) -> Any:
    return visitor.post(
        "/dashboard/sign-in/challenge",
        {"csrf": csrf_for(page, "/dashboard/sign-in/challenge"), "state": state_of(page), **fields},
    )


@pytest.fixture
def newcomer(stack: Any) -> tuple[str, str]:
    """An admin created with a temporary password, as an administrator creates a colleague's account."""
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    return add_newcomer(idp, stack.outputs["UserPoolId"], "newcomer@example.org", "admin")


def test_a_first_sign_in_chooses_a_new_password_pairs_an_app_then_signs_in(client, newcomer, monkeypatch):
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")  # moto checks the codes, as Cognito does
    visitor = Visitor(client)
    step = sign_in(visitor, *newcomer)
    assert step.status_code == 200 and SESSION_COOKIE not in visitor.jar
    text = page_text(step)
    assert "<h1>Choose a new password</h1>" in text and 'autocomplete="new-password"' in text
    assert newcomer[1] not in text  # the temporary password never comes back

    # Two different passwords: the same step again, with the reason.
    chosen = identity.new_password()
    again = answer(visitor, step, new_password=chosen, confirm_password=chosen + "x")
    assert again.status_code == 422 and "The two passwords are not the same." in page_text(again)
    # A password the pool's policy refuses.
    weak = answer(visitor, again, new_password="short", confirm_password="short")
    assert weak.status_code == 422 and "The new password was refused" in page_text(weak)
    assert "short" not in re.sub(r'value="[^"]*"', "", page_text(weak)).replace("short of", "")

    # The pool requires an authenticator app (MFA ON): the newcomer pairs one before the session starts.
    setup = answer(visitor, weak, new_password=chosen, confirm_password=chosen)
    assert setup.status_code == 200 and SESSION_COOKIE not in visitor.jar
    text = page_text(setup)
    assert "<h1>Set up your authenticator app</h1>" in text
    key = re.search(r'<code id="setup-key" translate="no">([A-Za-z2-7 ]+)</code>', text)
    assert key, text
    assert f"otpauth://totp/event-feedback%3Anewcomer%40example.org?secret={key.group(1).replace(' ', '')}" in text
    assert answer(visitor, setup, code="12ab").status_code == 422

    done = answer(visitor, setup, code=totp.code(key.group(1)))
    assert done.status_code == 303 and done.headers["Location"] == "/dashboard"
    assert SESSION_COOKIE in visitor.jar
    assert "Signed in as admin" in page_text(visitor.get("/dashboard"))
    # From now on, the new password and a code from the app sign in.
    later = Visitor(client)
    step = sign_in(later, newcomer[0], chosen)
    assert step.status_code == 200 and "<h1>Enter your code</h1>" in page_text(step)
    assert answer(later, step, code=totp.code(key.group(1))).status_code == 303


def test_a_wrong_first_code_from_the_new_app_is_refused(client, newcomer, monkeypatch):
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
    visitor = Visitor(client)
    chosen = identity.new_password()
    setup = answer(visitor, sign_in(visitor, *newcomer), new_password=chosen, confirm_password=chosen)
    assert "<h1>Set up your authenticator app</h1>" in page_text(setup)
    key = re.search(r'<code id="setup-key" translate="no">([A-Za-z2-7 ]+)</code>', page_text(setup))
    assert key
    wrong = f"{(int(totp.code(key.group(1))) + 1) % 1_000_000:06d}"
    refused = answer(visitor, setup, code=wrong)
    assert refused.status_code == 401 and "The code is not right." in page_text(refused)
    assert SESSION_COOKIE not in visitor.jar


def enable_authenticator(stack: Any, email: str, password: str) -> None:
    """The user pairs an authenticator app, as Cognito's hosted pages would let them."""
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    access = identity.sign_in(idp, stack.outputs["UserPoolClientId"], email, password)
    idp.associate_software_token(AccessToken=access)
    idp.verify_software_token(AccessToken=access, UserCode="123456")
    idp.admin_set_user_mfa_preference(
        UserPoolId=stack.outputs["UserPoolId"],
        Username=email,
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )


def test_an_authenticator_code_is_asked_for(client, stack, users):
    email, password = users["admin"]
    enable_authenticator(stack, email, password)
    visitor = Visitor(client)
    step = sign_in(visitor, email, password)
    assert step.status_code == 200 and "<h1>Enter your code</h1>" in page_text(step)
    assert 'autocomplete="one-time-code"' in page_text(step)

    bad = answer(visitor, step, code="12ab")
    assert bad.status_code == 422 and "Enter the 6-digit code." in page_text(bad)
    done = answer(visitor, bad, code="123 456")  # moto accepts any code unless TOTP checking is switched on
    assert done.status_code == 303 and SESSION_COOKIE in visitor.jar


def test_a_wrong_code_counts_towards_the_lockout(client, stack, users, monkeypatch):
    from chalicelib.adapters.signin import CognitoPasswordAuth
    from chalicelib.domain.errors import Unauthenticated

    email, password = users["admin"]
    enable_authenticator(stack, email, password)

    def wrong(self: Any, challenge: str, session: str, email: str, answer: str) -> Any:
        raise Unauthenticated("the code is not right")

    monkeypatch.setattr(CognitoPasswordAuth, "respond", wrong)
    visitor = Visitor(client)
    step = sign_in(visitor, email, password)
    for _ in range(signin.MAX_FAILURES):
        step = answer(visitor, step, code="000000")
        assert step.status_code == 401 and "The code is not right." in page_text(step)
    locked = answer(visitor, step, code="000000")
    assert locked.status_code == 429 and "Too many failed sign-ins" in page_text(locked)


def test_a_forged_or_stale_step_is_refused(client, newcomer, monkeypatch):
    visitor = Visitor(client)
    step = sign_in(visitor, *newcomer)
    state = state_of(step)
    body, _, mac = state.rpartition(".")
    data = json.loads(base64.urlsafe_b64decode(body))
    data["e"] = "someone.else@example.org"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode() + "." + mac
    chosen = identity.new_password()
    fields = {
        "csrf": csrf_for(step, "/dashboard/sign-in/challenge"),
        "new_password": chosen,
        "confirm_password": chosen,
    }
    refused = visitor.post("/dashboard/sign-in/challenge", {**fields, "state": forged})
    assert refused.status_code == 401 and "This sign-in step has expired" in page_text(refused)
    assert visitor.post("/dashboard/sign-in/challenge", {**fields, "state": state, "csrf": "x"}).status_code == 403

    secret = container.settings().session_secret
    now = int(container.now().timestamp())
    assert open_state(secret, "challenge", state, now, 170) is not None
    assert open_state(secret, "challenge", state, now + 171, 170) is None  # Cognito's step lasts 3 minutes
    assert open_state(secret, "other-purpose", state, now, 170) is None
    assert open_state(secret, "challenge", seal_state(secret, "challenge", {"c": "x"}, now - 500), now, 170) is None


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(client, users):
    visitor = Visitor(client)
    assert sign_in(visitor, *users["admin"]).status_code == 303
    copy = Visitor(client)  # another tab, or a cookie someone copied
    copy.jar = dict(visitor.jar)
    token = copy.jar[SESSION_COOKIE].split(".", 1)[1].rsplit(".", 1)[0]
    events = visitor.get("/dashboard")
    assert copy.get("/dashboard/programme").status_code == 200

    out = visitor.post("/dashboard/sign-out", {"csrf": csrf_for(events, "/dashboard/sign-out")})
    assert out.status_code == 303
    after = copy.get("/dashboard/programme")
    assert after.status_code == 303 and "ended=1" in after.headers["Location"]
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    items = ddb.scan(TableName=container.settings().table("auth_attempts"))["Items"]
    assert [i["attempt_key"]["S"][:11] for i in items] == ["signed-out:"]
    assert token not in json.dumps(items)  # only the token's hash is kept, until it expires
    assert "expires_at" in items[0]
    # Signing in again starts a fresh session.
    assert sign_in(copy, *users["admin"]).status_code == 303
    assert copy.get("/dashboard/programme").status_code == 200
