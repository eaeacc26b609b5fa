"""Local admin and viewer users in moto's Cognito, and signing in to get their tokens."""

from __future__ import annotations

import secrets
from typing import Any

ALL_EVENTS = "events:all"  # the group that lets a user see every event (chalicelib/adapters/auth.py)


def ensure_user(idp: Any, pool_id: str, email: str, password: str, group: str, *, all_events: bool = True) -> None:
    """A confirmed user with this password, in ``group`` (admin or viewer) and, unless told otherwise, in
    ``events:all``: the local stack's and the tests' users see every event, as the organisation's own staff do."""
    try:
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
    except idp.exceptions.UsernameExistsException:
        pass
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
    if all_events:
        try:
            idp.create_group(GroupName=ALL_EVENTS, UserPoolId=pool_id, Description="Sees every event")
        except idp.exceptions.GroupExistsException:
            pass
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=ALL_EVENTS)


def sign_in(idp: Any, client_id: str, email: str, password: str) -> str:
    """USER_PASSWORD_AUTH, as the dashboard does; returns the access token (it carries the groups)."""
    reply = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return str(reply["AuthenticationResult"]["AccessToken"])


def new_password() -> str:
    # Meets the pool's policy: length, upper, lower, digit and symbol.
    return "Ef-" + secrets.token_urlsafe(12) + "a1!"
