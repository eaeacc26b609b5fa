"""The sender cannot outrun SES: its reserved concurrency times each instance's pace stays within the quota.

Each sender instance paces itself to ``EF_SES_MAX_SEND_RATE`` (adapters/mailer.py), and Chalice runs at most
``reserved_concurrency`` instances, so the whole account sends at most their product per second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.settings import load_settings

CONFIG = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text(encoding="utf-8"))
# SES's sending quotas a new account gets: 1 email/s in the sandbox (dev), 14/s once out of it (prod). An
# account granted more raises EF_SES_MAX_SEND_RATE to its quota divided by the reserved concurrency (runbook).
SES_QUOTA = {"dev": 1.0, "prod": 14.0}


def test_the_sender_has_a_reserved_concurrency() -> None:
    sender = CONFIG["lambda_functions"]["sender"]
    assert isinstance(sender.get("reserved_concurrency"), int) and sender["reserved_concurrency"] >= 1


@pytest.mark.parametrize("stage", sorted(SES_QUOTA))
def test_concurrency_times_pace_stays_within_the_ses_quota(stage: str) -> None:
    concurrency = CONFIG["lambda_functions"]["sender"]["reserved_concurrency"]
    rate = float(CONFIG["stages"][stage]["environment_variables"]["EF_SES_MAX_SEND_RATE"])
    assert concurrency * rate <= SES_QUOTA[stage], f"{stage}: {concurrency} × {rate}/s exceeds {SES_QUOTA[stage]}/s"


def test_the_default_pace_is_safe_for_the_default_quota() -> None:
    concurrency = CONFIG["lambda_functions"]["sender"]["reserved_concurrency"]
    assert concurrency * load_settings({"EF_STAGE": "test"}).ses_max_send_rate <= SES_QUOTA["prod"]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_pacer_spaces_sends_evenly_and_saves_no_burst_while_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.adapters import mailer

    clock = _Clock()
    monkeypatch.setattr(mailer.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(mailer.time, "sleep", clock.sleep)
    pacer = mailer.SendPacer(4.0)
    for _ in range(3):
        pacer.wait()
    assert clock.slept == [0.25, 0.25]  # the first goes at once, the others a quarter second apart
    clock.now += 60  # a minute idle saves up nothing: the next two are still spaced
    pacer.wait()
    pacer.wait()
    assert clock.slept == [0.25, 0.25, 0.25]
