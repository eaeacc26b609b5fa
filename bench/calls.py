"""Figures 1 and 2: AWS calls per stored response (through the real HTTP view) and per sent invitation."""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bench.meter import Meter, Window
from bench.stack import create_event_and_wave, dispatch_all, moto_stack, send_now, survey_tokens, utcnow

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
SEND_JOBS = 50


@dataclass
class ResponseCalls:
    first: Window
    edit: Window
    stale_edit: Window
    form_view: Window


@dataclass
class SendCalls:
    emails: int
    send: Window
    dispatch: Window
    outcomes: dict[str, int]


def _form(seed: int, *, version: int | None = None, page: Any = None) -> bytes:
    """Random answers; with ``page``, the hidden fields of that rendered form too, as a browser sends them."""
    from devstack.seed import answers

    fields: dict[str, list[str]] = dict(answers(random.Random(seed)))
    if version is not None:
        fields["_v"] = [str(version)]
    if page is not None:
        text = page.body.decode() if isinstance(page.body, bytes) else str(page.body)
        for name, value in re.findall(r'<input type="hidden" name="(_v|_p)" value="([^"]*)"', text):
            fields[name] = [html.unescape(value)]
    return urlencode(fields, doseq=True).encode()


def response_calls(meter: Meter) -> ResponseCalls:
    """POST /s/{token} through ``chalice.test.Client``: a first answer, an edit, and an edit from a stale form."""
    from chalice.test import Client

    from app import app
    from chalicelib.jobs.handlers import send_records

    with moto_stack() as stack, Client(app, stage_name="local") as client:
        now = utcnow()
        wave = create_event_and_wave(stack, 5, now=now)
        send_now(stack, wave, now=now)
        dispatch_all(stack, now=now)
        send_records(stack.queue_bodies())
        token, other = survey_tokens(stack.ses_messages())[:2]
        path = f"/s/{token}"

        client.http.get(path)  # the participant opens the form first (marks it opened)
        with meter.window() as first:
            reply = client.http.post(path, headers=FORM_HEADERS, body=_form(1))
        _expect(reply, 303, "first answer")

        page = client.http.get(path)  # the form now shows the stored answers, version 1, and their sealed copy
        with meter.window() as edit:
            reply = client.http.post(path, headers=FORM_HEADERS, body=_form(2, page=page))
        _expect(reply, 303, "edit")

        # A form opened before the edit (another tab) says version 0: the first-submit path fails on its
        # condition, the stored answers are read, and the edit is retried.
        with meter.window() as stale:
            reply = client.http.post(path, headers=FORM_HEADERS, body=_form(3))
        _expect(reply, 303, "stale edit")

        with meter.window() as view:
            reply = client.http.get(f"/s/{other}")
        _expect(reply, 200, "form view")

        stored = list(stack.store.list_responses(wave.wave_id))
        if len(stored) != 1 or stored[0].version != 3:
            raise RuntimeError(f"expected one response at version 3, found {[r.version for r in stored]}")
    return ResponseCalls(first, edit, stale, view)


def send_calls(meter: Meter, jobs: int = SEND_JOBS) -> SendCalls:
    """``send_records`` on ``jobs`` queued invitations: the sender Lambda's work, metered."""
    from chalicelib.jobs.handlers import send_records

    with moto_stack() as stack:
        now = utcnow()
        wave = create_event_and_wave(stack, jobs, now=now)
        send_now(stack, wave, now=now)
        with meter.window() as dispatch:
            queued = dispatch_all(stack, now=now)
        bodies = stack.queue_bodies()
        if queued != jobs or len(bodies) != jobs:
            raise RuntimeError(f"expected {jobs} queued jobs, found {queued} queued and {len(bodies)} on the queue")
        with meter.window() as send:
            outcomes = send_records(bodies)
        sent = len(stack.ses_messages())
        if outcomes != {"sent": jobs} or sent != jobs:
            raise RuntimeError(f"send_records: {outcomes}, SES accepted {sent}")
    return SendCalls(jobs, send, dispatch, outcomes)


def _expect(reply: object, status: int, what: str) -> None:
    got = getattr(reply, "status_code", None)
    if got != status:
        body = getattr(reply, "body", b"")
        raise RuntimeError(f"{what}: HTTP {got}, expected {status}: {body[:300]!r}")
