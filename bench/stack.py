"""The app's stack in-process: moto, the resources of ``infra/template.json``, and the app's settings.

Same approach as ``tests/integration/conftest.py`` (the stack and its ``app_env`` are tests/support/stack.py's),
plus the few steps of the whole path that the scenarios share: an event with its registration list, a satisfaction wave,
"send now", the scheduler, the sender, and the personal links read back from the mail SES accepted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.mail import parsed, token_of
from tests.support.stack import REGION, SENDER, clear_outbox
from tests.support.stack import Stack as SupportStack

# What every bench process needs before the app or moto is imported: fake credentials (nothing may
# reach a real endpoint), and quiet Powertools (its logs and EMF metrics go to stdout).
PROCESS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_METRICS_NAMESPACE": "EventFeedback",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "1",
}
PROCESS_ENV_DROPPED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "EF_ENDPOINT_URL")


def prepare_process() -> None:
    os.environ.update(PROCESS_ENV)
    for key in PROCESS_ENV_DROPPED:
        os.environ.pop(key, None)


class Stack(SupportStack):
    """The tests' stack (outbox, send queue), with the app's store and settings and a count of stored items."""

    @property
    def store(self) -> Any:
        from chalicelib import container

        return container.store()

    @property
    def settings(self) -> Any:
        from chalicelib import container

        return container.settings()

    def table_count(self, logical: str) -> int:
        """Items stored in one table, read from moto's backend (not a DynamoDB request)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[self.settings.table(logical)]
        return sum(1 for _ in table.all_items())


@contextmanager
def moto_stack() -> Iterator[Stack]:
    """A fresh in-process moto with every resource of the template, and the app pointed at it."""
    from moto import mock_aws

    from chalicelib import container
    from chalicelib.settings import reset_settings
    from devstack.provision import provision
    from tests.support.stack import app_env

    with mock_aws():
        clear_outbox()
        outputs = provision(None, region=REGION, prefix="event-feedback", sender=SENDER)
        env = app_env(outputs)
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        reset_settings()
        container.reset()
        try:
            yield Stack(outputs, env)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            reset_settings()
            container.reset()


@dataclass
class Wave:
    event_id: str
    wave_id: str


def create_event_and_wave(stack: Stack, participants: int, *, now: datetime) -> Wave:
    """An event that ended two days ago, ``participants`` registered, and a satisfaction wave."""
    from chalicelib.domain import events, planning, waves
    from devstack.seed import registration_csv

    store, settings = stack.store, stack.settings
    ends = (now - timedelta(days=2)).date()
    event = events.create_event(
        store,
        {
            "title": "International Dialogue on Migration (benchmark)",
            "starts_on": (ends - timedelta(days=1)).isoformat(),
            "ends_on": ends.isoformat(),
            "timezone": "Europe/Zurich",
            "languages": ["en", "fr", "es"],
        },
        now,
    )
    if participants:
        report = planning.import_participants(
            store,
            event.event_id,
            registration_csv(participants),
            secret=settings.pseudonym_secret,
            panel_secret=settings.panel_secret,
            now=now,
        )
        if report.imported != participants or report.rejected:
            raise RuntimeError(f"registration import: {report.view()}")
    wave = waves.create_wave(
        store,
        event.event_id,
        {
            "questionnaire": "satisfaction",
            "opens": {"after_event_days": 1, "local_time": "09:00"},
            "reminders_after_days": [7],
            "closes": {"after_open_days": 30},
        },
        panel_secret=settings.panel_secret,
        now=now,
    )
    return Wave(event.event_id, wave.wave_id)


def send_now(stack: Stack, wave: Wave, *, now: datetime) -> None:
    from chalicelib.domain import waves

    waves.send_now(stack.store, wave.event_id, wave.wave_id, panel_secret=stack.settings.panel_secret, now=now)


def dispatch_all(stack: Stack, *, now: datetime) -> int:
    """Run the scheduler's work until nothing is due; returns how many emails it queued."""
    from chalicelib import container
    from chalicelib.domain import distribution

    queued = 0
    while True:
        report = distribution.dispatch_due(
            stack.store, container.send_queue(), now, limit=stack.settings.schedule_batch
        )
        queued += report.enqueued
        if not report.enqueued and not report.skipped:
            return queued


def survey_tokens(messages: list[Any]) -> list[str]:
    """The personal link's token in each accepted email (from its plain-text part)."""
    return [token_of(parsed(message)) for message in messages]


def utcnow() -> datetime:
    return datetime.now(UTC)
