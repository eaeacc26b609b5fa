"""An edit costs what a first answer costs (the token read and one transaction): the edit form carries a
sealed copy of the stored answers, so the counters move from it without reading them again. A copy that is
forged, someone else's or stale is never trusted: the edit reads the stored answers, and the counters still
equal a recount."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.client import BaseClient

from tests.support.api import auth, body, sent_wave
from tests.support.mail import link_token

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BASE = {"overall": "4", "understanding": "4", "cooperation_measures": "4"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every AWS operation the app calls, PynamoDB's included (they all go through ``_make_api_call``)."""
    seen: list[str] = []
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        seen.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    yield seen


def hidden(page: Any) -> dict[str, str]:
    text = page.body.decode()
    return {name: html.unescape(value) for name, value in re.findall(r'name="(_v|_p)" value="([^"]*)"', text)}


def answer(client: Any, token: str, mutual_learning: str, **extra: str) -> Any:
    fields = {**BASE, "mutual_learning": mutual_learning, **extra}
    return client.http.post(f"/s/{token}", headers=FORM, body=urlencode(fields).encode())


def recount_ok(client: Any, admin: str, event_id: str, wave_id: str) -> None:
    report = body(client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/recount", headers=auth(admin)))
    assert report["ok"], report["mismatches"]


def stored_votes(client: Any, admin: str, event_id: str, wave_id: str) -> dict[str, int]:
    from chalicelib import container

    totals: dict[str, int] = {}
    for counters in container.store().read_cells(wave_id, "language").values():
        for key, value in counters.items():
            if key.startswith("a:mutual_learning:"):
                totals[key] = totals.get(key, 0) + value
    return {k: v for k, v in totals.items() if v}


def test_an_edit_from_the_form_costs_two_calls(client, tokens, stack, calls):
    admin = tokens["admin"]
    event_id, wave_id = sent_wave(client, admin, stack)
    token = link_token(stack.ses_messages()[0])
    assert answer(client, token, "5").status_code == 303
    form = hidden(client.http.get(f"/s/{token}"))
    assert form["_v"] == "1" and form["_p"]
    calls.clear()
    assert answer(client, token, "1", **form).status_code == 303
    assert calls == ["GetItem", "TransactWriteItems"]
    assert stored_votes(client, admin, event_id, wave_id) == {"a:mutual_learning:1": 1}
    recount_ok(client, admin, event_id, wave_id)

    # The next form carries version 2, and so on.
    form = hidden(client.http.get(f"/s/{token}"))
    assert form["_v"] == "2"
    calls.clear()
    assert answer(client, token, "3", **form).status_code == 303
    assert calls == ["GetItem", "TransactWriteItems"]
    assert stored_votes(client, admin, event_id, wave_id) == {"a:mutual_learning:3": 1}


def test_a_forged_copy_is_not_trusted(client, tokens, stack, calls):
    admin = tokens["admin"]
    event_id, wave_id = sent_wave(client, admin, stack)
    token = link_token(stack.ses_messages()[0])
    assert answer(client, token, "5").status_code == 303
    form = hidden(client.http.get(f"/s/{token}"))
    sealed, _, mac = form["_p"].rpartition(".")
    data = json.loads(base64.urlsafe_b64decode(sealed))
    data["a"]["mutual_learning"] = "2"  # claims a 2 was stored, to take a vote away from 2
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode() + "." + mac
    calls.clear()
    assert answer(client, token, "1", _v=form["_v"], _p=forged).status_code == 303
    assert calls == ["GetItem", "GetItem", "TransactWriteItems"]  # the stored answers are read instead
    assert stored_votes(client, admin, event_id, wave_id) == {"a:mutual_learning:1": 1}
    recount_ok(client, admin, event_id, wave_id)


def test_another_persons_copy_is_not_trusted(client, tokens, stack):
    admin = tokens["admin"]
    event_id, wave_id = sent_wave(client, admin, stack)
    mine, theirs = (link_token(m) for m in stack.ses_messages()[:2])
    assert answer(client, mine, "5").status_code == 303
    assert answer(client, theirs, "4").status_code == 303
    their_form = hidden(client.http.get(f"/s/{theirs}"))
    assert answer(client, mine, "1", **their_form).status_code == 303
    assert stored_votes(client, admin, event_id, wave_id) == {"a:mutual_learning:1": 1, "a:mutual_learning:4": 1}
    recount_ok(client, admin, event_id, wave_id)


def test_a_stale_copy_from_another_tab_is_caught_by_the_version(client, tokens, stack):
    admin = tokens["admin"]
    event_id, wave_id = sent_wave(client, admin, stack)
    token = link_token(stack.ses_messages()[0])
    assert answer(client, token, "5").status_code == 303
    first_tab = hidden(client.http.get(f"/s/{token}"))
    second_tab = hidden(client.http.get(f"/s/{token}"))
    assert answer(client, token, "2", **second_tab).status_code == 303
    # The first tab still holds version 1 and its copy: the transaction's version check refuses it, the
    # stored answers (version 2) are read, and the edit applies once.
    assert answer(client, token, "1", **first_tab).status_code == 303
    assert stored_votes(client, admin, event_id, wave_id) == {"a:mutual_learning:1": 1}
    recount_ok(client, admin, event_id, wave_id)
    from chalicelib import container

    assert [r.version for r in container.store().list_responses(wave_id)] == [3]


def test_an_invalid_edit_keeps_the_copy_for_the_next_try(client, tokens, stack, calls):
    admin = tokens["admin"]
    sent_wave(client, admin, stack)
    token = link_token(stack.ses_messages()[0])
    assert answer(client, token, "5").status_code == 303
    form = hidden(client.http.get(f"/s/{token}"))
    bad = answer(client, token, "9", **form)
    assert bad.status_code == 422 and hidden(bad) == form
    calls.clear()
    assert answer(client, token, "2", **hidden(bad)).status_code == 303
    assert calls == ["GetItem", "TransactWriteItems"]
