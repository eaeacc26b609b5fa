"""The smoke check after a deploy: the deployed functions answer, with their own configuration and permissions.

Probes are the same for a real deploy and the rehearsal; only the transport differs. In an account, HTTP goes
through API Gateway to the stage URL and handlers are called with ``lambda:Invoke``. In the embedded AWS, moto
cannot run a function (that needs a container runtime), so ``deploy.artifacts`` runs the very zips Lambda holds
(checked by their SHA-256), unpacked as Lambda unpacks them, with each function's deployed environment, and
passes API Gateway-shaped events the way API Gateway would (the authorizer's answer included).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from deploy.aws import Account


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class Transport(Protocol):
    def http(self, method: str, path: str, headers: dict[str, str] | None = None, body: str = "") -> Reply:
        """A request to the API as a browser or a tool sends it (path relative to the stage URL)."""
        ...

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke a function of the stage: ``{"ok": True, "result": ...}`` or ``{"ok": False, "error": ...}``."""
        ...


class HttpTransport:
    """Through API Gateway and the Lambda API of the account."""

    def __init__(self, base_url: str, account: Account, function_names: dict[str, str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.function_names = function_names

    def http(self, method: str, path: str, headers: dict[str, str] | None = None, body: str = "") -> Reply:
        request = urllib.request.Request(  # noqa: S310 - the stage's own https URL
            self.base_url + path, data=body.encode() if body else None, method=method, headers=headers or {}
        )
        opener = urllib.request.build_opener(_NoRedirect)
        for attempt in range(6):  # a fresh stage can answer 403/5xx for a few seconds while it propagates
            try:
                with opener.open(request, timeout=30) as answer:
                    return Reply(answer.status, dict(answer.headers), answer.read().decode("utf-8", "replace"))
            except urllib.error.HTTPError as error:
                reply = Reply(error.code, dict(error.headers), error.read().decode("utf-8", "replace"))
                if error.code not in (403, 502, 503, 504) or attempt == 5 or path == "/admin/events":
                    return reply
            time.sleep(5)
        raise AssertionError("unreachable")

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        answer = self.account.client("lambda").invoke(
            FunctionName=self.function_names[function], Payload=json.dumps(event).encode()
        )
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            return {"ok": False, "error": payload}
        return {"ok": True, "result": payload}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Probe:
    what: str
    run: Callable[[Transport], str | None]  # None when it holds, else what went wrong
    over: str = "http"  # or "invoke": calls a function directly (Lambda's Invoke)


def _health(t: Transport) -> str | None:
    reply = t.http("GET", "/health")
    if reply.status != 200 or reply.json() != {"status": "ok"}:
        return f"GET /health answered {reply.status} {reply.body[:200]!r} (the function's logs say why)"
    return None


def _unknown_link(t: Transport) -> str | None:
    reply = t.http("GET", "/s/not-a-real-link-" + uuid.uuid4().hex)
    if reply.status != 404 or "text/html" not in reply.headers.get(
        "Content-Type", reply.headers.get("content-type", "")
    ):
        return f"GET /s/<unknown> answered {reply.status}, expected the 404 page"
    if "<html" not in reply.body.lower():
        return "the 404 page has no HTML: are the templates in the layer?"
    return None


def _admin_refuses(t: Transport) -> str | None:
    reply = t.http("GET", "/admin/events", headers={"Authorization": "Bearer not-a-valid-token"})
    try:
        code = reply.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        code = None
    if reply.status != 401 or code is None:
        return f"GET /admin/events with a bad token answered {reply.status} {reply.body[:200]!r}, expected 401 JSON"
    return None


def _sign_in_page(t: Transport) -> str | None:
    reply = t.http("GET", "/dashboard")
    if reply.status != 200 or "<form" not in reply.body:
        return f"GET /dashboard answered {reply.status}, expected the sign-in form"
    return None


def _schedule_runs(t: Transport) -> str | None:
    answer = t.invoke("schedule", {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
                                   "id": str(uuid.uuid4()), "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                                   "resources": [], "detail": {}, "account": "000000000000"})  # fmt: skip
    if not answer["ok"] or "queued" not in (answer.get("result") or {}):
        return f"the schedule function failed: {answer.get('error')}"
    return None


def _feedback_accepts(t: Transport) -> str | None:
    notification = {"eventType": "Delivery", "mail": {"messageId": "smoke-" + uuid.uuid4().hex, "tags": {}},
                    "delivery": {"recipients": []}}  # fmt: skip
    event = {"Records": [{"messageId": str(uuid.uuid4()), "receiptHandle": "smoke", "body": json.dumps(notification),
                          "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:smoke",
                          "awsRegion": "us-east-1"}]}  # fmt: skip
    answer = t.invoke("ses_feedback", event)
    if not answer["ok"]:
        return f"the ses_feedback function failed on an unknown message: {answer.get('error')}"
    return None


PROBES = [
    Probe("GET /health answers ok (settings and secrets load)", _health),
    Probe("an unknown survey link gets the 404 page (tokens table, templates)", _unknown_link),
    Probe("the admin API refuses a bad token with 401 JSON (authorizer wired)", _admin_refuses),
    Probe("the dashboard's sign-in page renders", _sign_in_page),
    Probe("the schedule function runs (due index)", _schedule_runs, over="invoke"),
    Probe("the SES feedback function takes a notification", _feedback_accepts, over="invoke"),
]


def smoke(transport: Transport, probes: list[Probe] | None = None) -> list[tuple[str, str | None]]:
    """Run every probe; answers (what, None or the problem) in order."""
    results = []
    for probe in probes or PROBES:
        try:
            problem = probe.run(transport)
        except Exception as exc:  # noqa: BLE001 - a probe that crashes is a failed probe, reported with the rest
            problem = f"{type(exc).__name__}: {exc}"
        results.append((probe.what, problem))
    return results
