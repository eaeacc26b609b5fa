"""The named send outcomes, spelled once for both stores over their one conditional write, ``_mark``.

Each outcome sets the invitation's status (and its timestamp) and counts itself in the wave's funnel cells, at
most once: by the timestamp that marks it, or, for outcomes without one, by the status it sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class OutcomeMarks:
    def _mark(
        self,
        *,
        wave_id: str,
        participant_id: str,
        cells: Mapping[str, str],
        status: str | None,
        counter: str,
        reason: str | None = None,
        only_once_field: str | None = None,
        now: datetime | None = None,
        once_per_status: bool = False,
        also_count: tuple[str, ...] = (),
        unless_sent: str | None = None,
    ) -> bool:
        raise NotImplementedError

    def mark_delivered(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status="delivered",
            counter="delivered",
            only_once_field="delivered_at",
            now=now,
        )

    def mark_bounced(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status="bounced",
            counter="bounced",
            only_once_field="bounced_at",
            now=now,
        )

    def mark_complained(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status="complained",
            counter="complained",
            only_once_field="opted_out_at",
            now=now,
            also_count=("opted_out",),  # the funnel's opted_out counts complaints too (README)
        )

    def mark_opened(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status=None,  # opening leaves "delivered" (or "completed") as it is
            counter="opened",
            only_once_field="opened_at",
            now=now,
        )

    def mark_opted_out(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status="opted_out",
            counter="opted_out",
            only_once_field="opted_out_at",
            now=now,
        )

    def mark_suppressed(self, wave_id: str, participant_id: str, cells: Mapping[str, str]) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status="suppressed",
            counter="suppressed",
            once_per_status=True,  # a redelivered job must not count the same skip twice
        )

    def mark_send_failed(self, wave_id: str, participant_id: str, cells: Mapping[str, str], reason: str) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status="failed",
            counter="failed",
            reason=reason,
        )

    def mark_rejected(self, wave_id: str, participant_id: str, cells: Mapping[str, str]) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status="failed",
            counter="failed",
            reason="rejected by SES",
            once_per_status=True,  # SNS delivers at least once
        )

    def mark_unsendable(
        self, wave_id: str, participant_id: str, kind: str, cells: Mapping[str, str], reason: str
    ) -> bool:
        return self._mark(
            wave_id=wave_id,
            participant_id=participant_id,
            cells=cells,
            status="failed",
            counter="failed",
            reason=reason,
            once_per_status=True,  # a redelivered job must not count it twice
            unless_sent=kind,  # nor mark failed an email of that kind that went out
        )
