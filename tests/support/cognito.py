"""Cognito users for the tests, made the way an administrator makes them."""

from __future__ import annotations

from typing import Any


def new_password() -> str:
    from devstack import identity

    return identity.new_password()


def add_newcomer(idp: Any, pool_id: str, email_address: str, group: str) -> tuple[str, str]:
    """A user whose password is still the temporary one an administrator set (FORCE_CHANGE_PASSWORD)."""
    temporary = new_password()
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=email_address,
        TemporaryPassword=temporary,
        UserAttributes=[{"Name": "email", "Value": email_address}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email_address, GroupName=group)
    try:  # as ``make user`` does by default: the organisation's staff see every event
        idp.create_group(GroupName="events:all", UserPoolId=pool_id)
    except idp.exceptions.GroupExistsException:
        pass
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email_address, GroupName="events:all")
    return email_address, temporary
