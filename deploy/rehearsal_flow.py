"""The rehearsal's round trip through the deployed functions: an admin and a participant, as in production.

Every request goes to the deployed zips (deploy.artifacts) with their deployed environment, behind the ``/api``
stage path: the admin signs in to the stage's user pool and calls the admin API through the authorizer; the
schedule and sender functions turn "send now" into an email that the embedded SES accepts; the participant opens
its link, answers, and lands on the thank-you page inside the stage; the summary counts the answer.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from deploy.artifacts import DeployedFunctions
from deploy.deploying import Deployed
from deploy.smoke import Reply

Step = tuple[str, str | None]
JSON = {"Content-Type": "application/json"}
PARTICIPANT = "rehearsal.participant@example.org"
ADMIN = "rehearsal.admin@example.org"


class _Form(HTMLParser):
    """The survey form's action and, per field, a first valid answer (the first option of each choice)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("method", "").lower() == "post" and self.action is None:
            self.action = a.get("action") or ""
        if tag == "input" and a.get("name") and a.get("type") in ("radio", "checkbox"):
            self.fields.setdefault(str(a["name"]), str(a.get("value", "")))
        elif tag == "input" and a.get("name") and a.get("type") == "hidden":
            self.fields[str(a["name"])] = str(a.get("value", ""))


