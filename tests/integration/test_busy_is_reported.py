"""A busy store tells ops why (issue 13, defect 9): when DynamoDB's throttling or a cancelled transaction makes
the store answer "busy" (a 503 for the participant or the admin), one warning names the store operation, the
DynamoDB operation, the error code and, for a transaction, which items were refused, never a key; and the
``DatabaseBusy`` metric counts it."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib import observability
from chalicelib.adapters.store import base
from tests.support.api import sent_wave
from tests.support.data import FORM
from tests.support.machines import ATTEMPTS, DynamoFaults
from tests.support.mail import link_token

ANSWERS = {"overall": "4", "mutual_learning": "5", "understanding": "2", "cooperation_measures": "3"}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = observability.count
    monkeypatch.setattr(observability, "count", lambda name, value=1: (seen.append(name), real(name, value)))
    return seen


def busy_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        r.__dict__ for r in caplog.records if r.getMessage() == "the database is busy" and r.levelno == logging.WARNING
    ]


def test_a_throttled_read_is_logged_with_its_operation_and_code(client, tokens, stack, caplog, counted):
    sent_wave(client, tokens["admin"], stack)
    token = link_token(stack.ses_messages()[0])
    faults = DynamoFaults()
    with faults.installed(), caplog.at_level(logging.WARNING):
        faults.throttle(ATTEMPTS, "ProvisionedThroughputExceededException", ("GetItem",))
        r = client.http.post(f"/s/{token}", headers=FORM, body=urlencode(ANSWERS).encode())
    assert r.status_code == 503
    (record,) = busy_records(caplog)
    assert record["store_operation"] == "get_token"
    assert record["dynamodb_operation"] == "GetItem"
    assert record["error_code"] == "ProvisionedThroughputExceededException"
    assert counted.count("DatabaseBusy") == 1
    assert token not in json.dumps(record, default=str)


def test_a_cancelled_transaction_names_the_items_it_could_not_write(client, tokens, stack, caplog, counted):
    """Once every attempt the store makes was cancelled (issue 17: a cancelled transaction is tried again)."""
    sent_wave(client, tokens["admin"], stack)
    token = link_token(stack.ses_messages()[0])
    faults = DynamoFaults()
    with faults.installed(), caplog.at_level(logging.WARNING):
        faults.throttle(base.TX_ATTEMPTS, "TransactionCanceledException", ("TransactWriteItems",))
        r = client.http.post(f"/s/{token}", headers=FORM, body=urlencode(ANSWERS).encode())
    assert r.status_code == 503
    (record,) = busy_records(caplog)
    assert record["store_operation"] == "store_response"
    assert record["dynamodb_operation"] == "TransactWriteItems"
    assert record["error_code"] == "ThrottlingError"
    assert record["items"] and set(record["items"]) <= {"response", "invitation", "aggregate", "wave", "token"}
    assert counted.count("DatabaseBusy") == 1
    assert counted.count("TransactionConflictRetries") == base.TX_ATTEMPTS - 1
    assert counted.count("TransactionConflictGaveUp") == 1
    (gave_up,) = [r.__dict__ for r in caplog.records if r.getMessage() == "transaction cancelled, giving up"]
    assert gave_up["attempt"] == base.TX_ATTEMPTS and gave_up["codes"] == ["ThrottlingError"]
    assert token not in json.dumps(gave_up, default=str)


def test_a_transaction_cancelled_once_is_tried_again_and_stored(client, tokens, stack, caplog, counted):
    sent_wave(client, tokens["admin"], stack)
    token = link_token(stack.ses_messages()[0])
    faults = DynamoFaults()
    with faults.installed(), caplog.at_level(logging.INFO):
        faults.throttle(1, "TransactionCanceledException", ("TransactWriteItems",))
        r = client.http.post(f"/s/{token}", headers=FORM, body=urlencode(ANSWERS).encode())
    assert r.status_code == 303
    assert counted.count("TransactionConflictRetries") == 1 and "DatabaseBusy" not in counted
    (retry,) = [r.__dict__ for r in caplog.records if r.getMessage() == "transaction cancelled, trying again"]
    assert retry["attempt"] == 1 and retry["wave_id"].startswith("wv_")
