"""The app's log records reach the suite's personal-data scan: Chalice does not take over the app logger
(it shares its name with Powertools' logger), so INFO records propagate to pytest's capture."""

from __future__ import annotations

import logging

import pytest


def test_the_app_logger_stays_powertools_and_propagates(caplog: pytest.LogCaptureFixture) -> None:
    import app
    from chalicelib.observability import logger

    # With configure_logs on, Chalice adds its own handler whenever the existing one writes to another
    # stream than the current sys.stdout (as under pytest's capture), then sets ERROR and stops propagation.
    assert app.app.configure_logs is False

    shared = logging.getLogger("event-feedback")
    assert shared.propagate and shared.getEffectiveLevel() <= logging.INFO
    with caplog.at_level(logging.INFO):
        logger.info("probe record", extra={"event_id": "ev_0"})
    assert any(r.getMessage() == "probe record" for r in caplog.records)
