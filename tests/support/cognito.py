"""Cognito users for the tests, made the way an administrator makes them."""

from __future__ import annotations

from typing import Any

import boto3

from devstack import identity


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


class Pool:
    """The user pool, as an administrator manages it in the Cognito console."""

    def __init__(self, stack: Any) -> None:
        self.idp = boto3.client("cognito-idp", region_name="us-east-1")
        self.pool, self.client_id = stack.outputs["UserPoolId"], stack.outputs["UserPoolClientId"]

    def user(self, email: str, role: str, *events: str) -> str:
        """A user in ``role``, in ``event:<id>`` for each of ``events`` and not in ``events:all``; their password."""
        password = identity.new_password()
        identity.ensure_user(self.idp, self.pool, email, password, role, all_events=False)
        for event_id in events:
            self.add(email, f"event:{event_id}")
        return password

    def add(self, email: str, group: str) -> None:
        try:
            self.idp.create_group(GroupName=group, UserPoolId=self.pool)
        except self.idp.exceptions.GroupExistsException:
            pass
        self.idp.admin_add_user_to_group(UserPoolId=self.pool, Username=email, GroupName=group)

    def remove(self, email: str, group: str) -> None:
        self.idp.admin_remove_user_from_group(UserPoolId=self.pool, Username=email, GroupName=group)

    def token(self, email: str, password: str) -> str:
        return identity.sign_in(self.idp, self.client_id, email, password)
