"""Reading the outbox: moto's SES messages parsed, their recipient, parts and personal links, the outbox read
incrementally, and what SES reports back for each message fed to the feedback handler."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.domain.model import TokenGrant

_LINK = re.compile(r"http://testserver/s/([A-Za-z0-9_-]{43})")  # the in-process app's EF_PUBLIC_BASE_URL
_ANY_LINK = re.compile(r"/s/([A-Za-z0-9_-]{43})")  # a personal link under any base URL


def parsed(message: Any) -> EmailMessage:
    """A message moto's SES accepted, as the email package reads it."""
    found: EmailMessage = message_from_string(message.raw_data, policy=default_policy)  # type: ignore[assignment]
    return found


def recipient(message: Any) -> str:
    return str(parsed(message)["To"]).strip()


def text_of(email: EmailMessage) -> str:
    """The plain-text part."""
    part = email.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def text_part(message: Any) -> str:
    return text_of(parsed(message))


def html_part(message: Any) -> str:
    part = parsed(message).get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_token(message: Any) -> str:
    """The token of the personal link in a message the in-process app sent."""
    found = _LINK.search(text_part(message))
    assert found, text_part(message)
    return found.group(1)


def token_of(email: EmailMessage) -> str:
    """The token of the personal link in a parsed email, whatever the base URL."""
    found = _ANY_LINK.search(text_of(email))
    assert found, "no survey link in the email"
    return found.group(1)


def grant(message: Any) -> TokenGrant:
    """What the email's personal link opens: wave, participant and the kind of email it came with."""
    from chalicelib import container
    from chalicelib.domain.tokens import hash_token

    found = container.store().get_token(hash_token(link_token(message)))
    assert found is not None
    return found


@dataclass
class Mailbox:
    """moto's SES outbox, read incrementally."""

    stack: Any
    seen: int = 0
    all: list[Any] = field(default_factory=list)

    def new(self) -> list[Any]:
        messages = self.stack.ses_messages()
        fresh = messages[self.seen :]
        self.seen = len(messages)
        self.all.extend(fresh)
        return fresh


def to_set(messages: Iterable[Any]) -> set[str]:
    return {recipient(m) for m in messages}


def feed_ses_events(client: Any, messages: Iterable[Any]) -> list[Any]:
    """Publish what SES would report for each accepted message through the SNS-triggered handler."""
    from chalicelib import container
    from devstack import ses_events

    done = []
    for message in messages:
        for record in ses_events.notifications(message.id, message.raw_data, ses_events.token_tags(container.store())):
            event = client.events.generate_sns_event(message=json.dumps(record))
            done.append(client.lambda_.invoke("ses_feedback", event).payload)
    return done
