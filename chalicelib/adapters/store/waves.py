"""DynamoStore, waves: queried by event; ``closes_epoch`` is what every claim condition-checks. A participant's
page reads its wave through a short cache (``get_wave_cached``): every answer of a wave would otherwise read,
or condition-check, that one item, and a condition check holds it like a write (TransactionConflict)."""

from __future__ import annotations

import threading
import time
from copy import deepcopy
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters import tables as t
from chalicelib.adapters.store.base import iso_second, plain
from chalicelib.domain.errors import NotFound
from chalicelib.domain.model import (
    SERIES_HOME,
    CloseRule,
    OpenRule,
    Wave,
)
from chalicelib.domain.schedule import parse_instant

# How old a wave a participant's page may act on. Only a change to a wave (an event's dates edited, a wave
# opened with a relative closing) is seen this late by other containers; closing at ``closes_at`` is exact,
# since every page compares it with the time. This process forgets a wave as soon as it writes it.
WAVE_CACHE_SECONDS = 10.0
_wave_cache: dict[tuple[str, str, str], tuple[float, Wave]] = {}
_wave_cache_lock = threading.Lock()


def _cache_key(event_id: str, wave_id: str) -> tuple[str, str, str]:
    return (t.WaveItem.Meta.table_name, event_id, wave_id)


class DynamoWaves:
    def put_wave(self, wave: Wave) -> None:
        """A series wave is written under each of its events and under SERIES_HOME (the same item each time)."""
        homes = [SERIES_HOME, *wave.event_ids] if wave.event_ids else [wave.event_id]
        for home in homes:
            self._put_wave(wave, home)

    def _put_wave(self, wave: Wave, home: str) -> None:
        with _wave_cache_lock:
            _wave_cache.pop(_cache_key(home, wave.wave_id), None)
        opens: dict[str, Any] = {}
        if wave.opens.at is not None:
            opens["at"] = iso_second(wave.opens.at)
        else:
            opens.update(after_event_days=wave.opens.after_event_days, local_time=wave.opens.local_time)
        closes: dict[str, Any] = (
            {"at": iso_second(wave.closes.at)} if wave.closes.at else {"after_open_days": wave.closes.after_open_days}
        )
        t.WaveItem(
            home,
            wave.wave_id,
            questionnaire_id=wave.questionnaire_id,
            questionnaire_version=wave.questionnaire_version,
            opens=opens,
            closes=closes,
            reminders_after_days=list(wave.reminders_after_days),
            status=wave.status,
            opened_at=wave.opened_at,
            closes_at=wave.closes_at,
            closes_epoch=int(wave.closes_at.timestamp()) if wave.closes_at else None,
            created_at=wave.created_at,
            name=wave.name,
            event_ids=list(wave.event_ids) or None,
        ).save()

    def rename_wave(self, event_id: str, wave_id: str, name: str | None) -> None:
        item = t.WaveItem(event_id, wave_id)
        action = t.WaveItem.name.set(name) if name else t.WaveItem.name.remove()
        try:
            item.update(actions=[action], condition=t.WaveItem.wave_id.exists())
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException":
                raise NotFound("wave not found") from None
            raise

    def get_wave(self, event_id: str, wave_id: str) -> Wave:
        try:
            return self._wave(t.WaveItem.get(event_id, wave_id))
        except DoesNotExist:
            raise NotFound("wave not found") from None

    def get_wave_cached(self, event_id: str, wave_id: str) -> Wave:
        """The wave as read at most WAVE_CACHE_SECONDS ago in this process (a GetItem when older)."""
        key = _cache_key(event_id, wave_id)
        with _wave_cache_lock:
            hit = _wave_cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < WAVE_CACHE_SECONDS:
            return deepcopy(hit[1])
        wave = self.get_wave(event_id, wave_id)
        with _wave_cache_lock:
            if len(_wave_cache) > 512:
                _wave_cache.clear()
            _wave_cache[key] = (time.monotonic(), deepcopy(wave))
        return wave

    def list_waves(self, event_id: str) -> list[Wave]:
        return [self._wave(i) for i in t.WaveItem.query(event_id)]

    @staticmethod
    def _wave(item: t.WaveItem) -> Wave:
        opens = plain(item.opens)
        closes = plain(item.closes)
        return Wave(
            event_id=item.event_id,
            wave_id=item.wave_id,
            questionnaire_id=item.questionnaire_id,
            questionnaire_version=int(item.questionnaire_version),
            opens=OpenRule(
                after_event_days=int(opens["after_event_days"]) if "after_event_days" in opens else None,
                local_time=opens.get("local_time"),
                at=parse_instant(opens["at"], "opens.at") if "at" in opens else None,
            ),
            closes=CloseRule(
                after_open_days=int(closes["after_open_days"]) if "after_open_days" in closes else None,
                at=parse_instant(closes["at"], "closes.at") if "at" in closes else None,
            ),
            reminders_after_days=[int(d) for d in item.reminders_after_days or []],
            status=item.status,  # type: ignore[arg-type]
            opened_at=item.opened_at,
            closes_at=item.closes_at,
            created_at=item.created_at,
            name=item.name,
            event_ids=list(item.event_ids or []),
        )
