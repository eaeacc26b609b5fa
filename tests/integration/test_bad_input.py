"""The bad-input matrix of `POST /s/{token}` (and the pages around it), in-process against moto.

One moto session and one Chalice test client serve the whole module (provisioning takes seconds); each test
makes its own event with its own addresses, so no test sees another's answers or suppressions.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_string
from email.policy import default as default_policy
from typing import Any

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from chalicelib.domain.errors import DomainError
from devstack import identity, moto_speedups
from devstack.provision import provision
from tests.support.api import auth, body, import_csv, make_event, make_wave
from tests.support.data import HEADER
from tests.support.mail import link_token
from tests.support.stack import SENDER, Stack, app_env, moto_jwks

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
VALID = {"overall": "4", "mutual_learning": "5", "understanding": "4", "cooperation_measures": "3"}
PAGE_LIMIT = 50 * 1024
PEOPLE = (
    "{tag}.amina@example.org,Amina Diallo,Ministry of Labour,government,SN,fr,,yes\n"
    "{tag}.li@example.org,Li Wei,Tsinghua University,academia,CN,en,Asia/Shanghai,no\n"
    "{tag}.maria@example.org,María López,Red de Migrantes,civil_society,MX,es,,yes\n"
)


def encode(fields: dict[str, str] | list[tuple[str, str]]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def block(html: bytes, question_id: str) -> str:
    """The markup of one question: from its fieldset (or field) to the end of that element."""
    text = html.decode()
    found = re.search(rf'<(fieldset|div)\b[^>]*\bid="q-{question_id}"', text)
    assert found, question_id
    return text[found.start() : text.index(f"</{found.group(1)}>", found.end())]


@dataclass
class Survey:
    event_id: str
    wave_id: str
    tokens: dict[str, str] = field(default_factory=dict)  # recipient address -> token

    def token(self, who: str = "li") -> str:
        return next(t for address, t in self.tokens.items() if f".{who}@" in address)


@dataclass
class World:
    client: Any
    admin: str
    stack: Stack
    count: int = 0

    def survey(self, questionnaire: str = "satisfaction") -> Survey:
        """A fresh event with three participants, a wave of ``questionnaire``, sent and delivered."""
        self.count += 1
        event_id = make_event(self.client, self.admin)
        tag = f"bad{self.count}"
        import_csv(self.client, self.admin, event_id, HEADER + PEOPLE.format(tag=tag))
        if questionnaire == "satisfaction":
            wave_id = make_wave(self.client, self.admin, event_id)
        else:
            r = self.client.http.post(
                f"/admin/events/{event_id}/waves",
                headers=auth(self.admin),
                body=json.dumps(
                    {
                        "questionnaire": questionnaire,
                        "opens": {"after_event_days": 1, "local_time": "09:00"},
                        "reminders_after_days": [],
                        "closes": {"after_open_days": 30},
                    }
                ),
            )
            assert r.status_code == 201, r.body
            wave_id = str(body(r)["wave_id"])
        before = len(self.stack.ses_messages())
        r = self.client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=auth(self.admin))
        assert r.status_code == 202, r.body
        self.stack.deliver()
        survey = Survey(event_id, wave_id)
        for message in self.stack.ses_messages()[before:]:
            to = str(message_from_string(message.raw_data, policy=default_policy)["To"])
            if f"{tag}." in to:
                survey.tokens[to] = link_token(message)
        assert len(survey.tokens) == 3
        return survey

    def post(self, token: str, payload: bytes, headers: dict[str, str] | None = None, query: str = "?lang=en") -> Any:
        return self.client.http.post(f"/s/{token}{query}", headers=FORM if headers is None else headers, body=payload)

    def get(self, path: str) -> Any:
        return self.client.http.get(path)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from chalice.test import Client

    from app import app
    from chalicelib import container

    # Many events share this moto session: snapshot only the items a transaction touches, as `make run` does
    # (semantics unchanged; tests/integration/test_moto_speedups.py).
    moto_speedups.install()
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        from moto.ses.models import ses_backends

        ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages.clear()
        outputs = provision(None, region="us-east-1", prefix="event-feedback", sender=SENDER)
        env = app_env(outputs)
        for key, value in env.items():
            patch.setenv(key, value)
        patch.setattr(container, "jwks_fetcher", moto_jwks)
        container.reset()
        import boto3

        idp = boto3.client("cognito-idp", region_name="us-east-1")
        email, password = "admin@example.org", identity.new_password()
        identity.ensure_user(idp, outputs["UserPoolId"], email, password, "admin")
        admin = identity.sign_in(idp, outputs["UserPoolClientId"], email, password)
        with Client(app, stage_name="local") as client:
            yield World(client=client, admin=admin, stack=Stack(outputs, env))
        container.reset()
    moto_speedups.uninstall()


@pytest.fixture(scope="module")
def shared(world: World) -> Survey:
    """One satisfaction survey for the inputs that must store nothing (its last test then answers it)."""
    return world.survey()


@pytest.fixture(scope="module")
def impact(world: World) -> Survey:
    return world.survey("impact")


def responses(wave_id: str) -> list[Any]:
    from chalicelib import container

    return list(container.store().list_responses(wave_id))


def totals(wave_id: str) -> dict[str, int]:
    """Every counter of a wave summed over the language dimension (each respondent is in one language cell)."""
    from chalicelib import container

    out: dict[str, int] = {}
    for counters in container.store().read_cells(wave_id, "language").values():
        for key, value in counters.items():
            out[key] = out.get(key, 0) + value
    return out


def assert_friendly_page(r: Any, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.body[:300])
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Referrer-Policy"] == "no-referrer"
    text = r.body.decode()
    assert text.startswith("<!doctype html>") and "Traceback" not in text
    return text


# Size and encoding ----------------------------------------------------------------------------------


def test_a_body_over_the_limit_gets_a_friendly_413_and_nothing_is_stored(world):
    from chalicelib.api.participant import MAX_BODY

    survey = world.survey()
    token = survey.token()
    oversized = encode({**VALID, "comments": "a" * MAX_BODY})
    assert len(oversized) > MAX_BODY
    text = assert_friendly_page(world.post(token, oversized), 413)
    assert "Your answers are too long" in text and "shorten" in text
    # Exactly the limit is read (and refused as too long for the field, with the form again).
    padding = MAX_BODY - len(encode({**VALID, "comments": ""}))
    at_limit = encode({**VALID, "comments": "a" * padding})
    assert len(at_limit) == MAX_BODY
    r = world.post(token, at_limit)
    assert r.status_code == 422 and b'id="e-comments"' in r.body
    assert responses(survey.wave_id) == []
    assert totals(survey.wave_id).get("f:completed", 0) == 0


@pytest.mark.parametrize(
    "payload",
    [b"overall=4&comments=\xff\xfe", b"comments=caf\xe9", b"overall=4&comments=%FF%FE", b"comments=%C3%28"],
    ids=["raw-bytes", "latin-1", "percent-encoded", "truncated-sequence"],
)
def test_invalid_utf8_gets_400(world, shared, payload):
    survey = shared
    text = assert_friendly_page(world.post(survey.token(), payload), 400)
    assert "could not read what your browser sent" in text
    assert responses(survey.wave_id) == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "text/plain; charset=utf-8",
        "text/xml",
        None,
    ],
)
def test_a_wrong_content_type_gets_a_4xx_never_a_500(world, shared, content_type):
    survey = shared
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = world.post(survey.token(), encode(VALID), headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.body[:300])
    assert b"Traceback" not in r.body
    if content_type and content_type.split(";")[0] in ("text/plain", "multipart/form-data"):
        # What a browser form can send (its enctype) gets the participant's page, not an API error.
        text = assert_friendly_page(r, 415)
        assert "could not read what your browser sent" in text
    assert responses(survey.wave_id) == []


# Free text is data ----------------------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script> {{7*7}} {% raw %}${7*7}"


def test_markup_and_template_syntax_in_free_text_are_stored_as_data_and_shown_escaped(world):
    survey = world.survey()
    token = survey.token()
    r = world.post(token, encode({**VALID, "comments": HOSTILE}))
    assert r.status_code == 303, r.body
    stored = responses(survey.wave_id)
    assert len(stored) == 1 and stored[0].answers["comments"] == HOSTILE

    for page in (world.get(f"/s/{token}?lang=en"), world.get(f"/s/{token}?lang=fr")):
        assert page.status_code == 200
        assert b"<script" not in page.body
        textarea = re.search(rb"<textarea[^>]*name=\"comments\"[^>]*>(.*?)</textarea>", page.body, re.S)
        assert textarea is not None
        assert textarea.group(1) == b"&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} {% raw %}${7*7}"
        assert b"49" not in textarea.group(1)

    # The 422 page shows it again, still escaped, while another answer is wrong.
    r = world.post(token, encode({**VALID, "mutual_learning": "9", "comments": HOSTILE, "_v": "1"}))
    assert r.status_code == 422
    assert b"<script" not in r.body and b"&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}" in r.body
    # The thank-you page never echoes answers.
    thanks = world.get(f"/s/{token}/thanks?lang=en")
    assert thanks.status_code == 200 and b"7*7" not in thanks.body and b"alert" not in thanks.body
    assert responses(survey.wave_id)[0].answers["comments"] == HOSTILE


# Out-of-range values and unknown fields -------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "6", "-1", "3.5", "", "abc", "05", " 4", "4 ", "yes", "١"])
def test_an_out_of_range_likert_value_gets_422_with_the_error_beside_the_question(world, shared, value):
    r = world.post(shared.token(), encode({**VALID, "mutual_learning": value, "comments": "kept"}))
    assert r.status_code == 422
    question = block(r.body, "mutual_learning")
    assert 'id="e-mutual_learning"' in question
    assert 'aria-describedby="e-mutual_learning"' in question
    expected = "This question needs an answer." if value == "" else "Please choose one of the options."
    assert expected in question
    assert b'href="#f-mutual_learning"' in r.body  # listed in the error summary, linked to the question
    assert 'id="f-mutual_learning"' in question
    for other in ("overall", "understanding", "cooperation_measures"):
        assert f'id="e-{other}"' not in block(r.body, other)
    assert b'name="understanding" value="4" checked' in r.body and b">kept</textarea>" in r.body
    assert responses(shared.wave_id) == []


def test_a_repeated_single_answer_field_gets_422(world, shared):
    r = world.post(shared.token(), encode([*VALID.items(), ("mutual_learning", "4")]))
    assert r.status_code == 422 and 'id="e-mutual_learning"' in block(r.body, "mutual_learning")
    assert responses(shared.wave_id) == []


@pytest.mark.parametrize("extra", ["wave_id", "participant_id", "q-overall", "__proto__", "overall[]"])
def test_an_unknown_field_gets_422_and_nothing_is_stored(world, shared, extra):
    r = world.post(shared.token(), encode({**VALID, extra: "x"}))
    assert r.status_code == 422
    assert b"The form contained a field we did not expect" in r.body
    assert b'name="overall" value="4" checked' in r.body  # every value kept
    assert responses(shared.wave_id) == []


def test_after_the_bad_inputs_the_same_link_still_answers(world, shared):
    assert world.post(shared.token(), encode(VALID)).status_code == 303
    assert len(responses(shared.wave_id)) == 1
    assert totals(shared.wave_id)["f:completed"] == 1


# Tokens ---------------------------------------------------------------------------------------------


def test_forged_and_malformed_tokens_get_the_same_404_page(world):
    world.survey()  # real tokens exist, so a miss is a real lookup
    forged = secrets.token_urlsafe(32)
    assert len(forged) == 43
    malformed = ["nope", "A" * 42 + "!", "A" * 44, "%00" * 10, "A" * 42 + "%0A"]
    pages = []
    for token in [forged, *malformed]:
        for r in (world.get(f"/s/{token}"), world.post(token, encode(VALID), query="")):
            pages.append(assert_friendly_page(r, 404))
    assert "Link not recognised" in pages[0]
    assert all(p == pages[0] for p in pages), "a forged token must not be told apart from a malformed one"
    assert world.get(f"/s/{forged}?lang=fr").body.decode() != pages[0]  # localised, yet equal per language


def test_a_token_only_ever_opens_its_own_wave(world):
    mine, theirs = world.survey("impact"), world.survey("satisfaction")
    token = mine.token()
    # Whatever the request names, the page is the token's own questionnaire.
    for query in ("", f"?wave={theirs.wave_id}&event={theirs.event_id}", f"?wave_id={theirs.wave_id}"):
        page = world.get(f"/s/{token}{query}")
        assert page.status_code == 200
        assert b"Follow-up survey" in page.body and b"Workshop satisfaction survey" not in page.body
    # The other wave's answers are unknown fields to this link, wherever they claim to go.
    r = world.post(token, encode({**VALID, "wave_id": theirs.wave_id}), query=f"?wave={theirs.wave_id}")
    assert r.status_code == 422
    impact = {
        "content_relevant": "4",
        "applied_in_work": "no",
        "informed_policy_or_research": "3",
        "best_practices": "3",
        "shared_with_colleagues": "yes",
        "kept_contacts": "yes",
    }
    r = world.post(token, encode(impact), query=f"?wave={theirs.wave_id}&event={theirs.event_id}")
    assert r.status_code == 303, r.body
    assert len(responses(mine.wave_id)) == 1
    assert responses(theirs.wave_id) == []
    assert totals(theirs.wave_id).get("f:completed", 0) == 0
    assert totals(mine.wave_id)["f:completed"] == 1
    # Their own link is untouched by ours: it still opens a blank satisfaction form.
    page = world.get(f"/s/{theirs.token()}?lang=en")
    assert b"Workshop satisfaction survey" in page.body and b"checked" not in page.body


# Concurrency ----------------------------------------------------------------------------------------


def test_two_simultaneous_submits_store_one_response_and_count_one_completion(world, monkeypatch, request):
    """Two threads submit the same link at once (the Chalice test client is not thread-safe, so they call the
    use case directly). moto is not thread-safe either: its transactions, and the rollback of the speed-up,
    restore snapshots over a concurrent thread's writes. DynamoDB runs transactions in isolation, so a lock
    gives moto that isolation here; what is tested is the application's conditional writes."""
    from chalicelib import container
    from chalicelib.domain import answering
    from tests.support.machines import isolated_transactions

    isolation = isolated_transactions()
    isolation.__enter__()
    request.addfinalizer(lambda: isolation.__exit__(None, None, None))
    survey = world.survey()
    token = survey.token("maria")
    store = container.store()
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def submit(answer: str) -> None:
        form = {k: [v] for k, v in {**VALID, "mutual_learning": answer}.items()}
        barrier.wait()
        try:
            outcomes.append(answering.submit(store, token, form, now=container.now()).stored)
        except DomainError as exc:  # shown in the assertion below
            outcomes.append(exc)

    threads = [threading.Thread(target=submit, args=(a,)) for a in ("5", "1")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Both are acknowledged: the one that lost the conditional put re-reads and replaces, as an edit.
    assert outcomes == [True, True], outcomes
    stored = responses(survey.wave_id)
    assert len(stored) == 1 and stored[0].version == 2
    counts = totals(survey.wave_id)
    assert counts["f:completed"] == 1
    assert counts["n:mutual_learning"] == 1
    kept = stored[0].answers["mutual_learning"]
    assert counts[f"a:mutual_learning:{kept}"] == 1
    assert sum(v for k, v in counts.items() if k.startswith("a:mutual_learning:")) == 1


# Closed waves, opted-out participants, page weight ---------------------------------------------------


def test_an_edit_after_the_wave_closes_gets_the_410_page(world, monkeypatch):
    from chalicelib import container

    survey = world.survey()
    token = survey.token()
    assert world.post(token, encode(VALID)).status_code == 303
    closes_at = container.store().get_wave(survey.event_id, survey.wave_id).closes_at
    assert closes_at is not None
    monkeypatch.setattr(container, "now", lambda: closes_at + timedelta(seconds=1))
    text = assert_friendly_page(world.post(token, encode({**VALID, "mutual_learning": "1", "_v": "1"})), 410)
    assert "This survey is closed" in text
    assert "This survey is closed" in assert_friendly_page(world.get(f"/s/{token}"), 410)
    fr = assert_friendly_page(world.get(f"/s/{token}?lang=fr"), 410)
    assert 'lang="fr"' in fr and "This survey is closed" not in fr
    stored = responses(survey.wave_id)
    assert len(stored) == 1 and stored[0].answers["mutual_learning"] == "5" and stored[0].version == 1


def test_an_opted_out_participant_gets_a_410_page_that_says_so(world):
    survey = world.survey()
    token = survey.token("amina")
    done = world.client.http.post(f"/u/{token}", headers=FORM, body=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200
    for r in (world.get(f"/s/{token}?lang=en"), world.post(token, encode(VALID))):
        text = assert_friendly_page(r, 410)
        assert "You have unsubscribed" in text and "stop contacting you" in text
    assert responses(survey.wave_id) == []
    assert totals(survey.wave_id).get("f:completed", 0) == 0


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_pages_weigh_under_50_kb(world, impact, lang):
    survey = impact
    token = survey.token()
    form = world.get(f"/s/{token}?lang={lang}")
    errors = world.post(token, encode({"comments": "x"}), query=f"?lang={lang}")
    thanks = world.get(f"/s/{token}/thanks?lang={lang}")
    for r, status in ((form, 200), (errors, 422), (thanks, 200)):
        assert r.status_code == status
        assert len(r.body) < PAGE_LIMIT, len(r.body)
        assert not re.search(rb"(src|href)=\"(https?:)?//", r.body), "no third-party assets"
