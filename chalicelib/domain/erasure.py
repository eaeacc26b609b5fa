"""Erasure of one participant's personal data (the right to erasure): name, email and organisation go, their
own free text is scrubbed of them, every link is revoked and no email is owed any more; the answers and
aggregates stay, pseudonymous."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain import catalogue
from chalicelib.domain.ports import Store


def erase_participant(store: Store, participant_id: str, *, now: datetime) -> dict[str, Any]:
    """Erase one participant's personal data; the answers and aggregates stay, pseudonymised."""
    from chalicelib.domain.reporting import personal_strings, scrub

    participant = store.find_participant(participant_id)
    waves = store.list_waves(participant.event_id)
    # Their own free text first (while the name is still known): a name typed into a comment goes too.
    scrubbed = 0
    personal = personal_strings(participant.full_name or "", participant.email or "", participant.organisation or "")
    for wave in waves:
        questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
        texts = {q.id for q in questionnaire.questions if not q.closed}
        for _ in range(3):  # an edit landing meanwhile moves the version: read again
            response = store.get_response(wave.wave_id, participant_id)
            if response is None:
                break
            answers = {
                k: scrub(v, personal) if k in texts and isinstance(v, str) else v for k, v in response.answers.items()
            }
            if answers == response.answers:
                break
            if store.scrub_response(response, answers, now):
                scrubbed += 1
                break
    revoked = store.erase_participant(participant, [w.wave_id for w in waves], now)
    # A series wave may have invited this person through their record in another event of the series.
    from chalicelib.domain.series import revoke_erased

    revoked += revoke_erased(store, participant, waves, now)
    # Rows of a background import still waiting: the chunk would not write them any more (the participant
    # writes are conditional), and their copy goes too.
    store.scrub_import_chunks(participant.event_id, participant_id)
    return {
        "participant_id": participant_id,
        "event_id": participant.event_id,
        "erased": True,
        "links_revoked": revoked,
        "answers_scrubbed": scrubbed,
    }
