"""IAM for the tests: the Lambda policy files, an IAM-like matcher, a recorder of the AWS calls the app makes
(with the IAM action and resource ARN each one needs), and one driver that runs every entry point of the app.

The recorder patches ``botocore.client.BaseClient._make_api_call``, the one method every botocore client goes
through: our boto3 clients (``chalicelib/clients.py``) and the clients PynamoDB makes from its own botocore
session alike. It records only inside ``Recorder.recording()``, which the driver opens around each request to the
app and each handler invocation, so the tests' own set-up and harness calls (reading the queue as the Lambda
event source would, looking up a token to fake SES's tags) are never mistaken for the app's.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parseaddr
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
CHALICE_DIR = ROOT / ".chalice"
ARTIFACTS = ROOT / "test-artifacts"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"

# Granted to the function's role but called by the Lambda service, never by our code, so no recording can see
# them. Keep this list short and say who calls each one.
LAMBDA_SERVICE_ACTIONS = {
    # The SQS event source mapping of the `sender` function polls the send queue with the function's role.
    "sqs:ReceiveMessage": "Lambda SQS event source polling",
    "sqs:DeleteMessage": "Lambda SQS event source polling",
    "sqs:GetQueueAttributes": "Lambda SQS event source polling",
    "sqs:ChangeMessageVisibility": "Lambda SQS event source polling",
    # The Lambda runtime writes each function's stdout (Powertools' JSON logs and EMF metrics) to CloudWatch Logs.
    "logs:CreateLogGroup": "Lambda runtime logging",
    "logs:CreateLogStream": "Lambda runtime logging",
    "logs:PutLogEvents": "Lambda runtime logging",
    # Active tracing ("xray": true, Powertools Tracer): Lambda's X-Ray daemon sends the segments.
    "xray:PutTraceSegments": "Lambda active tracing (X-Ray daemon)",
    "xray:PutTelemetryRecords": "Lambda active tracing (X-Ray daemon)",
}
# Actions for which IAM has no resource-level permissions: AWS requires "Resource": "*" for them (Service
# Authorization Reference, AWS X-Ray: PutTraceSegments and PutTelemetryRecords list no resource type). They are
# the only actions a policy here may grant on "*".
NO_RESOURCE_LEVEL_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
# Operations AWS serves without SigV4 or IAM (authorised by the user's password or token): the dashboard's
# sign-in, and sign-out should it ever revoke tokens.
PUBLIC_OPERATIONS = frozenset(
    ("cognito-idp", op) for op in ("InitiateAuth", "RespondToAuthChallenge", "RevokeToken", "GlobalSignOut")
)
# Error codes that mean "IAM refused": any of these on an app call is a policy bug, even where the app swallows
# the error (DynamoAttemptLog.clear ignores a failed DeleteItem, for instance).
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
    }
)


# --- the policy files --------------------------------------------------------------------------------------


def listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def stack_policy(outputs: dict[str, str], *, region: str = REGION, stage: str = "dev") -> dict[str, Any]:
    """The Lambda policy ``make deploy`` generates for the stack that answered ``outputs`` (deploy/policy.py),
    with the sender sending through both its address and its domain identity, as the provisioner verifies both."""
    from deploy.policy import lambda_policy
    from deploy.stage import app_name, function_names

    sender = outputs["SenderAddress"]
    return lambda_policy(
        outputs,
        account=ACCOUNT,
        region=region,
        function_names=function_names(app_name(), stage).values(),
        ses_identities=[sender, sender.rpartition("@")[2]],
    )


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return listify(policy["Statement"])


def _matches(statement: dict[str, Any], action: str, arn: str, context: dict[str, str]) -> bool:
    """IAM's matching: action names case-insensitively (with wildcards), resources as ``*``/``?`` patterns, and
    the statement's conditions against the request's context keys (a key the request lacks fails the condition)."""
    actions = listify(statement.get("Action", []))
    resources = listify(statement.get("Resource", []))
    return (
        any(fnmatchcase(action.lower(), a.lower()) for a in actions)
        and any(fnmatchcase(arn, pattern) for pattern in resources)
        and _conditions_hold(statement.get("Condition", {}), context)
    )


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            have = context.get(key)
            if have is None:
                return False
            if operator == "StringEquals" and have not in listify(wanted):
                return False
            if operator == "StringLike" and not any(fnmatchcase(have, w) for w in listify(wanted)):
                return False
            if operator not in ("StringEquals", "StringLike"):
                raise AssertionError(f"condition operator {operator} is not modelled here: add it")
    return True


def allowed(policy: dict[str, Any], action: str, arn: str, context: dict[str, str] | None = None) -> bool:
    """Whether the identity policy allows ``action`` on ``arn`` for a request with ``context`` keys
    (``ses:FromAddress``, ...); an explicit Deny wins."""
    found, context = statements(policy), context or {}
    if any(s["Effect"] == "Deny" and _matches(s, action, arn, context) for s in found):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, action, arn, context) for s in found)


def granted_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in statements(policy) if s["Effect"] == "Allow" for a in listify(s["Action"])}


# --- the recorder ------------------------------------------------------------------------------------------


@dataclass
class Call:
    service: str  # the IAM prefix: botocore's signing name (dynamodb, sqs, ses, cognito-idp)
    operation: str
    region: str
    params: dict[str, Any]
    reply: dict[str, Any] | None = None
    error: str | None = None  # the AWS error code, when the call failed


@dataclass
class Recorder:
    """Every botocore call made inside ``recording()``, with its parameters, reply or error code."""

    calls: list[Call] = field(default_factory=list)
    depth: int = 0
    observers: list[Callable[[Call], None]] = field(default_factory=list)

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def install(self, monkeypatch: Any) -> None:
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError

        original = BaseClient._make_api_call
        recorder = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if recorder.depth <= 0:
                return original(client, operation_name, api_params)
            model = client.meta.service_model
            call = Call(
                model.signing_name or model.endpoint_prefix, operation_name, client.meta.region_name, api_params
            )
            recorder.calls.append(call)
            try:
                call.reply = original(client, operation_name, api_params)
            except ClientError as exc:
                call.error = error_code(exc)
                raise
            finally:
                for observe in recorder.observers:
                    observe(call)
            return call.reply

        monkeypatch.setattr(BaseClient, "_make_api_call", _make_api_call)

    def operations(self) -> Counter[str]:
        return Counter(f"{c.service}:{c.operation}" for c in self.calls)

    def requirements(self) -> set[tuple[str, str]]:
        return {need for call in self.calls for need in requirements(call)}

    def checks(self) -> list[tuple[str, str, dict[str, str]]]:
        """Each (action, resource ARN, condition context) that IAM evaluates for the recorded calls."""
        return [(action, arn, context_of(call)) for call in self.calls for action, arn in requirements(call)]

    def denied(self) -> list[str]:
        return sorted({f"{c.service}:{c.operation} -> {c.error}" for c in self.calls if c.error in DENIED_CODES})


# --- calls -> (IAM action, resource ARN) -------------------------------------------------------------------

_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_SES_SENDING = {"SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"}


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _dynamodb(call: Call) -> list[tuple[str, str]]:
    p, op = call.params, call.operation

    def table(name: str, index: str | None = None) -> str:
        return _arn("dynamodb", call.region, f"table/{name}" + (f"/index/{index}" if index else ""))

    if op == "TransactWriteItems":  # authorised per item, as the item's own action ("TransactWriteItems" is not IAM)
        out = []
        for item in p["TransactItems"]:
            ((kind, body),) = item.items()
            out.append((f"dynamodb:{_TRANSACT_WRITE[kind]}", table(body["TableName"])))
        return out
    if op == "TransactGetItems":
        return [("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in p["TransactItems"]]
    if op in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{op}", table(name)) for name in p["RequestItems"]]
    if op in ("Query", "Scan"):  # on an index, the index's own ARN
        return [(f"dynamodb:{op}", table(p["TableName"], p.get("IndexName")))]
    if "TableName" in p:
        return [(f"dynamodb:{op}", table(p["TableName"]))]
    raise AssertionError(f"no IAM mapping for dynamodb:{op}: add one to tests/iam_support.py")


def _sqs(call: Call) -> list[tuple[str, str]]:
    parts = urlsplit(call.params["QueueUrl"]).path.strip("/").split("/")
    account, name = parts[-2], parts[-1]
    arn = f"arn:aws:sqs:{call.region}:{account}:{name}"
    return [(f"sqs:{_SQS_BATCH.get(call.operation, call.operation)}", arn)]


def _ses(call: Call) -> list[tuple[str, str]]:
    if call.operation not in _SES_SENDING:
        raise AssertionError(f"no IAM mapping for ses:{call.operation}: add one to tests/iam_support.py")
    p = call.params
    out = []
    # SES authorises sending against the sender's identity: the address when it is verified, else its domain.
    # Require both, so that the policy holds whichever of the two SES picks.
    source = parseaddr(str(p.get("Source", "")))[1]
    if source:
        out += [("identity", source), ("identity", source.rpartition("@")[2])]
    for key in ("SourceArn", "FromArn"):
        if p.get(key):
            out.append(("arn", p[key]))
    if p.get("ConfigurationSetName"):
        out.append(("configuration-set", p["ConfigurationSetName"]))
    action = f"ses:{call.operation}"
    return [(action, v if kind == "arn" else _arn("ses", call.region, f"{kind}/{v}")) for kind, v in out]


def error_code(exc: Any) -> str:
    """The AWS error code of a ClientError. moto answers IAM refusals to JSON-protocol services (DynamoDB) in
    XML, which botocore cannot parse: the code is then "403" and the real one sits in the message."""
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    found = re.search(r"<Code>([A-Za-z.]+)</Code>", message)
    return found.group(1) if found and (code.isdigit() or not code) else (code or "ClientError")


def _secretsmanager(call: Call) -> list[tuple[str, str]]:
    if call.operation != "GetSecretValue":
        raise AssertionError(f"no IAM mapping for secretsmanager:{call.operation}: add one to tests/iam_support.py")
    secret = str(call.params["SecretId"])
    arn = secret if secret.startswith("arn:") else _arn("secretsmanager", call.region, f"secret:{secret}-??????")
    return [("secretsmanager:GetSecretValue", arn)]


def context_of(call: Call) -> dict[str, str]:
    """The condition keys IAM knows for a call, of those our policies use: SES's ``ses:FromAddress``."""
    if call.service == "ses":
        source = parseaddr(str(call.params.get("Source", "")))[1]
        return {"ses:FromAddress": source} if source else {}
    return {}


