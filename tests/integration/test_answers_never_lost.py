"""Nothing typed is ever lost (issue 17): whatever stops a submit from being stored, the participant gets the
form back with every value they entered and a short "please send again" in their language, on every path:
the transaction gives up, the link cannot be read (before or after), the questionnaire cannot be read either,
an unexpected error, and a form with a mistake whose page cannot be read again."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib import container
from chalicelib.adapters.store import DynamoStore, base
from chalicelib.domain import answering, catalogue
from chalicelib.domain.errors import TemporarilyUnavailable
from tests.support.api import sent_wave
from tests.support.data import FORM
from tests.support.machines import ATTEMPTS, DynamoFaults
from tests.support.mail import link_token

ANSWERS = {
    "overall": "4",
    "mutual_learning": "5",
    "understanding": "2",
    "cooperation_measures": "3",
    "comments": "Très utile, merci",
}
FRENCH_AGAIN = "Nous n’avons pas pu enregistrer vos réponses"


@pytest.fixture
def link(client: Any, tokens: dict[str, str], stack: Any) -> str:
    sent_wave(client, tokens["admin"], stack)
    return link_token(stack.ses_messages()[0])


def page_of(r: Any) -> str:
    return html.unescape(r.body.decode())


def french_again(text: str) -> bool:
    return any(phrase in text for phrase in (FRENCH_AGAIN, FRENCH_AGAIN.replace("’", "'")))


def assert_form_kept(r: Any, status: int) -> str:
    """The survey form, each answer as entered, the French "please send again", no traceback."""
    text = page_of(r)
    assert r.status_code == status, (r.status_code, text[:300])
    for question, value in ANSWERS.items():
        if question == "comments":
            assert re.search(r"<textarea[^>]*name=\"comments\"[^>]*>Très utile, merci</textarea>", text), text
        else:
            assert f'name="{question}" value="{value}" checked' in text, question
    assert french_again(text), text[:600]
    assert 'lang="fr"' in text
    for word in ("Traceback", "botocore", "pynamodb", "Exception"):
        assert word not in text
    return text


def post(client: Any, link: str, fields: dict[str, str] | list[tuple[str, str]]) -> Any:
    return client.http.post(f"/s/{link}?lang=fr", headers=FORM, body=urlencode(fields).encode())


def form_fields(client: Any, link: str) -> list[tuple[str, str]]:
    """What the browser would post: the page's hidden fields and the answers."""
    page = page_of(client.http.get(f"/s/{link}?lang=fr"))
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return [*hidden, *ANSWERS.items()]


def responses() -> list[Any]:
    store = container.store()
    return [r for wave in _waves() for r in store.list_responses(wave)]


def _waves() -> list[str]:
    store = container.store()
    return [w.wave_id for e in store.list_events() for w in store.list_waves(e.event_id)]


def test_a_transaction_that_gives_up_shows_the_form_with_every_value(client, link):
    fields = form_fields(client, link)
    faults = DynamoFaults()
    with faults.installed():
        faults.throttle(base.TX_ATTEMPTS, "TransactionCanceledException", ("TransactWriteItems",))
        r = post(client, link, fields)
    assert_form_kept(r, 503)
    assert r.headers["Retry-After"] == "30"
    assert responses() == []
    assert post(client, link, form_fields(client, link)).status_code == 303


def test_a_link_unreadable_before_and_after_shows_the_form_of_the_questionnaire_the_page_named(client, link):
    fields = form_fields(client, link)
    faults = DynamoFaults()
    with faults.installed():
        # The submit's token read and the busy page's read of the link both fail for good.
        faults.throttle(ATTEMPTS * 2, "ProvisionedThroughputExceededException", ("GetItem",))
        r = post(client, link, fields)
    assert_form_kept(r, 503)
    assert responses() == []
    assert post(client, link, fields).status_code == 303


def test_a_store_that_fails_once_the_answers_are_checked_keeps_them_when_the_link_then_fails_too(
    client, link, monkeypatch
):
    fields = form_fields(client, link)

    def busy(*_: Any, **__: Any) -> Any:
        raise TemporarilyUnavailable("the database is busy; try again")

    monkeypatch.setattr(DynamoStore, "store_response", busy)
    real_open = answering.open_survey
    monkeypatch.setattr(answering, "open_survey", busy)
    assert_form_kept(post(client, link, fields), 503)
    monkeypatch.setattr(answering, "open_survey", real_open)
    monkeypatch.undo()
    assert post(client, link, fields).status_code == 303


def test_when_nothing_can_be_read_the_page_carries_every_field_and_sends_them_again_as_they_came(
    client, link, monkeypatch
):
    fields = form_fields(client, link)

    def busy(*_: Any, **__: Any) -> Any:
        raise TemporarilyUnavailable("the database is busy; try again")

    with monkeypatch.context() as patch:
        patch.setattr(DynamoStore, "store_response", busy)
        patch.setattr(answering, "open_survey", busy)
        patch.setattr(catalogue, "resolve", busy)
        r = post(client, link, fields)
    text = page_of(r)
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert french_again(text) and 'lang="fr"' in text
    carried = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text)
    assert sorted(carried) == sorted(fields)
    assert f'action="/s/{link}?lang=fr"' in text
    assert "Très utile, merci" in text  # shown, so the person sees it is kept
    # Sent again as it is (what the button does), it is stored.
    assert post(client, link, carried).status_code == 303
    (stored,) = responses()
    assert stored.answers["comments"] == "Très utile, merci" and stored.answers["overall"] == "4"


def test_an_unexpected_error_keeps_the_answers_and_logs_no_personal_data(client, link, monkeypatch, caplog):
    fields = form_fields(client, link)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a defect")

    with monkeypatch.context() as patch:
        patch.setattr(DynamoStore, "store_response", broken)
        r = post(client, link, fields)
    assert_form_kept(r, 500)
    assert "a defect" not in page_of(r)
    assert link not in caplog.text and "Très utile" not in caplog.text
    assert post(client, link, fields).status_code == 303


def test_a_form_with_a_mistake_shows_its_errors_and_values_even_when_the_page_cannot_be_read_again(
    client, link, monkeypatch
):
    fields = [(k, v) for k, v in form_fields(client, link) if k != "overall"]  # a required answer missing

    def busy(*_: Any, **__: Any) -> Any:
        raise TemporarilyUnavailable("the database is busy; try again")

    with monkeypatch.context() as patch:
        patch.setattr(answering, "open_survey", busy)
        r = post(client, link, fields)
    text = page_of(r)
    assert r.status_code == 422
    assert 'aria-invalid="true"' in text or 'id="e-overall"' in text
    assert 'name="mutual_learning" value="5" checked' in text and "Très utile, merci" in text
