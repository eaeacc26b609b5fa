"""SES (v1 SendRawEmail) mailer: raw MIME, so the List-Unsubscribe headers and both parts go out as built."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from threading import Lock
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.ports import OutgoingEmail, SendRejected, SendThrottled, Unsendable

_THROTTLED = ("Throttling", "ThrottlingException", "MaxSendingRateExceeded", "LimitExceeded")
_REJECTED = (
    "MessageRejected",
    "MailFromDomainNotVerified",
    "ConfigurationSetDoesNotExist",
    "AccountSendingPausedException",
    "InvalidParameterValue",
)


class SendPacer:
    """Spaces sends evenly at the account's SES rate: each send may start one interval after the previous
    one, and waits only when it would come early. No burst is saved up while idle (not a token bucket):
    SES's own limit is per second, and an even pace never meets it."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next_at = 0.0
        self.lock = Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            time.sleep(delay)


class SesMailer:
    def __init__(self, ses: Any, *, sender: str, configuration_set: str, pacer: SendPacer) -> None:
        self.ses = ses
        self.sender = sender
        self.configuration_set = configuration_set
        self.pacer = pacer

    def build(self, email: OutgoingEmail) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = formataddr(("Event feedback", self.sender))
        msg["To"] = email.to
        msg["Subject"] = email.subject
        msg["Message-ID"] = make_msgid(domain=self.sender.split("@")[-1])
        for name, value in email.headers.items():
            msg[name] = value
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
        return msg

    def raw(self, email: OutgoingEmail) -> bytes:
        """The MIME message as SES gets it; Unsendable when the email package cannot build it (a header that
        cannot hold its text). The error's own text may quote the recipient, so only its type is kept."""
        try:
            return self.build(email).as_bytes()
        except (ValueError, TypeError) as exc:
            raise Unsendable(f"the message could not be built ({type(exc).__name__})") from None

    def check(self, email: OutgoingEmail) -> None:
        self.raw(email)

    def send(self, email: OutgoingEmail) -> str:
        raw = self.raw(email)
        kwargs: dict[str, Any] = {
            "Source": self.sender,
            "Destinations": [email.to],
            "RawMessage": {"Data": raw},
            "Tags": [{"Name": k, "Value": v} for k, v in email.tags.items()],
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        self.pacer.wait()
        try:
            reply = self.ses.send_raw_email(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "")
            if code in _THROTTLED or "rate exceeded" in message.lower():
                raise SendThrottled(code) from exc
            if code in _REJECTED:
                raise SendRejected(code) from exc
            raise
        return str(reply["MessageId"])
