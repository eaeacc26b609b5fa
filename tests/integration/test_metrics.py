"""Business metrics as CloudWatch EMF, read from what the real handlers and routes print: emails sent, failed
and suppressed, responses stored, deliveries, bounces and complaints, each flushed by the invocation that
counted it (the SQS sender, the SNS feedback handler, the HTTP middleware)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib import clients
from tests.support.api import event_ending, import_rows, make_wave, participants, send_route
from tests.support.clock import Clock, at
from tests.support.data import ANSWERS, FORM, YEAR, row
from tests.support.emf import emf_metrics
from tests.support.mail import Mailbox, feed_ses_events, link_token, recipient

OK, REFUSED = "metrics.ok@example.org", "metrics.refused@example.org"
BOUNCE, COMPLAINT = "bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com"


@pytest.fixture
def emf(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Reads the EMF printed since the last read, summed by metric name."""
    capsys.readouterr()
    yield lambda: emf_metrics(capsys.readouterr().out)


def send(client: Any, bodies: list[str]) -> list[Any]:
    """Each job through the real SQS handler, one message per invocation (batch_size=1)."""
    return [client.lambda_.invoke("sender", client.events.generate_sqs_event([b])).payload for b in bodies]


def test_given_a_wave_goes_out_and_comes_back_then_every_outcome_is_an_emf_metric(
    client: Any, tokens: dict[str, str], stack: Any, clock: Clock, emf: Any
) -> None:
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row(a) for a in (OK, REFUSED, BOUNCE, COMPLAINT)])
    box = Mailbox(stack)

    # Wave 1: SES accepts three emails and refuses one for good.
    first = make_wave(client, admin, event_id)
    send_route(client, admin, event_id, first)
    address = {p["participant_id"]: email for email, p in participants(client, admin, event_id).items()}
    bodies = {address[json.loads(b)["participant_id"]]: b for b in stack.queue_bodies()}  # jobs carry IDs only
    emf()
    send(client, [bodies[a] for a in (OK, BOUNCE, COMPLAINT)])
    ses = clients.client("ses")
    with Stubber(ses) as stubber:
        stubber.add_client_error("send_raw_email", service_error_code="MessageRejected", service_message="refused")
        send(client, [bodies[REFUSED]])
    assert emf() == {"EmailsSent": 3, "EmailsFailed": 1}

    # SES reports back through SNS.
    accepted = box.new()
    feed_ses_events(client, accepted)
    outcomes = emf()
    assert (outcomes["Bounces"], outcomes["Complaints"]) == (1, 1)
    assert outcomes["Deliveries"] >= 1

    # A participant answers.
    link = link_token(next(m for m in accepted if recipient(m) == OK))
    assert client.http.post(f"/s/{link}", headers=FORM, body=ANSWERS).status_code == 303
    assert emf() == {"ResponsesStored": 1}

    # Wave 2: the bounced and the complaining addresses are suppressed, the others sent.
    second = make_wave(client, admin, event_id)
    send_route(client, admin, event_id, second)
    emf()
    send(client, stack.queue_bodies())
    assert emf() == {"EmailsSent": 2, "EmailsSuppressed": 2}
