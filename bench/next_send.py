"""Figure 8: a wave's next send (``waves.next_send``), as the events list and the event page show it per wave.

For each size an event with that many registrations and one satisfaction wave is created
(``bench.stack.create_event_and_wave``: the import plans one invitation per participant, each due at the
opening in the participant's own time zone, so the due times differ). One ``waves.next_send`` call is
metered: it reads the first item of the invitations' sparse ``wave-due`` index. The read it replaced, every
invitation of the wave (``store.list_invitations`` and the earliest ``due_at``), is metered beside it, and
both must give the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bench.meter import Meter, Window
from bench.stack import create_event_and_wave, moto_stack, utcnow

SIZES = (30, 300, 2_500)


@dataclass
class Size:
    invitations: int
    read: Window  # waves.next_send
    scan: Window  # every invitation of the wave, as the events list read them before
    same: bool  # both give the same instant
    next_send: datetime | None


@dataclass
class NextSend:
    sizes: list[Size] = field(default_factory=list)


def run(meter: Meter) -> NextSend:
    from chalicelib.domain import waves

    result = NextSend()
    for size in SIZES:
        with moto_stack() as stack:
            now = utcnow()
            created = create_event_and_wave(stack, size, now=now)
            store = stack.store
            wave = store.get_wave(created.event_id, created.wave_id)
            with meter.window() as read:
                found = waves.next_send(store, wave, now)
            with meter.window() as scan:
                invitations = store.list_invitations(wave.wave_id)
            earliest = min((i.due_at for i in invitations if i.due_at is not None), default=None)
            result.sizes.append(
                Size(
                    invitations=len(invitations),
                    read=read,
                    scan=scan,
                    same=found == earliest and found is not None,
                    next_send=found,
                )
            )
    return result