def participant_round_trip(deployed: Deployed, functions: DeployedFunctions) -> list[Step]:
    steps: list[Step] = []
    state: dict[str, Any] = {}

    def step(what: str, run: Callable[[], str | None]) -> bool:
        try:
            problem = run()
        except Exception as exc:  # noqa: BLE001 - a failed step is reported; the later ones are skipped
            problem = f"{type(exc).__name__}: {exc}"
        steps.append((what, problem))
        return problem is None

    def expect(reply: Reply, status: int, what: str) -> str | None:
        if reply.status != status:
            return f"{what} answered {reply.status} {reply.body[:300]!r}"
        return None

    def sign_in() -> str | None:
        from devstack import identity

        idp = deployed.account.client("cognito-idp")
        password = identity.new_password()
        identity.ensure_user(idp, deployed.outputs["UserPoolId"], ADMIN, password, "admin")
        token = identity.sign_in(idp, deployed.outputs["UserPoolClientId"], ADMIN, password)
        state["auth"] = {"Authorization": f"Bearer {token}"}
        return expect(functions.http("GET", "/admin/events", headers=state["auth"]), 200, "GET /admin/events")

    def create_event() -> str | None:
        today = date.today()
        body = {"title": "Rehearsal workshop", "starts_on": str(today - timedelta(days=2)),
                "ends_on": str(today - timedelta(days=1)), "timezone": "Europe/Paris"}  # fmt: skip
        reply = functions.http("POST", "/admin/events", {**state["auth"], **JSON}, json.dumps(body))
        problem = expect(reply, 201, "POST /admin/events")
        state["event"] = reply.json()["event_id"] if problem is None else None
        return problem

    def import_participant() -> str | None:
        csv = (
            "email,full_name,organisation,stakeholder_group,country,language,timezone,sponsored\n"
            f"{PARTICIPANT},Rehearsal Participant,Rehearsal Ministry,government,FR,en,,no\n"
        )
        path = f"/admin/events/{state['event']}/participants"
        reply = functions.http("POST", path, {**state["auth"], "Content-Type": "text/csv"}, csv)
        problem = expect(reply, 200, f"POST {path}")
        if problem is None and reply.json().get("imported") != 1:
            problem = f"the import answered {reply.body[:300]!r}"
        return problem

    def create_wave() -> str | None:
        body = {"questionnaire": "satisfaction", "opens": {"at": f"{date.today() + timedelta(days=7)}T09:00:00Z"},
                "reminders_after_days": [], "closes": {"after_open_days": 30}}  # fmt: skip
        path = f"/admin/events/{state['event']}/waves"
        reply = functions.http("POST", path, {**state["auth"], **JSON}, json.dumps(body))
        problem = expect(reply, 201, f"POST {path}")
        state["wave"] = reply.json()["wave_id"] if problem is None else None
        return problem

    def send_now() -> str | None:
        from deploy.rehearsal import accepted_emails

        path = f"/admin/events/{state['event']}/waves/{state['wave']}/send"
        reply = functions.http("POST", path, state["auth"])
        if reply.status not in (200, 202):
            return f"POST {path} answered {reply.status} {reply.body[:300]!r}"
        before = len(accepted_emails(deployed.account.region))
        sqs = deployed.account.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=deployed.outputs["SendQueueUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=2
        ).get("Messages", [])
        if not messages:
            return "send now put nothing on the stage's send queue"
        event = {"Records": [_sqs_record(m, deployed.outputs["SendQueueArn"]) for m in messages]}
        answer = functions.invoke("sender", event)
        if not answer["ok"]:
            return f"the sender function failed: {answer['error']}"
        for m in messages:  # as the event source mapping does after a successful invocation
            sqs.delete_message(QueueUrl=deployed.outputs["SendQueueUrl"], ReceiptHandle=m["ReceiptHandle"])
        mails = accepted_emails(deployed.account.region)[before:]
        if len(mails) != 1:
            return f"SES accepted {len(mails)} emails, expected the one invitation"
        message = email.message_from_bytes(mails[0], policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        links = re.findall(r"https?://\S+/s/[A-Za-z0-9_-]+", text)
        base = deployed.public_base_url
        if not links or not links[0].startswith(base + "/s/"):
            return f"the invitation's link does not start with the stage URL {base}/s/"
        state["link"] = urlsplit(links[0]).path.removeprefix(urlsplit(base).path)
        unsubscribe = str(message.get("List-Unsubscribe", ""))
        if base + "/u/" not in unsubscribe:
            return "the invitation's List-Unsubscribe does not point into the stage URL"
        return None

    def answer() -> str | None:
        page = functions.http("GET", state["link"])
        if page.status != 200:
            return f"GET the emailed link answered {page.status}"
        form = _Form()
        form.feed(page.body)
        browser_url = "https://rehearsal.execute-api.amazonaws.com/api" + state["link"]
        action = urljoin(browser_url, form.action or "")
        if not urlsplit(action).path.startswith("/api/s/"):
            return f"the survey form posts to {urlsplit(action).path}, outside the /api stage"
        body = urlencode(form.fields)
        path = urlsplit(action).path.removeprefix("/api") + (
            f"?{urlsplit(action).query}" if urlsplit(action).query else ""
        )
        reply = functions.http("POST", path, {"Content-Type": "application/x-www-form-urlencoded"}, body)
        if reply.status != 303:
            return f"POST the survey answered {reply.status} {reply.body[:200]!r}"
        location = {k.lower(): v for k, v in reply.headers.items()}.get("location", "")
        if not urlsplit(urljoin(action, location)).path.startswith("/api/s/"):
            return f"after answering, the redirect goes to {location}, outside the /api stage"
        return None

    def summary() -> str | None:
        path = f"/admin/events/{state['event']}/summary?wave={state['wave']}&by=stakeholder_group"
        reply = functions.http("GET", path, state["auth"])
        problem = expect(reply, 200, f"GET {path.split('?')[0]}")
        if problem is None and reply.json()["funnel"]["completed"] != 1:
            problem = f"the funnel says {reply.json()['funnel']}, expected one completed answer"
        return problem

    for what, run in (
        ("an admin signs in to the stage's pool; the admin API accepts the token", sign_in),
        ("the admin creates an event", create_event),
        ("the admin imports a participant", import_participant),
        ("the admin creates a satisfaction wave", create_wave),
        ("send now: schedule, send queue and sender deliver one invitation to SES, links in the stage", send_now),
        ("the participant opens the link behind /api, answers and is redirected inside the stage", answer),
        ("the summary counts the answer", summary),
    ):
        if not step(what, run):
            break
    return steps


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }
