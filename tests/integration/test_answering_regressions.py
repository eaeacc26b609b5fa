"""The two faults the answering state machine (test_answering_machine.py) found, pinned as plain tests."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from chalicelib import container
from chalicelib.domain.tokens import hash_token
from tests.support.api import auth, sent_wave
from tests.support.data import FORM
from tests.support.machines import ATTEMPTS, DynamoFaults
from tests.support.mail import link_token


def test_an_erasure_interrupted_after_the_invitations_were_cleared_still_revokes_every_link_when_retried(
    client, tokens, stack
):
    """Found by the machine (interrupted_half_way): the invitations' list of links was cleared before the
    links were deleted, so a retry after a failed delete found nothing to revoke, and the link kept working."""
    sent_wave(client, tokens["admin"], stack)
    token = link_token(stack.ses_messages()[0])
    grant = container.store().get_token(hash_token(token))
    assert grant is not None
    path = f"/admin/participants/{grant.participant_id}"
    faults = DynamoFaults()
    with faults.installed():
        faults.throttle(ATTEMPTS, "ThrottlingException", ("BatchWriteItem",))  # the links' delete fails for good
        failed = client.http.delete(path, headers=auth(tokens["admin"]))
    assert failed.status_code == 503, failed.body
    retried = client.http.delete(path, headers=auth(tokens["admin"]))
    assert retried.status_code == 200 and json.loads(retried.body)["links_revoked"] == 1
    assert client.http.get(f"/s/{token}").status_code == 404


def test_a_submit_whose_link_cannot_be_read_for_throttling_gets_the_busy_page_with_its_answers(client, tokens, stack):
    """Found by the machine: a throttled read (here the token's) was an unhandled error, a 500 page that lost
    the answers; it is now the same 503 page with every answer kept as a throttled transaction gets."""
    sent_wave(client, tokens["admin"], stack)
    token = link_token(stack.ses_messages()[0])
    answers = {"overall": "4", "mutual_learning": "5", "understanding": "2", "cooperation_measures": "3"}
    faults = DynamoFaults()
    with faults.installed():
        faults.throttle(ATTEMPTS, "ProvisionedThroughputExceededException", ("GetItem",))
        r = client.http.post(f"/s/{token}?lang=en", headers=FORM, body=urlencode(answers).encode())
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    for question, value in answers.items():
        assert f'name="{question}" value="{value}" checked'.encode() in r.body
    assert client.http.post(f"/s/{token}", headers=FORM, body=urlencode(answers).encode()).status_code == 303
