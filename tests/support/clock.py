"""The application's clock, frozen and movable.

Time is moved by replacing ``container.now`` (every handler and route reads the clock there), never by freezing
the process clock, so moto, botocore and the Cognito tokens keep the real time. The ``clock`` fixture
(tests/integration/conftest.py) installs one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass
class Clock:
    """The application's clock: ``container.now`` returns ``now``."""

    now: datetime


def at(day: date, hhmm: str = "00:00") -> datetime:
    """A UTC instant."""
    return datetime(day.year, day.month, day.day, int(hhmm[:2]), int(hhmm[3:]), tzinfo=UTC)