def requirements(call: Call) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs that IAM checks for one call."""
    if (call.service, call.operation) in PUBLIC_OPERATIONS:
        return []
    mapper = {"dynamodb": _dynamodb, "sqs": _sqs, "ses": _ses, "secretsmanager": _secretsmanager}.get(call.service)
    if mapper is None:
        raise AssertionError(f"no IAM mapping for {call.service}:{call.operation}: add one to tests/iam_support.py")
    return mapper(call)


# --- the driver: every entry point of the app --------------------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CSV_HEADER = "email,full_name,organisation,stakeholder_group,country,language,timezone,sponsored\n"
CSV_ROWS = (
    "amina.diallo@example.org,Amina Diallo,Ministry of Labour,government,SN,fr,,yes\n"
    "li.wei@example.org,Li Wei,Tsinghua University,academia,CN,en,Asia/Shanghai,no\n"
    "maria.lopez@example.org,María López,Red de Migrantes,civil_society,MX,es,,yes\n"
    "john.smith@example.org,John Smith,The Daily Planet,media,GB,en,,no\n"
    "bounce@simulator.amazonses.com,Bounce Sim,Simulator,government,FR,en,,no\n"
    "complaint@simulator.amazonses.com,Complaint Sim,Simulator,academia,DE,en,,no\n"
)
# The dashboard's event: other people, so that nobody the JSON run suppressed (bounce, complaint, opt-out) is in it.
DASHBOARD_ROWS = (
    "nadia.haddad@example.org,Nadia Haddad,Ministry of Interior,government,MA,fr,,no\n",
    "tomas.silva@example.org,Tomás Silva,Universidade do Porto,academia,PT,es,,yes\n",
)
CSV = CSV_HEADER + CSV_ROWS + "not-an-email,Bad Row,Nowhere,government,FR,en,,no\n"
EVENT = {
    "title": "International Dialogue on Migration 2026",
    "starts_on": "2026-11-02",
    "ends_on": "2026-11-03",
    "timezone": "Europe/Zurich",
    "venue": "Geneva",
    "theme": "Migrants and development",
}
WAVE = {
    "questionnaire": "satisfaction",
    "opens": {"after_event_days": 1, "local_time": "09:00"},
    "reminders_after_days": [7],
    "closes": {"after_open_days": 30},
}
FOLLOW_UP = {
    "questionnaire": "impact",
    "opens": {"after_event_days": 90, "local_time": "09:00"},
    "closes": {"after_open_days": 30},
}
CUSTOM_QUESTIONNAIRE = {
    "id": "iam_pulse",
    "version": 1,
    "languages": ["en", "fr", "es"],
    "title": {"en": "Pulse", "fr": "Sondage", "es": "Sondeo"},
    "questions": [
        {
            "id": "useful",
            "type": "yes_no",
            "required": True,
            "indicator": "useful",
            "text": {"en": "Was it useful?", "fr": "Était-ce utile ?", "es": "¿Fue útil?"},
        }
    ],
}
SATISFACTION = b"overall=5&mutual_learning=5&understanding=4&cooperation_measures=2&comments=fine"
SATISFACTION_EDIT = b"overall=4&mutual_learning=4&understanding=4&cooperation_measures=3&comments=edited"
_LINK = re.compile(r"/s/([A-Za-z0-9_-]{43})")
_UNSUBSCRIBE = re.compile(r"/u/([A-Za-z0-9_-]{43})")


@dataclass
class Email:
    message_id: str
    raw: str
    to: str

    def parsed(self) -> Any:
        return email.message_from_string(self.raw, policy=email.policy.default)

    def survey_token(self) -> str:
        found = _LINK.search(self.parsed().get_body(preferencelist=("plain",)).get_content())
        assert found, "no survey link in the email"
        return found.group(1)

    def unsubscribe_token(self) -> str:
        found = _UNSUBSCRIBE.search(str(self.parsed()["List-Unsubscribe"]))
        assert found, "no unsubscribe link in the email"
        return found.group(1)


def _status(response: Any, expected: int, what: str) -> Any:
    # Only the admin API's JSON errors are shown: pages and exports may carry personal data.
    shown = response.body[:300] if what.split(" ")[-1].startswith("/admin/") else b""
    assert response.status_code == expected, f"{what}: HTTP {response.status_code}, expected {expected} {shown!r}"
    return response


def _json(response: Any) -> Any:
    return json.loads(response.body)


def _text(response: Any) -> str:
    import html

    raw = response.body.decode() if isinstance(response.body, bytes) else str(response.body)
    return html.unescape(raw)


def _csrf(response: Any, action: str) -> str:
    found = re.search(
        r'action="' + re.escape(action) + r'"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"', _text(response)
    )
    assert found, f"no form for {action}"
    return found.group(1)


class Driver:
    """Runs every route, and every job handler, of the app through the Chalice test client, inside the
    recorder. Harness work (reading the queue as the event source mapping does, making SES's event records)
    happens outside it. Also notes which routes and handlers ran, so a test can check that none was missed."""

    def __init__(
        self,
        client: Any,
        recorder: Recorder,
        *,
        admin: str,
        viewer: str,
        user: tuple[str, str],
        newcomer: tuple[str, str] | None = None,
    ) -> None:
        from chalice.local import RouteMatcher

        self.client = client
        self.recorder = recorder
        self.admin, self.viewer, self.user, self.newcomer = admin, viewer, user, newcomer
        self.app = client.http._local_gateway._app_object
        self.matcher = RouteMatcher(list(self.app.routes))
        self.routes: set[tuple[str, str]] = set()
        self.handlers: set[str] = set()
        self.emails: list[Email] = []
        self.jar: dict[str, str] = {}
        recorder.observers.append(self._observe)

    # Capture what SES accepted (the link tokens are only in the emails): SendRawEmail's message and its ID.
    def _observe(self, call: Call) -> None:
        if call.service == "ses" and call.operation == "SendRawEmail" and call.reply:
            raw = call.params["RawMessage"]["Data"]
            raw = raw.decode() if isinstance(raw, bytes) else raw
            self.emails.append(Email(call.reply["MessageId"], raw, str(call.params["Destinations"][0])))

    def _status(self, response: Any, expected: int | tuple[int, ...], what: str) -> Any:
        wanted = expected if isinstance(expected, tuple) else (expected,)
        denied = self.recorder.denied()
        assert response.status_code in wanted or not denied, f"{what}: IAM refused {denied}"
        return _status(response, response.status_code if response.status_code in wanted else wanted[0], what)

    def follow(self, response: Any) -> Any:
        """A dashboard page that answers a form with a redirect (post, redirect, get): the page it leads to."""
        if response.status_code != 303:
            return response
        return self.page(response.headers["Location"])

    # --- requests -----------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> Any:
        self.routes.add((method, self.matcher.match_route(path.split("?")[0]).route))
        headers = dict(headers or {})
        if self.jar and path.startswith("/dashboard"):
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        with self.recorder.recording():
            response = self.client.http.request(method, path, headers=headers, body=body)
        raw = next((v for k, v in response.headers.items() if k.lower() == "set-cookie"), [])
        for line in raw if isinstance(raw, list) else [raw]:
            name, _, rest = line.partition("=")
            if "Max-Age=0" in line:
                self.jar.pop(name, None)
            elif name:
                self.jar[name] = rest.split(";", 1)[0]
        return response

    def api(self, method: str, path: str, token: str, payload: Any = None, expected: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = b"" if payload is None else json.dumps(payload).encode()
        return self._status(self.request(method, path, headers=headers, body=body), expected, f"{method} {path}")

    def form(self, path: str, fields: dict[str, Any], expected: int | tuple[int, ...]) -> Any:
        body = urlencode(fields, doseq=True).encode()
        return self._status(self.request("POST", path, headers=FORM, body=body), expected, f"POST {path}")

    def page(self, path: str, expected: int = 200) -> Any:
        return self._status(self.request("GET", path), expected, f"GET {path}")

    def invoke(self, name: str, payload: dict[str, Any]) -> Any:
        self.handlers.add(name)
        with self.recorder.recording():
            return self.client.lambda_.invoke(name, payload).payload

    # --- harness (not recorded) ---------------------------------------------------------------------------

    def queue_bodies(self) -> list[str]:
        """Drain the send queue as the sender's event source mapping does (ReceiveMessage, DeleteMessage)."""
        import boto3

        from chalicelib import container

        s = container.settings()
        # A fresh session: boto3's default one keeps the credentials it first found.
        sqs = boto3.session.Session().client("sqs", region_name=s.region, endpoint_url=s.endpoint_url)
        bodies = []
        while True:
            messages = sqs.receive_message(QueueUrl=s.send_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return bodies
            for m in messages:
                bodies.append(m["Body"])
                sqs.delete_message(QueueUrl=s.send_queue_url, ReceiptHandle=m["ReceiptHandle"])

    def deliver_queue(self, expected: dict[str, int]) -> None:
        bodies = self.queue_bodies()
        payload = self.client.events.generate_sqs_event(bodies, queue_name="event-feedback-send")
        outcomes = self.invoke("sender", payload)
        assert outcomes == expected, outcomes

    def feed_back(self, emails: list[Email]) -> list[str]:
        """What SES publishes for each accepted email, through the SNS-triggered handler."""
        from chalicelib import container
        from devstack import ses_events

        done: list[str] = []
        for message in emails:
            records = ses_events.notifications(
                message.message_id, message.raw, ses_events.token_tags(container.store())
            )
            for text in ses_events.sns_messages(records):
                done += self.invoke("ses_feedback", self.client.events.generate_sns_event(text))
        return done

    # --- the whole app ------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        admin, viewer = self.admin, self.viewer
        self._status(self.request("GET", "/health"), 200, "GET /health")

        # Questionnaires, events, the participant import.
        self.api("POST", "/admin/questionnaires", admin, CUSTOM_QUESTIONNAIRE, 201)
        self.api("GET", "/admin/questionnaires", viewer)
        event_id = _json(self.api("POST", "/admin/events", admin, EVENT, 201))["event_id"]
        self.api("GET", "/admin/events", viewer)
        self.api("GET", f"/admin/events/{event_id}", viewer)
        headers = {"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"}
        imported = _json(
            self._status(
                self.request("POST", f"/admin/events/{event_id}/participants", headers=headers, body=CSV.encode()),
                200,
                "POST participants",
            )
        )
        assert imported["imported"] == 6 and len(imported["rejected"]) == 1, (
            imported["imported"],
            imported["rejected"],
        )
        people = _json(self.api("GET", f"/admin/events/{event_id}/participants", admin))["participants"]

        # A wave, sent now: the send route queues, the sender Lambda claims and sends, the schedule finds nothing.
        wave_id = _json(self.api("POST", f"/admin/events/{event_id}/waves", admin, WAVE, 201))["wave_id"]
        self.api("GET", f"/admin/events/{event_id}/waves", viewer)
        if "PUT" in self.app.routes["/admin/events/{event_id}"]:  # moving the dates moves the planned invitations
            self.api("PUT", f"/admin/events/{event_id}", admin, {**EVENT, "ends_on": "2026-11-04"})
        sent = _json(self.api("POST", f"/admin/events/{event_id}/waves/{wave_id}/send", admin, None, 202))
        assert sent["queued"] == 6, sent
        self.deliver_queue({"sent": 6})
        schedule_event = self.client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        assert self.invoke("schedule", schedule_event)["queued"] == 0
        invitations = list(self.emails)
        assert len(invitations) == 6

        # SES's delivery, bounce and complaint events, through the SNS-triggered handler.
        done = self.feed_back(invitations)
        assert {"delivered", "bounced", "suppressed"} <= set(done), sorted(set(done))

        # A participant opens, answers, sees the thanks page and edits; another opts out.
        real = [m for m in invitations if not m.to.endswith("simulator.amazonses.com")]
        token = real[0].survey_token()
        self.page(f"/s/{token}?lang=en")
        self._status(self.request("POST", f"/s/{token}", headers=FORM, body=SATISFACTION), 303, "POST /s/{token}")
        self.page(f"/s/{token}/thanks")
        self._status(self.request("POST", f"/s/{token}", headers=FORM, body=SATISFACTION_EDIT), 303, "edit")
        leaving = real[1].unsubscribe_token()
        self.page(f"/u/{leaving}")
        self._status(self.request("POST", f"/u/{leaving}", headers=FORM, body=b""), 200, "POST /u/{token}")

        # A reminder now, to those who neither answered, opted out, complained nor bounced.
        reminded = _json(self.api("POST", f"/admin/events/{event_id}/waves/{wave_id}/remind", admin, None, 202))
        assert reminded["queued"] == 2, reminded
        self.deliver_queue({"sent": 2})

        # A follow-up wave, so that the panel compares two waves.
        follow_up = _json(self.api("POST", f"/admin/events/{event_id}/waves", admin, FOLLOW_UP, 201))["wave_id"]
        self.api("POST", f"/admin/events/{event_id}/waves/{follow_up}/send", admin, None, 202)
        self.deliver_queue({"sent": 3, "suppressed": 3})

        # Reports, exports, the recount, the programme and the panel.
        self.api("GET", f"/admin/events/{event_id}/summary?wave={wave_id}&by=stakeholder_group", viewer)
        self.api("GET", f"/admin/events/{event_id}/report?wave={wave_id}&by=region&lang=fr", viewer)
        self.api("GET", f"/admin/events/{event_id}/export.csv?wave={wave_id}&kind=aggregates", viewer)
        self.api("GET", f"/admin/events/{event_id}/export.csv?wave={wave_id}&kind=responses", viewer)
        recount = _json(self.api("POST", f"/admin/events/{event_id}/waves/{wave_id}/recount", admin))
        assert not recount.get("mismatches"), recount
        self.api("GET", f"/admin/events/{event_id}/waves/{wave_id}/unconfirmed", admin)
        self.api("GET", "/admin/programme?year=2026&indicator=mutual_learning&compare=2025", viewer)
        self.api("GET", f"/admin/events/{event_id}/panel?from={wave_id}&to={follow_up}", viewer)

        # Erasure of one person.
        erased = next(p["participant_id"] for p in people if p["country"] == "GB")
        self.api("DELETE", f"/admin/participants/{erased}", admin)

        dashboard = self.dashboard()
        return {"event_id": event_id, "wave_id": wave_id, "follow_up": follow_up, **dashboard}

    def dashboard(self) -> dict[str, Any]:
        email_address, password = self.user
        sign_in = self.page("/dashboard")
        # A wrong password first (the failed-attempt log), then the right one (which clears it).
        refused = {"csrf": _csrf(sign_in, "/dashboard/sign-in"), "email": email_address, "password": password + "x"}
        self.form("/dashboard/sign-in", {**refused, "next": ""}, 401)
        sign_in = self.page("/dashboard")
        fields = {"csrf": _csrf(sign_in, "/dashboard/sign-in"), "email": email_address, "password": password}
        self.form("/dashboard/sign-in", {**fields, "next": ""}, 303)
        assert "ef_session" in self.jar, "no session cookie"

        self.page("/dashboard")
        form = self.page("/dashboard/events/new")
        created = self.form(
            "/dashboard/events",
            {**EVENT, "csrf": _csrf(form, "/dashboard/events"), "languages": ["en", "fr"]},
            303,
        )
        event_id = re.search(r"/dashboard/events/(ev_[0-9a-f]+)", created.headers["Location"]).group(1)
        rows = DASHBOARD_ROWS
        self.upload(event_id, rows[0], 200)  # a short list is written in the request
        people = 1
        if "/dashboard/events/{event_id}/imports/{import_id}" in self.app.routes:
            # A long list is written in the background, in chunks through the send queue.
            before = os.environ.get("EF_IMPORT_INLINE_ROWS")
            os.environ["EF_IMPORT_INLINE_ROWS"] = "0"
            try:
                started = self.upload(event_id, rows[1], 303)
            finally:
                if before is None:
                    del os.environ["EF_IMPORT_INLINE_ROWS"]
                else:
                    os.environ["EF_IMPORT_INLINE_ROWS"] = before
            self.deliver_queue({"import-chunk": 1})
            self.page(started.headers["Location"])
            import_id = started.headers["Location"].rsplit("/", 1)[1]
            self.api("GET", f"/admin/events/{event_id}/imports/{import_id}", self.admin)
            people += 1
        if "/dashboard/events/{event_id}/edit" in self.app.routes:
            edit = self.page(f"/dashboard/events/{event_id}/edit")
            fields = {**EVENT, "title": "Dialogue, renamed", "languages": ["en", "fr"]}
            token = _csrf(edit, f"/dashboard/events/{event_id}/edit")
            self.form(f"/dashboard/events/{event_id}/edit", {**fields, "csrf": token}, 303)
        event_page = self.page(f"/dashboard/events/{event_id}")
        from tests.integration.test_dashboard import WAVE_FORM

        wave_form = {"csrf": _csrf(event_page, f"/dashboard/events/{event_id}/waves"), **WAVE_FORM}
        created = self.form(f"/dashboard/events/{event_id}/waves", wave_form, 303)
        wave_id = re.search(r"#wave-(wv_[0-9a-f]+)$", created.headers["Location"]).group(1)
        base = f"/dashboard/events/{event_id}/waves/{wave_id}"
        self.page(f"{base}/preview?lang=fr")
        self.page(f"{base}/preview/email?lang=fr&kind=reminder-1")
        self.page(f"{base}/preview/form?lang=fr")
        event_page = self.page(f"/dashboard/events/{event_id}")
        self.follow(self.form(f"{base}/send", {"csrf": _csrf(event_page, f"{base}/send")}, (200, 303)))
        self.deliver_queue({"sent": people})
        event_page = self.page(f"/dashboard/events/{event_id}")
        self.follow(self.form(f"{base}/remind", {"csrf": _csrf(event_page, f"{base}/remind")}, (200, 303)))
        self.deliver_queue({"sent": people})
        self.page(f"/dashboard/events/{event_id}/report?wave={wave_id}&by=stakeholder_group")
        self.page(f"/dashboard/events/{event_id}/export.csv?wave={wave_id}&kind=aggregates")
        self.page("/dashboard/programme?year=2026&indicator=mutual_learning")
        self.page("/dashboard/static/copy.js")
        events = self.page("/dashboard")
        self.form("/dashboard/sign-out", {"csrf": _csrf(events, "/dashboard/sign-out")}, 303)
        self.page("/dashboard")  # signed out: the sign-in page again
        if self.newcomer is not None and "/dashboard/sign-in/challenge" in self.app.routes:
            self.first_sign_in(*self.newcomer)
        return {"dashboard_event_id": event_id, "dashboard_wave_id": wave_id}

    def first_sign_in(self, email_address: str, temporary: str) -> None:
        """A user's first sign-in: Cognito asks for a new password (RespondToAuthChallenge)."""
        sign_in = self.page("/dashboard")
        fields = {"csrf": _csrf(sign_in, "/dashboard/sign-in"), "email": email_address, "password": temporary}
        challenge = self.form("/dashboard/sign-in", {**fields, "next": ""}, 200)
        state = re.search(r'name="state" value="([^"]+)"', _text(challenge))
        assert state, "no challenge form"
        chosen = new_password()
        answer = {"csrf": _csrf(challenge, "/dashboard/sign-in/challenge"), "state": state.group(1)}
        self.form("/dashboard/sign-in/challenge", {**answer, "new_password": chosen, "confirm_password": chosen}, 303)
        self.page("/dashboard")

    def upload(self, event_id: str, rows: str, expected: int) -> Any:
        """The dashboard's CSV upload (multipart, with the event page's CSRF token)."""
        token = _csrf(self.page(f"/dashboard/events/{event_id}"), f"/dashboard/events/{event_id}/participants")
        boundary = "----iam-boundary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="csv"; filename="list.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n{CSV_HEADER}{rows}\r\n--{boundary}--\r\n"
        ).encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        path = f"/dashboard/events/{event_id}/participants"
        return self._status(self.request("POST", path, headers=headers, body=body), expected, "upload")

    def missed(self) -> list[str]:
        """Routes and handlers of the app that this run never reached."""
        app = self.app
        every = {(m, path) for path, methods in app.routes.items() for m in methods}
        handlers = {source.name for source in app.event_sources}
        return sorted(f"{m} {p}" for m, p in every - self.routes) + sorted(handlers - self.handlers)


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
    return email_address, temporary


def write_artifact(name: str, payload: dict[str, Any]) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
