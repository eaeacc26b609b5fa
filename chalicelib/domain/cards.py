"""Personal QR cards: every participant's own link for a wave, to print on a badge insert or a card and hand
out at the event. A card's token is a kind of its own (``tokens.CARD``), stored hashed like every token and
listed on the invitation so that an erasure revokes it; answering through it is the same one response per
person as through the email, recorded with the mode ``qr``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.distribution import TOKEN_GRACE
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import Event, TokenGrant, Wave
from chalicelib.domain.ports import Store
from chalicelib.domain.reporting import csv_text
from chalicelib.domain.tokens import CARD, card_token, hash_token

CSV_HEADER = ("name", "email", "link")


@dataclass(frozen=True)
class Card:
    participant_id: str
    full_name: str
    organisation: str
    email: str
    language: str
    link: str


@dataclass(frozen=True)
class CardSheet:
    event: Event
    wave: Wave
    cards: list[Card]


def wave_cards(store: Store, event_id: str, wave_id: str, *, secret: str, base_url: str, now: datetime) -> CardSheet:
    """The cards of everyone invited to the wave who is neither erased nor opted out, by name. Their tokens
    are stored on the first print; a sheet printed again shows the same codes and writes nothing new."""
    event = store.get_event(event_id)
    wave = store.get_wave(event_id, wave_id)
    if wave.status == "closed" or (wave.closes_at is not None and wave.closes_at <= now):
        raise ValidationFailed("the wave is closed: its cards would open no form")
    people = {p.participant_id: p for p in store.list_participants(event_id)}
    grants: list[TokenGrant] = []
    cards: list[Card] = []
    for inv in store.list_invitations(wave_id):
        person = people.get(inv.participant_id)
        if person is None or person.erased_at is not None or inv.opted_out_at is not None:
            continue
        token = card_token(secret, wave_id, inv.participant_id)
        grants.append(
            TokenGrant(
                token_hash=hash_token(token),
                event_id=event_id,
                wave_id=wave_id,
                participant_id=inv.participant_id,
                kind=CARD,
                cells=dict(inv.cells),
                language=inv.language,
                panel_id=inv.panel_id,
                questionnaire_id=wave.questionnaire_id,
                questionnaire_version=wave.questionnaire_version,
                expires_at=wave.closes_at + TOKEN_GRACE if wave.closes_at is not None else None,
            )
        )
        cards.append(
            Card(
                participant_id=inv.participant_id,
                full_name=person.full_name,
                organisation=person.organisation,
                email=person.email,
                language=inv.language,
                link=f"{base_url}/s/{token}",
            )
        )
    store.put_card_tokens(grants, now)
    cards.sort(key=lambda c: (c.full_name.casefold(), c.participant_id))
    return CardSheet(event=event, wave=wave, cards=cards)


def cards_csv(sheet: CardSheet) -> str:
    """Name, email and link of every card, for a badge-printing or mail-merge system (cells neutralised)."""
    return csv_text(CSV_HEADER, ((c.full_name, c.email, c.link) for c in sheet.cards))
