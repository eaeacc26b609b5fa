"""One driver that runs every entry point of the app (each route, each job handler) inside the recorder, and the
data it runs them with: two events, an import with a bounce and a complaint, a custom questionnaire, answers and
an edit, the dashboard's forms, exports, erasure.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.support.cognito import new_password
from tests.support.data import EVENT, FORM, HEADER, PEOPLE, REFUSED_ROWS, WAVE, WAVE_FORM, csv_of
from tests.support.iam_recorder import Call, Recorder
from tests.support.mail import token_of
from tests.support.stack import drain
from tests.support.visitor import csrf_for, page_text

# --- the driver: every entry point of the app --------------------------------------------------------------

# The standard people, and SES's simulator addresses for a bounce and a complaint.
CSV_ROWS = "".join(PEOPLE) + (
    "bounce@simulator.amazonses.com,Bounce Sim,Simulator,government,FR,en,,no\n"
    "complaint@simulator.amazonses.com,Complaint Sim,Simulator,academia,DE,en,,no\n"
)
# The dashboard's event: other people, so that nobody the JSON run suppressed (bounce, complaint, opt-out) is in it.
DASHBOARD_ROWS = (
    "nadia.haddad@example.org,Nadia Haddad,Ministry of Interior,government,MA,fr,,no\n",
    "tomas.silva@example.org,Tomás Silva,Universidade do Porto,academia,PT,es,,yes\n",
)
CSV = csv_of([CSV_ROWS, REFUSED_ROWS[0]])
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
_UNSUBSCRIBE = re.compile(r"/u/([A-Za-z0-9_-]{43})")


@dataclass
class Email:
    message_id: str
    raw: str
    to: str

    def parsed(self) -> Any:
        return email.message_from_string(self.raw, policy=email.policy.default)

    def survey_token(self) -> str:
        return token_of(self.parsed())

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

    def api(
        self, method: str, path: str, token: str, payload: Any = None, expected: int | tuple[int, ...] = 200
    ) -> Any:
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
        return drain(sqs, s.send_queue_url)

    def deliver_queue(self, expected: dict[str, int]) -> None:
        bodies = self.queue_bodies()
        payload = self.client.events.generate_sqs_event(bodies, queue_name="event-feedback-send")
        outcomes = self.invoke("sender", payload)
        assert outcomes == expected, outcomes

    def deliver_queue_any(self) -> None:
        """Hand whatever the queue holds to the sender Lambda, whatever each job's outcome."""
        bodies = self.queue_bodies()
        if bodies:
            self.invoke("sender", self.client.events.generate_sqs_event(bodies, queue_name="event-feedback-send"))

    def feed_back(self, emails: list[Email]) -> list[str]:
        """What SES publishes for each accepted email, as the feedback queue hands it to its handler."""
        from chalicelib import container
        from chalicelib.wiring import FEEDBACK_QUEUE
        from devstack import ses_events

        done: list[str] = []
        for message in emails:
            records = ses_events.notifications(
                message.message_id, message.raw, ses_events.token_tags(container.store())
            )
            for text in ses_events.sns_messages(records):
                event = self.client.events.generate_sqs_event([text], queue_name=FEEDBACK_QUEUE)
                done += self.invoke("ses_feedback", event)
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

        # A wave's name, and a read-only link: made, opened without signing in (with comments), listed, revoked.
        self.api("PATCH", f"/admin/events/{event_id}/waves/{wave_id}", admin, {"name": "First round"})
        shares = f"/admin/events/{event_id}/shares"
        made = _json(self.api("POST", shares, admin, {"wave": wave_id, "include_comments": True}, 201))
        link = "/r/" + made["url"].rsplit("/r/", 1)[1]
        self.page(link)
        self.api("GET", shares, admin)
        self.api("DELETE", f"{shares}/{made['share_id']}", admin)
        self.page(link, 404)

        # At the event: the personal QR cards (sheet and CSV), an answer through one; an open link for a slide.
        if "/admin/events/{event_id}/waves/{wave_id}/cards" in self.app.routes:
            from datetime import UTC, datetime, timedelta

            cards = f"/admin/events/{event_id}/waves/{wave_id}/cards"
            self.api("GET", cards, admin)
            listed = self.api("GET", f"{cards}?format=csv", admin)
            text = listed.body.decode("utf-8-sig") if isinstance(listed.body, bytes) else str(listed.body)
            card = "/s/" + text.splitlines()[1].split(",")[-1].strip('"').rsplit("/s/", 1)[1]
            self._status(self.request("POST", card, headers=FORM, body=SATISFACTION), (303, 410), "POST card")
            now = datetime.now(UTC)
            window = {
                "opens_at": (now - timedelta(minutes=1)).isoformat(),
                "closes_at": (now + timedelta(hours=1)).isoformat(),
            }
            made = _json(self.api("POST", f"/admin/events/{event_id}/waves/{wave_id}/open-link", admin, window, 201))
            slide = "/o/" + made["url"].rsplit("/o/", 1)[1]
            self.page(slide)
            self._status(self.request("POST", slide, headers=FORM, body=SATISFACTION), 200, "POST /o/{token}")
            self.page(f"{slide}/slide")
            self.page(f"{slide}/qr.svg")

        # A paper form keyed in for a participant, and an anonymous one.
        if "/admin/events/{event_id}/waves/{wave_id}/paper" in self.app.routes:
            paper = f"/admin/events/{event_id}/waves/{wave_id}/paper"
            answers = {"overall": "4", "mutual_learning": "5", "understanding": "4", "cooperation_measures": "3"}
            unanswered = next(p["participant_id"] for p in people if p["country"] == "CN")
            self.api("POST", paper, admin, {"participant_id": unanswered, "answers": answers}, (201, 409))
            self.api("POST", paper, admin, {"answers": answers, "language": "fr"}, 201)

        # A follow-up across events (here the one event), sent, reminded, summarised, reported and exported.
        if "/admin/series-waves" in self.app.routes:
            series = {**FOLLOW_UP, "event_ids": [event_id]}
            series_id = _json(self.api("POST", "/admin/series-waves", admin, series, 201))["wave_id"]
            self.api("GET", "/admin/series-waves", viewer)
            self.api("GET", f"/admin/series-waves/{series_id}", viewer)
            self.api("POST", f"/admin/series-waves/{series_id}/send", admin, None, 202)
            self.deliver_queue_any()
            self.api("POST", f"/admin/series-waves/{series_id}/remind", admin, None, 202)
            self.deliver_queue_any()
            self.api("GET", f"/admin/series-waves/{series_id}/summary?by=event", viewer)
            self.api("GET", f"/admin/series-waves/{series_id}/report?by=event&lang=es", viewer)
            self.api("GET", f"/admin/series-waves/{series_id}/export.csv?kind=responses", viewer)

        # Erasure of one person.
        erased = next(p["participant_id"] for p in people if p["country"] == "GB")
        self.api("DELETE", f"/admin/participants/{erased}", admin)

        dashboard = self.dashboard()
        return {"event_id": event_id, "wave_id": wave_id, "follow_up": follow_up, **dashboard}

    def dashboard(self) -> dict[str, Any]:
        email_address, password = self.user
        sign_in = self.page("/dashboard")
        # A wrong password first (the failed-attempt log), then the right one (which clears it).
        refused = {"csrf": csrf_for(sign_in, "/dashboard/sign-in"), "email": email_address, "password": password + "x"}
        self.form("/dashboard/sign-in", {**refused, "next": ""}, 401)
        sign_in = self.page("/dashboard")
        fields = {"csrf": csrf_for(sign_in, "/dashboard/sign-in"), "email": email_address, "password": password}
        self.form("/dashboard/sign-in", {**fields, "next": ""}, 303)
        assert "ef_session" in self.jar, "no session cookie"

        self.page("/dashboard")
        form = self.page("/dashboard/events/new")
        created = self.form(
            "/dashboard/events",
            {**EVENT, "csrf": csrf_for(form, "/dashboard/events"), "languages": ["en", "fr"]},
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
            token = csrf_for(edit, f"/dashboard/events/{event_id}/edit")
            self.form(f"/dashboard/events/{event_id}/edit", {**fields, "csrf": token}, 303)
        event_page = self.page(f"/dashboard/events/{event_id}")

        wave_form = {"csrf": csrf_for(event_page, f"/dashboard/events/{event_id}/waves"), **WAVE_FORM}
        created = self.form(f"/dashboard/events/{event_id}/waves", wave_form, 303)
        wave_id = re.search(r"#wave-(wv_[0-9a-f]+)$", created.headers["Location"]).group(1)
        base = f"/dashboard/events/{event_id}/waves/{wave_id}"
        self.page(f"{base}/preview?lang=fr")
        self.page(f"{base}/preview/email?lang=fr&kind=reminder-1")
        self.page(f"{base}/preview/form?lang=fr")
        event_page = self.page(f"/dashboard/events/{event_id}")
        self.follow(self.form(f"{base}/send", {"csrf": csrf_for(event_page, f"{base}/send")}, (200, 303)))
        self.deliver_queue({"sent": people})
        event_page = self.page(f"/dashboard/events/{event_id}")
        self.follow(self.form(f"{base}/remind", {"csrf": csrf_for(event_page, f"{base}/remind")}, (200, 303)))
        self.deliver_queue({"sent": people})
        rename = f"{base}/name"
        self.form(rename, {"csrf": csrf_for(event_page, rename), "name": "Dashboard round"}, 303)
        if "/dashboard/events/{event_id}/waves/{wave_id}/cards" in self.app.routes:
            self.page(f"{base}/cards")
            opened = f"{base}/open-link"
            self.form(opened, {"csrf": csrf_for(event_page, opened), "starts_in": "0", "minutes": "60"}, 200)
        if "/dashboard/events/{event_id}/waves/{wave_id}/paper" in self.app.routes:
            self.page(f"{base}/paper?lang=fr&personal=1")
            self.page(f"{base}/paper/entry?q=a")
            entry = self.page(f"{base}/paper/entry?anonymous=1")
            fields = {"csrf": csrf_for(entry, f"{base}/paper/entry"), "_lang": "en", "overall": "5"}
            self.form(f"{base}/paper/entry", fields, 303)
        if "/dashboard/series-waves" in self.app.routes:
            programme = self.page("/dashboard/programme?year=2026")
            fields = {
                "csrf": csrf_for(programme, "/dashboard/series-waves"),
                "select": "events",
                "event_ids": [event_id],
                "questionnaire": "impact",
                "opens_after_days": "0",
                "opens_local_time": "09:00",
                "reminders": "7",
                "closes_after_days": "30",
            }
            made = self.form("/dashboard/series-waves", fields, 303)
            series_page = self.follow(made)
            series_base = made.headers["Location"].split("?")[0]
            send = f"{series_base}/send"
            self.follow(self.form(send, {"csrf": csrf_for(series_page, send)}, 303))
            self.deliver_queue_any()
            series_page = self.page(series_base)
            remind = f"{series_base}/remind"
            self.follow(self.form(remind, {"csrf": csrf_for(series_page, remind)}, 303))
            self.deliver_queue_any()
            self.page(f"{series_base}/report")
        report = self.page(f"/dashboard/events/{event_id}/report?wave={wave_id}&by=stakeholder_group")
        share = f"/dashboard/events/{event_id}/shares"
        self.form(share, {"csrf": csrf_for(report, share), "wave": wave_id, "expires_in_days": "2"}, 201)
        report = self.page(f"/dashboard/events/{event_id}/report?wave={wave_id}")
        share_id = re.search(r"/shares/(sh_[0-9a-f]+)/revoke", page_text(report)).group(1)
        revoke = f"{share}/{share_id}/revoke"
        self.form(revoke, {"csrf": csrf_for(report, revoke), "wave": wave_id}, 303)
        self.page(f"/dashboard/events/{event_id}/export.csv?wave={wave_id}&kind=aggregates")
        self.page("/dashboard/programme?year=2026&indicator=mutual_learning")
        self.page("/dashboard/static/copy.js")
        events = self.page("/dashboard")
        self.form("/dashboard/sign-out", {"csrf": csrf_for(events, "/dashboard/sign-out")}, 303)
        self.page("/dashboard")  # signed out: the sign-in page again
        if self.newcomer is not None and "/dashboard/sign-in/challenge" in self.app.routes:
            self.first_sign_in(*self.newcomer)
        return {"dashboard_event_id": event_id, "dashboard_wave_id": wave_id}

    def first_sign_in(self, email_address: str, temporary: str) -> None:
        """A user's first sign-in: Cognito asks for a new password (RespondToAuthChallenge), then the pairing
        of an authenticator app (AssociateSoftwareToken, VerifySoftwareToken)."""
        sign_in = self.page("/dashboard")
        fields = {"csrf": csrf_for(sign_in, "/dashboard/sign-in"), "email": email_address, "password": temporary}
        challenge = self.form("/dashboard/sign-in", {**fields, "next": ""}, 200)
        state = re.search(r'name="state" value="([^"]+)"', page_text(challenge))
        assert state, "no challenge form"
        chosen = new_password()
        answer = {"csrf": csrf_for(challenge, "/dashboard/sign-in/challenge"), "state": state.group(1)}
        setup = self.form(
            "/dashboard/sign-in/challenge", {**answer, "new_password": chosen, "confirm_password": chosen}, 200
        )
        state = re.search(r'name="state" value="([^"]+)"', page_text(setup))
        assert state and "Set up your authenticator app" in page_text(setup), "no authenticator pairing"
        answer = {"csrf": csrf_for(setup, "/dashboard/sign-in/challenge"), "state": state.group(1)}
        self.form("/dashboard/sign-in/challenge", {**answer, "code": "123456"}, 303)  # moto: any code
        self.page("/dashboard")

    def upload(self, event_id: str, rows: str, expected: int) -> Any:
        """The dashboard's CSV upload (multipart, with the event page's CSRF token)."""
        token = csrf_for(self.page(f"/dashboard/events/{event_id}"), f"/dashboard/events/{event_id}/participants")
        boundary = "----iam-boundary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="csv"; filename="list.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n{HEADER}{rows}\r\n--{boundary}--\r\n"
        ).encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        path = f"/dashboard/events/{event_id}/participants"
        mapping = self._status(self.request("POST", path, headers=headers, body=body), 200, "upload")
        # The mapping step: "Import" with every column as it was guessed.
        text = page_text(mapping)
        fields = {
            "csrf": csrf_for(mapping, f"/dashboard/events/{event_id}/participants/mapped"),
            "state": re.search(r'name="state" value="([^"]+)"', text).group(1),  # type: ignore[union-attr]
        }
        for select in re.finditer(r'<select id="[^"]+" name="(col-\d+)"[^>]*>(.*?)</select>', text, re.S):
            chosen = re.search(r'<option value="([^"]*)" selected>', select.group(2))
            fields[select.group(1)] = chosen.group(1) if chosen else ""
        return self.form(f"/dashboard/events/{event_id}/participants/mapped", fields, expected)

    def missed(self) -> list[str]:
        """Routes and handlers of the app that this run never reached."""
        app = self.app
        every = {(m, path) for path, methods in app.routes.items() for m in methods}
        handlers = {source.name for source in app.event_sources}
        return sorted(f"{m} {p}" for m, p in every - self.routes) + sorted(handlers - self.handlers)
