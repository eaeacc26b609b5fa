"""What SES does in the cloud after it accepts an email, done locally: write it to the outbox, and
publish the configuration set's Delivery/Bounce/Complaint events, in SES's own JSON, to SNS.

moto keeps accepted messages but publishes no event-publishing records, so this fills the gap. The
SES mailbox simulator's addresses behave as in SES: bounce@simulator.amazonses.com bounces,
complaint@simulator.amazonses.com complains, and anything else is delivered.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_UNSUB = re.compile(r"/u/([A-Za-z0-9_-]{43})")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def outcome_for(address: str) -> str:
    local, _, domain = address.lower().partition("@")
    if domain == "simulator.amazonses.com":
        if local.startswith("bounce"):
            return "Bounce"
        if local.startswith("complaint"):
            return "Complaint"
    return "Delivery"


def notifications(
    message_id: str, raw: str, tags_for_token: Callable[[str], dict[str, str] | None]
) -> list[dict[str, Any]]:
    """The event-publishing records SES would send for one accepted raw message."""
    parsed = email.message_from_string(raw, policy=email.policy.default)
    to = [a.strip() for a in str(parsed.get("To", "")).split(",") if a.strip()]
    found = _UNSUB.search(str(parsed.get("List-Unsubscribe", "")))
    tags = tags_for_token(found.group(1)) if found else None
    mail = {
        "timestamp": _now(),
        "messageId": message_id,
        "source": str(parsed.get("From", "")),
        "destination": to,
        "tags": {k: [v] for k, v in (tags or {}).items()},
    }
    # The configuration set publishes reject, bounce, complaint, delivery and rendering failures (not
    # "send": the sender's claim already records that the email went out).
    out: list[dict[str, Any]] = []
    for address in to:
        kind = outcome_for(address)
        if kind == "Bounce":
            out.append(
                {
                    "eventType": "Bounce",
                    "mail": mail,
                    "bounce": {
                        "bounceType": "Permanent",
                        "bounceSubType": "General",
                        "timestamp": _now(),
                        "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1"}],
                    },
                }
            )
        elif kind == "Complaint":
            out.append(
                {"eventType": "Delivery", "mail": mail, "delivery": {"timestamp": _now(), "recipients": [address]}}
            )
            out.append(
                {
                    "eventType": "Complaint",
                    "mail": mail,
                    "complaint": {
                        "timestamp": _now(),
                        "complainedRecipients": [{"emailAddress": address}],
                        "complaintFeedbackType": "abuse",
                    },
                }
            )
        else:
            out.append(
                {
                    "eventType": "Delivery",
                    "mail": mail,
                    "delivery": {"timestamp": _now(), "recipients": [address], "smtpResponse": "250 2.0.0 OK"},
                }
            )
    return out


def token_tags(store: Any) -> Callable[[str], dict[str, str] | None]:
    """Recover the message tags SES would echo (moto drops them) from the link's token."""

    def lookup(token: str) -> dict[str, str] | None:
        grant = store.get_token(hashlib.sha256(token.encode()).hexdigest())
        if grant is None:
            return None
        return {
            "ef-wave": grant.wave_id,
            "ef-participant": grant.participant_id,
            "ef-event": grant.event_id,
            "ef-kind": grant.kind,
        }

    return lookup


def write_eml(outbox: Path, message_id: str, raw: str) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{message_id}.eml"
    path.write_text(raw, encoding="utf-8")
    return path


def sns_messages(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r) for r in records]
