"""The local stack over HTTP for the end-to-end tests: a client of the running app (as ops' scripts and the
dashboard's browser reach it), the outbox the local SES writes, axe-core's verdict on a page, and a standard
event with people and a wave. The fixtures that start the stack and the browser are in tests/e2e/conftest.py.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from email import message_from_string
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from tests.support.data import HEADER
from tests.support.mail import token_of

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_axe: Any = None


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page, at the WCAG 2.2 AA tags."""
    global _axe
    from axe_playwright_python.sync_playwright import Axe

    _axe = _axe or Axe()
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return list(results.response["violations"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Live:
    base: str
    token: str
    outbox: Path
    stack: Any

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Reply:
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=dict(headers or {}))
        if auth:
            request.add_header("Authorization", f"Bearer {self.token}")
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as reply:
                return Reply(reply.status, dict(reply.headers), reply.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def json(self, method: str, path: str, payload: Any = None) -> Reply:
        body = None if payload is None else json.dumps(payload).encode()
        return self.call(method, path, body, {"Content-Type": "application/json"})

    def emails(self) -> list[Any]:
        return [
            message_from_string(p.read_text(encoding="utf-8"), policy=default_policy)
            for p in sorted(self.outbox.glob("*.eml"))
        ]

    def wait_for_emails(self, count: int, timeout: float = 60) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.emails()
            if len(found) >= count:
                return found
            time.sleep(0.5)
        raise AssertionError(f"expected {count} emails in the outbox, found {len(self.emails())}")


# A bounced or suppressed address stays suppressed for every later event, so each event gets its own.
TAGGED_CSV = HEADER + (
    "e2e.one.{tag}@example.org,Ana Ruiz,Ministerio,government,CO,es,,yes\n"
    "e2e.two.{tag}@example.org,Paul Martin,Université,academia,FR,fr,Europe/Paris,no\n"
    "e2e.three.{tag}@example.org,Grace Okafor,Civil Voices,civil_society,NG,en,,yes\n"
    "bounce+{tag}@simulator.amazonses.com,Bounce Demo,Nowhere,media,GB,en,,no\n"
    "bad-email,Bad Row,Nowhere,government,FR,en,,no\n"
)


def new_event(live: Live, title: str) -> tuple[str, str]:
    ends = date.today() - timedelta(days=1)
    r = live.json(
        "POST",
        "/admin/events",
        {
            "title": title,
            "starts_on": (ends - timedelta(days=1)).isoformat(),
            "ends_on": ends.isoformat(),
            "timezone": "Europe/Zurich",
        },
    )
    assert r.status == 201, r.body
    event_id = r.json()["event_id"]
    tag = "".join(ch for ch in title.lower() if ch.isalnum())
    people = TAGGED_CSV.format(tag=tag).encode()
    r = live.call("POST", f"/admin/events/{event_id}/participants", people, {"Content-Type": "text/csv"})
    assert r.status == 200, r.body
    report = r.json()
    assert report["imported"] == 4 and [x["row"] for x in report["rejected"]] == [6]
    r = live.json(
        "POST",
        f"/admin/events/{event_id}/waves",
        {
            "questionnaire": "satisfaction",
            "opens": {"after_event_days": 1, "local_time": "09:00"},
            "reminders_after_days": [7],
            "closes": {"after_open_days": 21},
        },
    )
    assert r.status == 201, r.body
    return event_id, r.json()["wave_id"]


def token_for(message: Any) -> str:
    """The personal link's token in an email from the outbox."""
    return token_of(message)
