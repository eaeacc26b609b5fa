"""The answering state machine's world (tests/integration/test_answering_machine.py): the people of two events,
the strategies its rules draw from (answers, free text, invalid forms, DynamoDB faults, what the form carries),
and the harness: a fresh stack per example (in-process moto, the real HTTP handlers through Chalice's test
client, invitations sent and a reminder for event A), faults armed around one action, moto's state read
directly, and the checks every failure must pass. The rules and invariants stay in the test module.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import strategies as st
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from app import app  # imported first: Chalice configures its app logger (see tests/support/machines.Output)
from chalicelib import container
from chalicelib.adapters.store.base import TX_ATTEMPTS
from chalicelib.domain import catalogue
from chalicelib.jobs import handlers
from chalicelib.settings import reset_settings
from devstack import identity, tx_conflicts
from devstack.provision import provision
from tests.support.api import auth
from tests.support.data import HEADER
from tests.support.machines import DynamoFaults, Output, StepCounter, attempts_for, isolated_transactions
from tests.support.mail import link_token, recipient
from tests.support.stack import SENDER, app_env, drain, moto_jwks

K = 3  # EF_SUPPRESSION_K at its minimum: with a few respondents, free text reaches reports and exports
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ONE_CLICK = b"List-Unsubscribe=One-Click"


@dataclass
class Person:
    event: str  # "A" or "B"
    email: str
    name: str
    organisation: str
    group: str
    country: str
    language: str
    sponsored: str = "no"
    participant_id: str = ""
    tokens: list[str] = field(default_factory=list)

    def csv(self) -> str:
        fields = (self.email, self.name, self.organisation, self.group, self.country, self.language, "")
        return ",".join((*fields, self.sponsored)) + "\n"

    def personal(self) -> list[str]:
        """What must never leave the system, nor stay after erasure: the address, the name (and its
        unusual surname alone) and the organisation."""
        return [self.email, self.name, self.name.split()[-1], self.organisation]


A, B = "A", "B"
PEOPLE = [
    Person(
        A, "ottilie.quarrington@example.org", "Ottilie Quarrington", "Marrowfield Ministry", "government", "FR", "en"
    ),
    Person(A, "b.ysselmonde@example.net", "Bertrand Ysselmonde", "Coldharbour Agency", "government", "SN", "fr", "yes"),
    Person(A, "ines.valdeporro@example.org", "Ines Valdeporro", "Red Tamarisco", "civil_society", "MX", "es", "yes"),
    Person(
        A, "kwame.brightwater@example.org", "Kwame Brightwater", "Lanternfly Collective", "civil_society", "GH", "en"
    ),
    Person(A, "hedda.lindqvarn@example.org", "Hedda Lindqvarn", "Norrsken Polytechnic", "academia", "SE", "en"),
    Person(A, "r.pellingham@example.org", "Rafferty Pellingham", "Pellucid Gazette", "media", "GB", "en"),
    Person(B, "yusuf.karadenizli@example.org", "Yusuf Karadenizli", "Bosphorus Policy Lab", "academia", "TR", "en"),
    Person(B, "marisol.etxeberri@example.org", "Marisol Etxeberri", "Fundacion Alcaravan", "civil_society", "ES", "es"),
    Person(B, "thandiwe.mokoena@example.org", "Thandiwe Mokoenastra", "Highveld Commission", "government", "ZA", "en"),
    Person(B, "a.castelbajac@example.org", "Aurelien Castelbajac", "Agence Mirabelle", "other", "BE", "fr"),
    Person(B, "priya.ramanathkar@example.org", "Priya Ramanathkar", "Coromandel Herald", "media", "IN", "en", "yes"),
]
# Free text: plain, with a phone number and an address (both must be removed from reports and exports), a
# formula (neutralised in CSV), Windows line ends (stored as \n), or nothing. Never a seeded person's data.
COMMENTS = [
    None,
    "Very useful sessions on labour mobility.",
    "  Call me on +41 22 555 01 23 about the follow-up.  ",
    "Please send the slides to friend.of.mine@elsewhere.org soon",
    '=HYPERLINK("http://evil.example/x")',
    'Useful;=HYPERLINK("http://evil.example/y")',  # a formula after the separator of a French or Spanish Excel
    "Line one\r\nLine two",
]
REDACTED = ["555 01 23", "friend.of.mine", "elsewhere.org"]
LIKERT = st.sampled_from(["1", "2", "3", "4", "5"])
ANSWERS = st.fixed_dictionaries(
    {"overall": LIKERT, "mutual_learning": LIKERT, "understanding": LIKERT, "cooperation_measures": LIKERT},
    optional={"content_relevant": LIKERT, "materials": LIKERT, "format": LIKERT, "information": LIKERT},
)
INVALID = st.one_of(st.none(), st.sampled_from(["missing", "out_of_range", "unknown", "twice", "too_long"]))
Fault = tuple[str, int, tuple[str, ...] | None, int] | None
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
# (code, consecutive errors, operations or any, matching calls let through first): absorbed by botocore's 4
# attempts, or not; on the first call of an action, or half-way through it. Half of the steps: no fault.
FAULTS: st.SearchStrategy[Fault] = st.one_of(
    st.none(),
    st.sampled_from(
        [
            ("ProvisionedThroughputExceededException", 1, None, 0),
            ("ThrottlingException", 3, ("TransactWriteItems",), 0),
            ("ProvisionedThroughputExceededException", 4, ("TransactWriteItems",), 0),
            ("ThrottlingException", 4, ("GetItem",), 0),
            ("ProvisionedThroughputExceededException", 4, ("Query", "Scan"), 0),
            ("ProvisionedThroughputExceededException", 5, None, 0),
            ("ThrottlingException", 12, None, 0),
            ("TransactionCanceledException", 1, ("TransactWriteItems",), 0),  # the store tries again
            ("TransactionCanceledException", TX_ATTEMPTS, ("TransactWriteItems",), 0),  # ...and gives up
            ("lost_reply", 1, ("TransactWriteItems",), 0),
            ("lost_reply", 1, ("PutItem", "UpdateItem", "BatchWriteItem"), 0),
        ]
    ),
    st.tuples(
        st.sampled_from(["ThrottlingException", "ProvisionedThroughputExceededException"]),
        st.just(4),
        st.sampled_from([WRITES, WRITES, WRITES, None]),
        st.integers(1, 3),
    ),
)
PERSON = st.integers(0, len(PEOPLE) - 1)
# What the form carries besides the answers: the version and sealed copy of the stored answers from the
# page just opened ("page"), from the first page this person opened ("old_page", stale after an edit), from
# another person's page ("foreign_page"); the version alone, read from the table ("version"); a stale "0"
# (a second tab opened before the first answer); or nothing ("absent").
VERSIONS = st.sampled_from(["page", "page", "old_page", "foreign_page", "version", "stale", "absent"])
HIDDEN = re.compile(r'<input type="hidden" name="(_v|_p)" value="([^"]*)"')
LINK = st.integers(0, 1)
CROSS_ROUTES = [
    ("GET", "/admin/events/{B}"),
    ("PUT", "/admin/events/{B}"),
    ("GET", "/admin/events/{B}/waves"),
    ("GET", "/admin/events/{B}/participants"),
    ("GET", "/admin/events/{B}/summary?wave={wB}"),
    ("GET", "/admin/events/{B}/report?wave={wB}"),
    ("GET", "/admin/events/{B}/export.csv?wave={wB}&kind=responses"),
    ("GET", "/admin/events/{B}/export.csv?wave={wB}&kind=aggregates"),
    ("GET", "/admin/events/{B}/panel?from={wB}&to={wA}"),
    ("POST", "/admin/events/{B}/waves/{wB}/recount"),
    ("POST", "/admin/events/{B}/waves/{wB}/send"),
    ("POST", "/admin/events/{B}/waves/{wB}/remind"),
    ("DELETE", "/admin/participants/{pB}"),
    ("GET", "/admin/programme?year={year}&indicator=mutual_learning"),
]
STEPS = StepCounter("answering")
_deserialise = TypeDeserializer().deserialize


def text_of(r: Any) -> str:
    return r.body.decode("utf-8") if isinstance(r.body, bytes) else str(r.body)


def expected_answers(answers: dict[str, str], comment: str | None) -> dict[str, str]:
    """What a valid form stores: the values as sent; free text with \\r\\n as \\n, trimmed, or absent."""
    out = dict(answers)
    text = (comment or "").replace("\r\n", "\n").strip()
    if text:
        out["comments"] = text
    return out


def form_body(answers: dict[str, str], comment: str | None, invalid: str | None, hidden: dict[str, str]) -> bytes:
    pairs: list[tuple[str, str]] = list(answers.items())
    if comment is not None:
        pairs.append(("comments", comment))
    if invalid == "missing":
        pairs = [(k, v) for k, v in pairs if k != "mutual_learning"]
    elif invalid == "out_of_range":
        pairs = [(k, "6" if k == "overall" else v) for k, v in pairs]
    elif invalid == "unknown":
        pairs.append(("favourite_colour", "blue"))
    elif invalid == "twice":
        pairs.append(("understanding", "1" if answers["understanding"] != "1" else "2"))
    elif invalid == "too_long":
        pairs = [(k, v) for k, v in pairs if k != "comments"] + [("comments", "x" * 2001)]
    pairs += list(hidden.items())
    return urlencode(pairs).encode()


class AnsweringWorld:
    """A fresh stack per example and the harness the machine's rules use. Mixed in before
    ``RuleBasedStateMachine``, whose ``__init__`` and ``teardown`` it extends."""

    def __init__(self) -> None:
        super().__init__()
        STEPS.example()
        self.saved_env: dict[str, str | None] = {}
        self.saved_jwks = container.jwks_fetcher
        self.mock = mock_aws()
        self.mock.start()
        self.faults = DynamoFaults()
        self._faults_cm = self.faults.installed()
        self._faults_cm.__enter__()
        self.output = Output()
        self.output.install()
        try:
            self._set_up()
        except BaseException:
            self.teardown()
            raise

    # Set-up ----------------------------------------------------------------------------------------------
    def _set_up(self) -> None:
        from chalice.config import Config
        from chalice.test import TestHTTPClient
        from moto.dynamodb.models import dynamodb_backends
        from moto.ses.models import ses_backends

        # The two-submits rule needs the isolation DynamoDB gives transactions.
        self.isolation = isolated_transactions()
        self.isolation.__enter__()
        # ...and DynamoDB's conflicts between transactions that overlap (issue 17): the double click's two
        # submits, and the burst's, meet on their items as they would on DynamoDB.
        tx_conflicts.install(duration=0.01)

        self.ses_backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        self.ses_backend.sent_messages.clear()
        self.outputs = provision(None, region="us-east-1", prefix="event-feedback", sender=SENDER)
        self.prefix = self.outputs["TablePrefix"]
        self.backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        env = {**app_env(self.outputs), "EF_SUPPRESSION_K": str(K)}
        self.saved_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        reset_settings()
        # Each example is a fresh container: new clients, so that botocore's standard-mode retry quota (a token
        # bucket per client, drained by every retry) does not carry the throttles of earlier examples over and
        # refuse a retry that a fresh Lambda container would make.
        container.reset()
        container.jwks_fetcher = moto_jwks
        self.people = [Person(**{**p.__dict__, "tokens": []}) for p in PEOPLE]
        self.secrets = [s for p in self.people for s in p.personal()]

        # The test client applies the stage's environment from .chalice/config.json on every request, as
        # Lambda would; the one override is k, through the same layered config ("user provided" wins).
        on_disk = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
        config = Config(
            chalice_stage="local",
            user_provided_params={"environment_variables": {"EF_SUPPRESSION_K": str(K)}},
            config_from_disk=on_disk,
        )
        self.http = TestHTTPClient(app, config)
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool, client_id = self.outputs["UserPoolId"], self.outputs["UserPoolClientId"]
        self.bearer: dict[str, str] = {}
        for role in ("admin", "viewer"):
            email, password = f"{role}@example.org", identity.new_password()
            identity.ensure_user(idp, pool, email, password, role)
            self.bearer[role] = identity.sign_in(idp, client_id, email, password)

        today = datetime.now(UTC).date()
        self.year = (today - timedelta(days=3)).year
        self.event: dict[str, str] = {}
        self.wave: dict[str, str] = {}
        admin = auth(self.bearer["admin"])
        for name in (A, B):
            event = {
                "title": f"Machine workshop {name}",
                "starts_on": (today - timedelta(days=3)).isoformat(),
                "ends_on": (today - timedelta(days=2)).isoformat(),
                "timezone": "Europe/Zurich",
            }
            r = self.http.post("/admin/events", headers=admin, body=json.dumps(event))
            assert r.status_code == 201, r.body
            event_id = self.event[name] = json.loads(r.body)["event_id"]
            rows = HEADER + "".join(p.csv() for p in self.people if p.event == name)
            r = self.http.post(
                f"/admin/events/{event_id}/participants",
                headers={**admin, "Content-Type": "text/csv"},
                body=rows.encode(),
            )
            assert r.status_code == 200 and not json.loads(r.body)["rejected"], r.body
            wave = {
                "questionnaire": "satisfaction",
                "opens": {"after_event_days": 1, "local_time": "09:00"},
                "reminders_after_days": [7],
                "closes": {"after_open_days": 30},
            }
            r = self.http.post(f"/admin/events/{event_id}/waves", headers=admin, body=json.dumps(wave))
            assert r.status_code == 201, r.body
            wave_id = self.wave[name] = json.loads(r.body)["wave_id"]
            r = self.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=admin)
            assert r.status_code == 202, r.body
        self._deliver_queue()
        by_email = {p.email: p for p in self.people}
        store = container.store()
        for name in (A, B):
            for participant in store.list_participants(self.event[name]):
                by_email[participant.email].participant_id = participant.participant_id
        # A manual reminder for event A: its people hold two links each, and erasure must revoke both.
        r = self.http.post(f"/admin/events/{self.event[A]}/waves/{self.wave[A]}/remind", headers=admin)
        assert r.status_code == 202, r.body
        self._deliver_queue()
        for message in self.ses_backend.sent_messages:
            by_email[recipient(message)].tokens.append(link_token(message))
        assert all(p.participant_id and p.tokens for p in self.people)
        assert all(len(p.tokens) == (2 if p.event == A else 1) for p in self.people)
        self.secrets += [token for p in self.people for token in p.tokens]
        # An admin scoped to event A only (Cognito group event:<A>).
        group = f"event:{self.event[A]}"
        idp.create_group(GroupName=group, UserPoolId=pool)
        password = identity.new_password()
        identity.ensure_user(idp, pool, "scoped@example.org", password, "admin", all_events=False)
        idp.admin_add_user_to_group(UserPoolId=pool, Username="scoped@example.org", GroupName=group)
        self.bearer["scoped"] = identity.sign_in(idp, client_id, "scoped@example.org", password)
        # The scoped admin's session as the machine changes it: "live" (in event:<A>), "signed_out" (their
        # token refused everywhere), or "ungrouped" (signed in again after losing event:<A>: no event at all).
        self.scoped = "live"
        self.scoped_password, self.scoped_group, self.scoped_member = password, group, True
        self.scoped_changes = 0
        self.secrets += list(self.bearer.values())

        self.questionnaire = catalogue.resolve(store, "satisfaction", 1)
        self.dynamo = boto3.client("dynamodb", region_name="us-east-1")
        # The model.
        self.responses: dict[tuple[str, str], dict[str, str]] = {}
        self.opted_out: set[str] = set()
        self.complained: set[str] = set()  # complaints counted (the first opt-out of that invitation)
        self.bounced: set[str] = set()
        self.erased: set[str] = set()
        self.pages: dict[str, list[dict[str, str]]] = {}  # the hidden fields of every form page opened
        self._no_secrets(self.output.fresh(), "the set-up's logs or output")

    def _deliver_queue(self) -> None:
        drain(boto3.client("sqs", region_name="us-east-1"), self.outputs["SendQueueUrl"], handle=handlers.send_records)

    # Helpers ---------------------------------------------------------------------------------------------
    def _raw(self, table: str) -> list[dict[str, Any]]:
        """Every item of a table, as DynamoDB JSON, straight from moto's state (no request: fast, and no
        fault can touch it)."""
        return [item.to_json()["Attributes"] for item in self.backend.tables[self.prefix + table].all_items()]

    def _stored(self) -> dict[tuple[str, str], dict[str, Any]]:
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in self._raw("responses"):
            item = {k: _deserialise(v) for k, v in raw.items()}
            key = (item["wave_id"], item["participant_id"])
            assert key not in items, f"two responses for {key}"
            items[key] = item
        return items

    def _version(self, person: Person) -> int:
        item = self._stored().get((self.wave[person.event], person.participant_id))
        return int(item["version"]) if item else 0

    def _token(self, person: Person, link: int) -> str:
        return person.tokens[link % len(person.tokens)]

    @contextmanager
    def _fault(self, plan: Fault) -> Iterator[dict[str, bool]]:
        """Arm ``plan`` around one action; ``surfaced`` then says whether a call failed for good (its
        retries exhausted), as against faults that botocore's retries absorbed."""
        outcome = {"surfaced": False}
        if plan is not None:
            code, count, operations, skip = plan
            if code == "lost_reply":
                for op in operations or ():
                    self.faults.lose_reply(op)
            else:
                self.faults.throttle(count, code, operations, skip)
        try:
            yield outcome
        finally:
            left = self.faults.clear()
            if plan is not None and plan[0] != "lost_reply":
                outcome["surfaced"] = plan[1] - left >= attempts_for(plan[0])
            if plan is not None:
                kind = "lost reply" if plan[0] == "lost_reply" else "surfaced" if outcome["surfaced"] else "absorbed"
                STEPS.note(f"dynamodb fault: {kind}")

    def _failed_cleanly(self, r: Any, *, json_body: bool, own: list[str] | None = None) -> None:
        """A failure the person or the admin can act on: 503 (try again), a page or the JSON error shape, no
        trace of the internals, nothing personal (but a participant's own link, on their own page)."""
        text = text_of(r)
        assert r.status_code == 503, (r.status_code, text[:300])
        STEPS.note(f"failed cleanly with {r.status_code}")
        for word in ("Traceback", "botocore", "pynamodb", "Exception", 'File "'):
            assert word.lower() not in text.lower(), text[:500]
        if json_body:
            assert set(json.loads(text)) == {"error"}, text
        else:
            assert "<html" in text.lower(), text[:300]
        self._no_secrets(text, "an error answer", allowed=own or [])

    def _no_secrets(self, text: str, where: str, allowed: list[str] | tuple[str, ...] = ()) -> None:
        lowered = text.lower()
        for secret in self.secrets:
            assert secret in allowed or secret.lower() not in lowered, f"personal data in {where}"

    def _participant_item(self, person: Person) -> dict[str, Any]:
        for raw in self._raw("participants"):
            if raw["participant_id"]["S"] == person.participant_id:
                return {k: _deserialise(v) for k, v in raw.items()}
        raise AssertionError("participant gone")

    def _not_erased(self, person: Person) -> None:
        if person.participant_id not in self.erased:
            assert self._participant_item(person).get("email") == person.email, "erased by a refused request"

    def teardown(self) -> None:
        try:
            tx_conflicts.uninstall()
            if hasattr(self, "isolation"):
                self.isolation.__exit__(None, None, None)
        finally:
            self.output.uninstall()
            self._faults_cm.__exit__(None, None, None)
            container.jwks_fetcher = self.saved_jwks
            self.mock.stop()
            for key, value in self.saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            reset_settings()
            STEPS.write()
