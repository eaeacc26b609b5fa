"""Tracing through the real path: the production Tracer (botocore patched, masking emitter) on the X-Ray
SDK's global recorder, the real sender handler, DynamoDB and SES in moto. The documents the recorder would
send to the daemon are kept and read: the handler's subsegment and one per AWS call, and nothing personal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from chalicelib import observability
from tests.support.api import event_ending, import_rows, make_wave, send_route
from tests.support.clock import Clock, at
from tests.support.data import YEAR, row

ADDRESSES = ("traced.one@example.org", "traced.two@example.org")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


@pytest.fixture
def xray(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Tracing on as in Lambda; afterwards botocore is unpatched and the global recorder put back."""
    import botocore.client
    import botocore.endpoint
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core import patcher, xray_recorder
    from aws_xray_sdk.core.context import Context

    saved = (
        botocore.client.BaseClient.__dict__["_make_api_call"],
        botocore.endpoint.Endpoint.__dict__["prepare_request"],
    )
    before = (xray_recorder.context, xray_recorder.emitter, xray_recorder.sampling, xray_recorder.streaming_threshold)
    # Lambda's facade segment is stood in for by one of ours, so the recorder keeps a plain context.
    xray_recorder.configure(context=Context(context_missing="IGNORE_ERROR"), sampling=False)
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setattr(observability, "_tracer", None)
    Tracer._reset_config()
    tracer = observability.tracer()  # the production factory: patches botocore, installs the masking emitter
    sent: list[str] = []
    tracer.provider.emitter._send_data = sent.append
    yield sent
    Tracer._reset_config()
    botocore.client.BaseClient._make_api_call, botocore.endpoint.Endpoint.prepare_request = saved
    if hasattr(botocore.client, "_xray_enabled"):
        delattr(botocore.client, "_xray_enabled")
    patcher._PATCHED_MODULES.discard("botocore")
    xray_recorder.context, xray_recorder.emitter, xray_recorder.sampling, xray_recorder.streaming_threshold = before


def entities(sent: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(entity: dict[str, Any]) -> None:
        found.append(entity)
        for sub in entity.get("subsegments", []):
            walk(sub)

    for message in sent:
        walk(json.loads(message.split("\n", 1)[1]))
    return found


def test_given_active_tracing_when_the_sender_sends_then_each_aws_call_is_traced_and_nothing_personal_is(
    client: Any, tokens: dict[str, str], stack: Any, clock: Clock, xray: list[str]
) -> None:
    from aws_xray_sdk.core import xray_recorder

    xray_recorder.begin_segment("event-feedback-prod")  # stands in for Lambda's facade segment
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row(a) for a in ADDRESSES])
    wave_id = make_wave(client, admin, event_id)
    assert send_route(client, admin, event_id, wave_id)["queued"] == 2
    bodies = stack.queue_bodies()
    for body in bodies:
        payload = client.lambda_.invoke("sender", client.events.generate_sqs_event([body])).payload
        assert payload == {"sent": 1}
    xray_recorder.end_segment()

    traced = entities(xray)
    handlers = [e for e in traced if e["name"] == "## sender"]
    assert len(handlers) == 2
    for handler in handlers:
        assert handler["annotations"]["handler"] == "sender"
        assert (handler["annotations"]["event_id"], handler["annotations"]["wave_id"]) == (event_id, wave_id)
    calls = {(e["name"], e["aws"]["operation"]) for e in traced if e.get("namespace") == "aws"}
    assert {("dynamodb", "TransactWriteItems"), ("email", "SendRawEmail")} <= calls, calls  # email: SES
    routes = {e["annotations"]["route"] for e in traced if e["name"] == "## api"}
    assert "/admin/events/{event_id}/participants" in routes, routes
    assert any(e["name"] == "## cognito_jwt" for e in traced)

    everything = "\n".join(xray)
    for address in ADDRESSES:
        assert address not in everything
        assert address.split("@")[0].replace(".", " ").title() not in everything  # the row's full name
    assert _TOKEN.search(everything) is None
