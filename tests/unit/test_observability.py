"""Tracing and metrics at the handler boundary (chalicelib/observability.py).

With tracing off (tests, ``chalice local``, the pump) the decorators only call the handler and never load the
X-Ray SDK. With tracing on, a real Powertools Tracer records into an X-Ray recorder of the test's own, whose
emitter keeps the documents it would send to the daemon: the tests read those documents, as X-Ray would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.app import Request, Response, SQSEvent
from chalice.test import TestEventsClient as EventsClient

from chalicelib import observability
from chalicelib.observability import count, http_boundary, traced
from tests.support.emf import emf_metrics

EVENT_ID, WAVE_ID = "ev_0123456789ab", "wv_ba9876543210"
TOKEN = "A" * 20 + "-b_" + "c" * 20  # 43 characters, the shape of a personal link's token
PERSONAL = ("amina.diallo@example.org", "Amina Diallo", "Ministry of Labour", TOKEN)
events = EventsClient(None)  # type: ignore[arg-type] - its event generators do not use the app


def send_job_event(**overrides: Any) -> SQSEvent:
    job = {
        "v": 1,
        "event_id": EVENT_ID,
        "wave_id": WAVE_ID,
        "participant_id": "pt_0011223344556677",
        "kind": "invitation",
        "email": "amina.diallo@example.org",
        "name": "Amina Diallo",
        "organisation": "Ministry of Labour",
        "token": TOKEN,
        **overrides,
    }
    return SQSEvent(events.generate_sqs_event([json.dumps(job)]), None)


def ses_event() -> SQSEvent:
    """An SES notification as the feedback queue delivers it (raw: the body is SES's JSON)."""
    notification = {
        "eventType": "Bounce",
        "mail": {
            "destination": ["amina.diallo@example.org"],
            "tags": {"ef-event": [EVENT_ID], "ef-wave": [WAVE_ID], "ef-participant": ["pt_0011223344556677"]},
        },
        "bounce": {"bouncedRecipients": [{"emailAddress": "amina.diallo@example.org"}]},
    }
    return SQSEvent(events.generate_sqs_event([json.dumps(notification)]), None)


def http_request(route: str, path_params: dict[str, str], method: str = "GET") -> Request:
    path = route
    for key, value in path_params.items():
        path = path.replace("{" + key + "}", value)
    return Request(
        {
            "multiValueQueryStringParameters": {"q": ["Amina Diallo"]},
            "headers": {"host": "testserver"},
            "pathParameters": path_params,
            "requestContext": {"httpMethod": method, "resourcePath": route, "path": path},
            "body": None,
            "stageVariables": None,
        }
    )


def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a deployed function with active tracing."""
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.delenv("AWS_CHALICE_CLI_MODE", raising=False)
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")


class Recorded:
    """What the recorder sent: one JSON document per segment or streamed subsegment."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.sent: list[str] = []

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(message.split("\n", 1)[1]) for message in self.sent]

    def subsegments(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []

        def walk(entity: dict[str, Any]) -> None:
            for sub in entity.get("subsegments", []):
                found.append(sub)
                walk(sub)

        for doc in self.documents():
            if doc.get("type") == "subsegment":
                found.append(doc)
            walk(doc)
        return found

    def handler_subsegment(self) -> dict[str, Any]:
        (found,) = [s for s in self.subsegments() if s["name"].startswith("## ")]
        return found


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    """A real Powertools Tracer on a private X-Ray recorder; a segment stands in for Lambda's facade one."""
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core.context import Context
    from aws_xray_sdk.core.recorder import AWSXRayRecorder

    # Made before the Lambda environment is set, or the SDK would take this process for a Lambda sandbox.
    recorder = AWSXRayRecorder()
    lambda_env(monkeypatch)
    recorder.configure(
        sampling=False, context=Context(context_missing="IGNORE_ERROR"), emitter=observability._masking_emitter()
    )
    out = Recorded(recorder)
    recorder.emitter._send_data = out.sent.append  # what would go to the daemon over UDP
    Tracer._reset_config()
    tracer = Tracer(service=observability.SERVICE, disabled=False, auto_patch=False, provider=recorder)
    monkeypatch.setattr(observability, "_tracer", tracer)
    recorder.begin_segment("event-feedback-prod-sender")
    yield out
    if recorder.current_segment() is not None:
        recorder.end_segment()
    Tracer._reset_config()


def finish(out: Recorded) -> None:
    out.recorder.end_segment()


def assert_nothing_personal(out: Recorded) -> None:
    sent = "\n".join(out.sent)
    for value in PERSONAL:
        assert value not in sent, f"{value!r} reached the trace"
    assert "amina" not in sent.lower()


# --- tracing off -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"POWERTOOLS_TRACE_DISABLED": "1", "LAMBDA_TASK_ROOT": "/var/task"},  # what the tests and the pump set
        {"POWERTOOLS_TRACE_DISABLED": "", "LAMBDA_TASK_ROOT": ""},  # not in Lambda
        {"POWERTOOLS_TRACE_DISABLED": "", "LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "1"},
    ],
    ids=["disabled", "outside-lambda", "chalice-local"],
)
def test_given_tracing_off_when_handlers_run_then_they_run_unchanged_and_no_tracer_is_made(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def no_tracer() -> None:
        raise AssertionError("the X-Ray SDK was loaded with tracing off")

    monkeypatch.setattr(observability, "_new_tracer", no_tracer)
    monkeypatch.setattr(observability, "_tracer", None)
    seen: list[Any] = []

    def sender(event: Any) -> dict[str, int]:
        seen.append(event)
        return {"sent": 1}

    traced_sender = traced(sender)
    event = send_job_event()
    assert traced_sender(event) == {"sent": 1}
    assert seen == [event] and traced_sender.__name__ == "sender"

    boom = ValueError("kept as it is")

    @traced
    def failing(event: Any) -> None:
        raise boom

    with pytest.raises(ValueError) as raised:
        failing(event)
    assert raised.value is boom

    page = Response(body="ok", status_code=200)
    assert http_boundary(http_request("/s/{token}", {"token": TOKEN}), lambda request: page) is page
    assert observability._tracer is None


# --- tracing on ------------------------------------------------------------------------------------------


def test_given_tracing_on_when_the_sender_runs_then_its_subsegment_names_the_handler_and_ids_only(
    recorded: Recorded,
) -> None:
    @traced
    def sender(event: Any) -> dict[str, int]:
        return {"sent": 1}

    assert sender(send_job_event()) == {"sent": 1}
    finish(recorded)

    subsegment = recorded.handler_subsegment()
    assert subsegment["name"] == "## sender"
    assert subsegment["annotations"] == {
        "ColdStart": subsegment["annotations"]["ColdStart"],
        "Service": "event-feedback",
        "handler": "sender",
        "event_id": EVENT_ID,
        "wave_id": WAVE_ID,
    }
    assert "metadata" not in subsegment  # no response captured: it can hold anything
    assert_nothing_personal(recorded)


def test_given_tracing_on_when_ses_feedback_runs_then_the_ids_come_from_the_message_tags(
    recorded: Recorded,
) -> None:
    @traced
    def ses_feedback(event: Any) -> list[str]:
        return ["bounced"]

    ses_feedback(ses_event())
    finish(recorded)

    annotations = recorded.handler_subsegment()["annotations"]
    assert (annotations["handler"], annotations["event_id"], annotations["wave_id"]) == (
        "ses_feedback",
        EVENT_ID,
        WAVE_ID,
    )
    assert_nothing_personal(recorded)


def test_given_ids_that_are_not_ours_when_traced_then_they_are_not_annotated(recorded: Recorded) -> None:
    @traced
    def sender(event: Any) -> None:
        return None

    sender(send_job_event(event_id="amina.diallo@example.org", wave_id=TOKEN))
    finish(recorded)

    annotations = recorded.handler_subsegment()["annotations"]
    assert "event_id" not in annotations and "wave_id" not in annotations
    assert_nothing_personal(recorded)


def test_given_tracing_on_when_a_handler_raises_then_the_fault_and_type_are_recorded_but_not_the_message(
    recorded: Recorded,
) -> None:
    @traced
    def sender(event: Any) -> None:
        raise RuntimeError("SES refused amina.diallo@example.org (Amina Diallo)")

    with pytest.raises(RuntimeError):
        sender(send_job_event())
    finish(recorded)

    subsegment = recorded.handler_subsegment()
    assert subsegment.get("fault") is True
    assert subsegment["annotations"]["error"] == "RuntimeError"
    assert "cause" not in subsegment  # the SDK's context manager would keep the message and the stack
    assert_nothing_personal(recorded)


def test_given_tracing_on_when_a_participant_page_is_served_then_the_route_pattern_is_annotated_not_the_path(
    recorded: Recorded,
) -> None:
    request = http_request("/s/{token}", {"token": TOKEN}, method="POST")
    response = http_boundary(request, lambda r: Response(body="<p>Amina Diallo</p>", status_code=303))
    assert response.status_code == 303
    finish(recorded)

    subsegment = recorded.handler_subsegment()
    assert subsegment["name"] == "## api"
    annotations = subsegment["annotations"]
    assert (annotations["route"], annotations["method"], annotations["status"]) == ("/s/{token}", "POST", 303)
    assert "error" not in subsegment and "fault" not in subsegment
    assert_nothing_personal(recorded)


@pytest.mark.parametrize(("status", "flag"), [(404, "error"), (429, "throttle"), (503, "fault")])
def test_given_tracing_on_when_a_route_answers_an_error_then_the_subsegment_is_flagged(
    recorded: Recorded, status: int, flag: str
) -> None:
    request = http_request("/admin/events/{event_id}/waves/{wave_id}/send", {"event_id": EVENT_ID, "wave_id": WAVE_ID})
    http_boundary(request, lambda r: Response(body="{}", status_code=status))
    finish(recorded)

    subsegment = recorded.handler_subsegment()
    assert subsegment.get(flag) is True
    assert subsegment["annotations"]["event_id"] == EVENT_ID
    assert subsegment["annotations"]["wave_id"] == WAVE_ID


def test_masking_emitter_masks_what_the_xray_sdk_records_by_itself() -> None:
    """A ClientError's message can quote an address (SES's MessageRejected does); the patched botocore
    records it on the call's subsegment, so every document is masked on its way out."""

    class Entity:
        def serialize(self) -> str:
            return json.dumps(
                {
                    "name": "ses",
                    "cause": {"exceptions": [{"message": "Email address is not verified: amina.diallo@example.org"}]},
                    "http": {"request": {"url": f"https://surveys.example.org/s/{TOKEN}"}},
                    "metadata": {"token": TOKEN},
                }
            )

    emitter = observability._masking_emitter()
    sent: list[str] = []
    emitter._send_data = sent.append
    emitter.send_entity(Entity())

    header, document = sent[0].split("\n", 1)
    assert json.loads(header) == {"format": "json", "version": 1}
    masked = json.loads(document)  # still valid JSON
    assert masked["cause"]["exceptions"][0]["message"] == "Email address is not verified: <email>"
    assert masked["http"]["request"]["url"] == "https://surveys.example.org/s/<token>"
    assert masked["metadata"]["token"] == "<token>"


def test_the_tracer_patches_botocore_only_and_masks_its_emitter(monkeypatch: pytest.MonkeyPatch) -> None:
    import aws_lambda_powertools

    made: dict[str, Any] = {}

    class Provider:
        def configure(self, **kwargs: Any) -> None:
            made["configure"] = kwargs

    class FakeTracer:
        def __init__(self, **kwargs: Any) -> None:
            made["tracer"] = kwargs
            self.provider = Provider()

    monkeypatch.setattr(aws_lambda_powertools, "Tracer", FakeTracer)
    observability._new_tracer()
    assert made["tracer"] == {"service": "event-feedback", "patch_modules": ["botocore"]}
    assert type(made["configure"]["emitter"]).__name__ == "MaskingEmitter"


# --- metrics ---------------------------------------------------------------------------------------------


def test_given_a_route_counted_something_when_it_answers_then_the_metric_is_flushed_as_emf(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def view(request: Any) -> Response:
        count("ResponsesStored")
        return Response(body="", status_code=303)

    http_boundary(http_request("/s/{token}", {"token": TOKEN}, method="POST"), view)
    assert emf_metrics(capsys.readouterr().out) == {"ResponsesStored": 1}
    # Flushed once per request: the next request starts from nothing.
    http_boundary(http_request("/health", {}), lambda r: Response(body="{}", status_code=200))
    assert emf_metrics(capsys.readouterr().out) == {}
