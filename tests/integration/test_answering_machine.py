"""A Hypothesis state machine over the real HTTP handlers (Chalice test client, in-process moto, a fresh
stack per example): two events, each with a wave and its own participants (event A's with two links each),
and in any order: submits (valid and invalid), edits through the same or the other link (with the version
and sealed answers the page showed, stale or someone else's ones, or none), double clicks (two submits of
one link at once), form opens, opt-outs, erasures,
SES bounces and complaints (some delivered twice), admin reads (summary, report, both CSV exports, recount)
and cross-event attempts. Most actions may meet a DynamoDB fault on their calls (tests/support/machines.py):
throttles that botocore's retries absorb, throttles that exhaust them (on the first call, or half-way
through a multi-write action that is then retried), transactions cancelled for throttling, and replies
lost after DynamoDB applied the write. A few people have answered when each example starts, and k is 3
(its minimum), so that reports and exports soon show groups and free text.

Invariants, after every step:

- no lost response: every submit answered 303 reads back from the responses table exactly as sent (the
  last write wins for edits); a refused or failed submit changes nothing, and a failure is a clear 503
  page, never a traceback;
- no duplicate response: one item per (wave, participant), in that wave's own event; the completed counter
  of every breakdown dimension equals the number of responses;
- the aggregates equal a recount from the raw responses and invitations (``reporting.recount``), and
  opt-outs, complaints and bounces are counted once each;
- no cross-event access: an admin scoped to event A gets 403 on every route of event B (reads, exports,
  writes, erasure), the programme shows them only A, and a link token is no bearer token (401); once that
  admin signs out their token gets 401 everywhere, and signed in again without their event group, 403 on A too
  and an empty programme (issue 13: sign-out and scoping changes);
- erasure is complete: the person's name, email and organisation are in no item of any table, no token of
  theirs is left, every link of theirs answers 404, and their answers and the aggregates stay;
- no personal data (seeded emails, names, organisations, raw link and bearer tokens) in anything logged or
  printed, nor in the summary, the report, the CSV exports or an error answer; free text in reports and
  exports also loses addresses and phone numbers.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import threading
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from chalicelib import container
from chalicelib.adapters import tables as t
from chalicelib.adapters.store.base import unshard
from chalicelib.api.session import SESSION_COOKIE
from chalicelib.domain import answering
from chalicelib.domain.errors import DomainError, TemporarilyUnavailable
from chalicelib.domain.model import DIMENSIONS
from chalicelib.domain.reporting import compare_counters, recount
from chalicelib.jobs import handlers
from devstack import identity
from tests.support.answering_world import (
    ANSWERS,
    COMMENTS,
    CROSS_ROUTES,
    FAULTS,
    FORM,
    HIDDEN,
    INVALID,
    LINK,
    ONE_CLICK,
    PERSON,
    REDACTED,
    STEPS,
    VERSIONS,
    WRITES,
    A,
    AnsweringWorld,
    B,
    Fault,
    K,
    Person,
    expected_answers,
    form_body,
    text_of,
)
from tests.support.api import auth
from tests.support.machines import ATTEMPTS
from tests.support.spreadsheet import formula_cells
from tests.support.stack import SENDER
from tests.support.visitor import Visitor, csrf_for, sign_in


class AnsweringMachine(AnsweringWorld, RuleBasedStateMachine):
    # Rules -----------------------------------------------------------------------------------------------
    def _submit(
        self, person: Person, link: int, answers: dict[str, str], comment: int, invalid: Any, version: str, fault: Fault
    ) -> None:
        token = self._token(person, link)
        key = (self.wave[person.event], person.participant_id)
        hidden: dict[str, str] = {}
        if version == "page":
            hidden = self._open(person, token)
        elif version == "old_page":
            hidden = next(iter(self.pages.get(person.participant_id, [])), {})
        elif version == "foreign_page":
            others = [seen[-1] for pid, seen in self.pages.items() if pid != person.participant_id and seen]
            hidden = others[0] if others else {}
        elif version == "version":
            hidden = {"_v": str(self._version(person))}
        elif version == "stale":
            hidden = {"_v": "0"}
        body = form_body(answers, COMMENTS[comment], invalid, hidden)
        before = self._stored().get(key)
        with self._fault(fault) as outcome:
            r = self.http.post(f"/s/{token}", headers=FORM, body=body)
        if outcome["surfaced"] and invalid is not None and r.status_code == 422:
            # Refused before any write; the page shows the mistakes from the questionnaire already read, even
            # when the fault then stops the link from being read again (issue 17: nothing typed is lost).
            assert b'role="alert"' in r.body
        elif outcome["surfaced"]:
            self._failed_cleanly(r, json_body=False, own=person.tokens)
            if r.headers.get("Retry-After") and invalid is None:  # the busy page: every answer kept
                for question, value in answers.items():
                    # ...as the form, or, when neither the link nor the questionnaire could be read, as the
                    # page that carries every field as it came and sends it again
                    shown = f'name="{question}" value="{value}" checked'.encode() in r.body
                    carried = f'<input type="hidden" name="{question}" value="{value}">'.encode() in r.body
                    assert shown or carried, question
        elif person.participant_id in self.erased:
            assert r.status_code == 404, r.status_code
        elif person.participant_id in self.opted_out:
            assert r.status_code == 410, r.status_code
        elif invalid is not None:
            assert r.status_code == 422, r.status_code
        else:
            assert r.status_code == 303, (r.status_code, text_of(r)[:400])
            assert r.headers["Location"].startswith(f"/s/{token}/thanks")
            self.responses[key] = expected_answers(answers, COMMENTS[comment])
            return
        assert self._stored().get(key) == before, "a refused or failed submit changed the stored response"

    @initialize(
        first=st.lists(st.tuples(PERSON, ANSWERS, st.sampled_from([2, 3, 1, 4, 5, 0])), min_size=4, max_size=10)
    )
    def some_have_answered(self, first: list[tuple[int, dict[str, str], int]]) -> None:
        """Some people answered before the machine starts (so that reports and exports soon show free
        text and groups); through the same route, without faults. Every example reads their reports once."""
        STEPS.step("some_have_answered")
        for p, answers, comment in first:
            self._submit(self.people[p], 0, answers, comment, None, "page", None)
        for name in (A, B):  # and what the admin then reads of them (the read rule reads more later)
            for what in ("summary", "report", "responses"):
                self._read(name, what, "stakeholder_group", "viewer", None)

    @rule(
        p=PERSON,
        link=LINK,
        answers=ANSWERS,
        comment=st.integers(0, len(COMMENTS) - 1),
        invalid=INVALID,
        version=VERSIONS,
        fault=FAULTS,
        double_click=st.integers(0, 5),
    )
    def submit(
        self,
        p: int,
        link: int,
        answers: dict[str, str],
        comment: int,
        invalid: Any,
        version: str,
        fault: Fault,
        double_click: int,
    ) -> None:
        """POST /s/{token}: a first answer, or an edit. The form carries the version the page showed, a
        stale 0 (a second tab), or none. One time in six, a double click instead: two submits at once."""
        STEPS.step("submit")
        if double_click == 0:
            other = {**answers, "overall": "1" if answers["overall"] != "1" else "5"}
            self._twice(self.people[p], link, answers, other)
        else:
            self._submit(self.people[p], link, answers, comment, invalid, version, fault)

    @rule(
        p=PERSON,
        link=LINK,
        answers=ANSWERS,
        comment=st.integers(0, len(COMMENTS) - 1),
        version=VERSIONS,
        fault=FAULTS,
    )
    def edit(self, p: int, link: int, answers: dict[str, str], comment: int, version: str, fault: Fault) -> None:
        """Someone who answered changes their answers through their link (or their other link)."""
        STEPS.step("edit")
        answered = [x for x in self.people if (self.wave[x.event], x.participant_id) in self.responses]
        person = answered[p % len(answered)] if answered else self.people[p]
        self._submit(person, link, answers, comment, None, version, fault)

    def _twice(self, person: Person, link: int, first: dict[str, str], second: dict[str, str]) -> None:
        """A double click: two requests for one link at once (two threads; the test client is not
        thread-safe, so they call the use case the route calls). Both are acknowledged, one response."""
        STEPS.note("double click")
        token = self._token(person, link)
        store = container.store()
        barrier = threading.Barrier(2)
        outcomes: list[Any] = []

        def run(answers: dict[str, str]) -> None:
            form = {k: [v] for k, v in answers.items()}
            barrier.wait()
            try:
                outcomes.append(answering.submit(store, token, form, now=container.now()).stored)
            except DomainError as exc:
                outcomes.append(type(exc).__name__)

        threads = [threading.Thread(target=run, args=(a,)) for a in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        key = (self.wave[person.event], person.participant_id)
        if person.participant_id in self.erased:
            assert outcomes == ["NotFound", "NotFound"], outcomes
        elif person.participant_id in self.opted_out:
            assert outcomes == ["OptedOut", "OptedOut"], outcomes
        else:
            assert outcomes == [True, True], outcomes
            stored = self._stored()[key]["answers"]
            assert stored in (first, second), "neither of the two answers was kept"
            self.responses[key] = dict(stored)

    def _open(self, person: Person, token: str) -> dict[str, str]:
        """Open the form (no fault) as a browser would before an edit; its hidden fields, as the browser
        will send them back."""
        r = self.http.get(f"/s/{token}")
        return self._hidden(person, r) if r.status_code == 200 else {}

    def _hidden(self, person: Person, r: Any) -> dict[str, str]:
        fields = {name: html.unescape(value) for name, value in HIDDEN.findall(text_of(r))}
        assert fields["_v"] == str(self._version(person)), "the form shows another version than the stored one"
        assert ("_p" in fields) == (fields["_v"] != "0"), "an edit form without the sealed answers, or the reverse"
        self.pages.setdefault(person.participant_id, []).append(fields)
        return fields

    @rule(p=PERSON, link=LINK, fault=FAULTS)
    def open_form(self, p: int, link: int, fault: Fault) -> None:
        """GET /s/{token}: the form, with the stored answers' version and sealed copy when editing."""
        STEPS.step("open_form")
        person = self.people[p]
        with self._fault(fault) as outcome:
            r = self.http.get(f"/s/{self._token(person, link)}")
        if outcome["surfaced"]:
            self._failed_cleanly(r, json_body=False, own=person.tokens)
        elif person.participant_id in self.erased:
            assert r.status_code == 404
        elif person.participant_id in self.opted_out:
            assert r.status_code == 410
        else:
            assert r.status_code == 200, r.status_code
            self._hidden(person, r)

    @rule(
        p=PERSON,
        how=st.sampled_from(["unsubscribe", "bounce", "complaint", "transient bounce"]),
        link=LINK,
        twice=st.booleans(),
        fault=FAULTS,
    )
    def stop_emails(self, p: int, how: str, link: int, twice: bool, fault: Fault) -> None:
        """The person unsubscribes with one click (POST /u/{token}), or SES reports a bounce or a complaint
        about their email through SNS (maybe twice). A failed click is clicked again; a failed invocation
        gets the notification again."""
        STEPS.step("stop_emails")
        if how == "unsubscribe":
            self._opt_out(self.people[p], link, fault)
        else:
            self._feedback(self.people[p], how.split()[0], twice, fault)

    def _opt_out(self, person: Person, link: int, fault: Fault) -> None:
        path = f"/u/{self._token(person, link)}"
        with self._fault(fault) as outcome:
            r = self.http.post(path, headers=FORM, body=ONE_CLICK)
        if outcome["surfaced"]:
            self._failed_cleanly(r, json_body=False, own=person.tokens)
            r = self.http.post(path, headers=FORM, body=ONE_CLICK)
        if person.participant_id in self.erased:
            assert r.status_code == 404, r.status_code
            return
        assert r.status_code == 200, r.status_code
        self.opted_out.add(person.participant_id)

    def _feedback(self, person: Person, kind: str, twice: bool, fault: Fault) -> None:
        mail = {
            "timestamp": datetime.now(UTC).isoformat(),
            "messageId": f"m-{person.participant_id}",
            "source": SENDER,
            "destination": [person.email],
            "tags": {
                "ef-wave": [self.wave[person.event]],
                "ef-participant": [person.participant_id],
                "ef-event": [self.event[person.event]],
                "ef-kind": ["invitation"],
            },
        }
        if kind == "complaint":
            detail = {"complaint": {"complainedRecipients": [{"emailAddress": person.email}]}}
        else:
            bounce_type = "Permanent" if kind == "bounce" else "Transient"
            detail = {"bounce": {"bounceType": bounce_type, "bouncedRecipients": [{"emailAddress": person.email}]}}
        message = json.dumps({"eventType": "Complaint" if kind == "complaint" else "Bounce", "mail": mail, **detail})
        with self._fault(fault) as outcome:
            try:
                handlers.apply_feedback([message])
                failed = False
            except TemporarilyUnavailable:  # the invocation failed: the feedback queue delivers it again
                failed = True
        assert failed == outcome["surfaced"], (failed, fault)
        for _ in range(int(twice or failed)):
            handlers.apply_feedback([message])
        if kind == "bounce":
            self.bounced.add(person.participant_id)
        elif kind == "complaint":
            if person.participant_id not in self.opted_out:
                self.complained.add(person.participant_id)
            self.opted_out.add(person.participant_id)

    @rule(p=PERSON, who=st.sampled_from(["admin", "admin", "scoped", "viewer"]), fault=FAULTS)
    def erase(self, p: int, who: str, fault: Fault) -> None:
        """DELETE /admin/participants/{id}. A failure is retried by the admin, and then must complete."""
        STEPS.step("erase")
        self._erase(self.people[p], who, fault)

    def _erase(self, person: Person, who: str, fault: Fault) -> None:
        path = f"/admin/participants/{person.participant_id}"
        with self._fault(fault) as outcome:
            r = self.http.delete(path, headers=auth(self.bearer[who]))
        if outcome["surfaced"]:
            self._failed_cleanly(r, json_body=True)
            r = self.http.delete(path, headers=auth(self.bearer[who]))
        if who == "scoped" and self.scoped == "signed_out":
            assert r.status_code == 401, (who, r.status_code)
            self._not_erased(person)
            return
        if who == "viewer" or (who == "scoped" and (person.event != A or self.scoped == "ungrouped")):
            assert r.status_code == 403, (who, r.status_code)
            self._not_erased(person)
            return
        assert r.status_code == 200, (r.status_code, r.body)
        self.erased.add(person.participant_id)
        self._erased_everywhere_through_the_api()

    @rule(
        action=st.sampled_from(["erase", "opt_out", "bounce", "complaint", "submit"]),
        p=PERSON,
        k=st.integers(1, 3),
        code=st.sampled_from(["ThrottlingException", "ProvisionedThroughputExceededException"]),
    )
    def interrupted_half_way(self, action: str, p: int, k: int, code: str) -> None:
        """An action whose k-th write fails for good (throttled past botocore's retries) after the writes
        before it went through; the admin, the person or SNS then tries again. Nothing half-done may stay:
        a retried erasure must still revoke every link, a retried opt-out or bounce must count once."""
        STEPS.step("interrupted_half_way")
        person = self.people[p]
        fault: Fault = (code, ATTEMPTS, WRITES, k - 1)
        if action == "erase":
            self._erase(person, "admin", fault)
        elif action == "opt_out":
            self._opt_out(person, 0, fault)
        elif action == "submit":
            self._submit(
                person,
                0,
                {"overall": "5", "mutual_learning": "4", "understanding": "4", "cooperation_measures": "3"},
                1,
                None,
                "page",
                fault,
            )
        else:
            self._feedback(person, action, False, fault)

    @rule(
        name=st.sampled_from([A, B]),
        what=st.sampled_from(["summary", "report", "aggregates", "responses", "recount"]),
        by=st.sampled_from(DIMENSIONS),
        who=st.sampled_from(["viewer", "admin", "scoped"]),
        fault=FAULTS,
    )
    def read(self, name: str, what: str, by: str, who: str, fault: Fault) -> None:
        """The summary JSON, the HTML report, the CSV exports, the recount: nothing personal, small cells
        suppressed, counts those of the stored responses, nothing for the recount to correct."""
        STEPS.step("read")
        self._read(name, what, by, who, fault)

    def _read(self, name: str, what: str, by: str, who: str, fault: Fault) -> None:
        event_id, wave_id = self.event[name], self.wave[name]
        path = {
            "summary": f"/admin/events/{event_id}/summary?wave={wave_id}&by={by}",
            "report": f"/admin/events/{event_id}/report?wave={wave_id}&by={by}&lang=en",
            "aggregates": f"/admin/events/{event_id}/export.csv?wave={wave_id}&kind=aggregates",
            "responses": f"/admin/events/{event_id}/export.csv?wave={wave_id}&kind=responses",
            "recount": f"/admin/events/{event_id}/waves/{wave_id}/recount",
        }[what]
        if what == "recount" and who == "viewer":
            who = "admin"  # a write route: viewers get 403, as the route enumeration test checks
        with self._fault(fault) as outcome:
            r = self.http.request("POST" if what == "recount" else "GET", path, headers=auth(self.bearer[who]))
        if outcome["surfaced"]:
            self._failed_cleanly(r, json_body=True)
            return
        if who == "scoped" and self.scoped == "signed_out":
            assert r.status_code == 401, r.status_code
            return
        if who == "scoped" and (name == B or self.scoped == "ungrouped"):
            assert r.status_code == 403, r.status_code
            return
        assert r.status_code == 200, (r.status_code, r.body[:300])
        text = text_of(r)
        self._no_secrets(text, what)
        for secret in REDACTED:
            assert secret not in text, f"free text not redacted in {what}"
        n = sum(1 for (w, _) in self.responses if w == wave_id)
        if what in ("report", "responses") and n >= K:
            shown = [a.get("comments", "") for (w, _), a in self.responses.items() if w == wave_id]
            if any(secret in text for text in shown for secret in REDACTED):
                STEPS.note(f"{what} read with an address or a phone number in the free text")
        if what == "recount":
            result = json.loads(text)
            assert result["ok"] and result["mismatches"] == [], result  # the admin's recount: nothing to correct
        elif what == "summary":
            summary = json.loads(text)
            assert summary["suppression_threshold"] == K
            assert summary["respondents"] == n == summary["funnel"]["completed"]
            for q in summary["questions"]:
                if 0 < q["n"] < K:
                    assert q.get("suppressed"), q
                groups = q.get("groups", {}).values()
                assert all(g["n"] >= K or g["n"] == 0 for g in groups if not g.get("suppressed")), q
                assert sum(1 for g in groups if g.get("suppressed")) != 1, q  # complementary suppression
        elif what == "responses":
            rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
            assert len(rows) - 1 == (n if n >= K else 0)
            assert not formula_cells(text), "a cell a spreadsheet would run as a formula"

    @rule(route=st.sampled_from(CROSS_ROUTES), p=PERSON, credential=st.sampled_from(["scoped", "link", "none"]))
    def cross_event(self, route: tuple[str, str], p: int, credential: str) -> None:
        """Someone of event A (an admin scoped to A, or a participant with their link token as a bearer
        token, or nobody) tries event B's routes."""
        STEPS.step("cross_event")
        a = self.people[0]
        b = self.people[p] if self.people[p].event == B else self.people[-1]
        method, template = route
        path = template.format(B=self.event[B], wB=self.wave[B], wA=self.wave[A], pB=b.participant_id, year=self.year)
        headers = {
            "scoped": auth(self.bearer["scoped"]),
            "link": auth(a.tokens[0]),
            "none": {"Content-Type": "application/json"},
        }[credential]
        r = self.http.request(method, path, headers=headers, body=b"{}" if method in ("PUT", "POST") else b"")
        text = text_of(r)
        self._no_secrets(text, "an error answer")
        if credential != "scoped" or self.scoped == "signed_out":
            assert r.status_code == 401, (path, credential, r.status_code)
        elif template.startswith("/admin/programme"):
            assert r.status_code == 200, text
            mine = {self.wave[A]} if self.scoped == "live" else set()
            assert {w["wave_id"] for w in json.loads(text)["waves"]} == mine, "another event's wave"
        else:
            assert r.status_code == 403, (path, r.status_code)
        queued = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
            QueueUrl=self.outputs["SendQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        assert queued == "0", "a refused request queued emails"
        self._not_erased(b)

    @precondition(lambda self: self.scoped_changes < 3)  # a few per example, so the other rules keep their share
    @rule(change=st.sampled_from(["sign_out", "lose_event", "regain_event"]))
    def scoped_session(self, change: str) -> None:
        """The scoped admin signs out of the dashboard (their token, used as a Bearer token too, is refused
        from then on), or loses or regains their event group and signs in again (the new token carries it)."""
        STEPS.step("scoped_session")
        self.scoped_changes += 1
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool, client_id = self.outputs["UserPoolId"], self.outputs["UserPoolClientId"]
        email = "scoped@example.org"
        if change == "sign_out":
            visitor = Visitor(SimpleNamespace(http=self.http))
            assert sign_in(visitor, email, self.scoped_password).status_code == 303
            self.bearer["scoped"] = visitor.jar[SESSION_COOKIE].split(".", 1)[1].rsplit(".", 1)[0]
            page = visitor.get("/dashboard")
            assert (
                visitor.post("/dashboard/sign-out", {"csrf": csrf_for(page, "/dashboard/sign-out")}).status_code == 303
            )
            self.scoped = "signed_out"  # whatever their group: this token is refused
        else:
            member = change == "regain_event"
            if member != self.scoped_member:
                change_group = idp.admin_add_user_to_group if member else idp.admin_remove_user_from_group
                change_group(UserPoolId=pool, Username=email, GroupName=self.scoped_group)
                self.scoped_member = member
            self.bearer["scoped"] = identity.sign_in(idp, client_id, email, self.scoped_password)
            self.scoped = "live" if member else "ungrouped"
        self.secrets.append(self.bearer["scoped"])

    # Invariants ------------------------------------------------------------------------------------------
    @invariant()
    def every_acknowledged_answer_reads_back_once_in_its_own_event(self) -> None:
        stored = self._stored()
        assert {key: item["answers"] for key, item in stored.items()} == self.responses
        pids = {name: {p.participant_id for p in self.people if p.event == name} for name in (A, B)}
        for (wave_id, pid), item in stored.items():
            name = A if wave_id == self.wave[A] else B
            assert wave_id == self.wave[name] and pid in pids[name] and item["event_id"] == self.event[name]

    @invariant()
    def aggregates_equal_a_recount(self) -> None:
        store = container.store()
        responses = [store._response(t.ResponseItem.from_raw_data(r)) for r in self._raw("responses")]
        invitations = [store._invitation(t.InvitationItem.from_raw_data(r)) for r in self._raw("invitations")]
        aggregates = self._raw("aggregates")
        for name in (A, B):
            wave_id = self.wave[name]
            stored: dict[str, dict[str, int]] = {}
            for raw in aggregates:
                if raw["wave_id"]["S"] == wave_id:  # the shards of a cell add up (issue 17)
                    bucket = stored.setdefault(unshard(raw["cell"]["S"]), {})
                    for k, v in raw.items():
                        if "N" in v:
                            bucket[k] = bucket.get(k, 0) + int(v["N"])
            rebuilt = recount(
                self.questionnaire,
                [r for r in responses if r.wave_id == wave_id],
                [i for i in invitations if i.wave_id == wave_id],
            )
            mismatches = compare_counters(stored, rebuilt)
            assert mismatches == [], mismatches[:5]
            people = [p.participant_id for p in self.people if p.event == name]
            expected = {
                "f:completed": sum(1 for (w, _) in self.responses if w == wave_id),
                "f:opted_out": sum(p in self.opted_out for p in people),
                "f:complained": sum(p in self.complained for p in people),
                "f:bounced": sum(p in self.bounced for p in people),
            }
            for dimension in DIMENSIONS:
                total: Counter[str] = Counter()
                for cell, counters in stored.items():
                    if cell.startswith(f"{dimension}#"):
                        total.update(counters)
                # ``mode`` is a response's dimension only (domain/modes.py): it counts answers, not the funnel.
                wanted = {"f:completed": expected["f:completed"]} if dimension == "mode" else expected
                assert {k: total[k] for k in wanted} == wanted, (dimension, dict(total))

    @invariant()
    def erasure_is_complete(self) -> None:
        if not self.erased:
            return
        dump = []
        for table in self.backend.tables:
            if not table.startswith(self.prefix):
                continue
            for raw in self._raw(table[len(self.prefix) :]):
                dump.append(json.dumps(raw).lower())
                pid = raw.get("participant_id", {}).get("S")
                if table.endswith("tokens"):
                    assert pid not in self.erased, "a link of an erased person is left"
                if table.endswith("invitations") and pid in self.erased:
                    assert "token_hashes" not in raw and "due_at" not in raw, "an erased person still has links"
        text = "\n".join(dump)
        for person in self.people:
            if person.participant_id in self.erased:
                for secret in person.personal():
                    assert secret.lower() not in text, "an erased person's data is still stored"
                for token in person.tokens:
                    assert self.http.get(f"/s/{token}").status_code == 404

    def _erased_everywhere_through_the_api(self) -> None:
        """Right after an erasure, the same through DynamoDB's own API: a Scan of every table."""
        secrets = [s.lower() for p in self.people if p.participant_id in self.erased for s in p.personal()]
        for table in self.dynamo.list_tables()["TableNames"]:
            if table.startswith(self.prefix):
                for page in self.dynamo.get_paginator("scan").paginate(TableName=table):
                    text = json.dumps(page["Items"]).lower()
                    assert not any(s in text for s in secrets), "an erased person's data is still stored"

    @invariant()
    def nothing_personal_is_logged_or_printed(self) -> None:
        self._no_secrets(self.output.fresh(), "the logs or the output")


TestGivenAnyMixOfAnswersAndFaultsThenNothingIsLostLeakedOrMiscounted = AnsweringMachine.TestCase
TestGivenAnyMixOfAnswersAndFaultsThenNothingIsLostLeakedOrMiscounted.settings = settings(
    max_examples=int(os.environ.get("MACHINE_EXAMPLES", "18")),
    stateful_step_count=22,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # MACHINE_NO_SHRINK=1 while developing: report the first failure as found, without minutes of shrinking.
    phases=[Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("MACHINE_NO_SHRINK")
    else [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
