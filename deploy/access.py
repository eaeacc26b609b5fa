"""Ending a dashboard user's access at once (``make revoke``): Cognito signs them out everywhere (their refresh
tokens go), and the stage's sign-out list refuses every token of theirs issued until now, on every route (the
tokens are verified locally, so Cognito's sign-out alone would leave them working until they expire)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.signin import DynamoSignedOutSessions

# Past the longest token's expiry (the app client's one hour), with the verifier's leeway.
KEEP = timedelta(hours=2)


def revoke(idp: Any, dynamodb: Any, outputs: dict[str, str], email: str, now: datetime) -> None:
    """Sign ``email`` out everywhere; they may sign in again (with the groups they have then) a second later."""
    user = idp.admin_get_user(UserPoolId=outputs["UserPoolId"], Username=email)
    subject = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    idp.admin_user_global_sign_out(UserPoolId=outputs["UserPoolId"], Username=email)
    dynamodb.put_item(
        TableName=f"{outputs['TablePrefix']}auth_attempts",
        Item={
            "attempt_key": {"S": DynamoSignedOutSessions.user_key(subject)},
            "failures": {"N": "0"},
            "window_started": {"N": str(int(now.timestamp()) + 1)},
            "expires_at": {"N": str(int((now + KEEP).timestamp()))},
        },
    )
