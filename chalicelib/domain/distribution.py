"""Distribution use cases: find due emails, send each at most once, and record what SES reports back.

At most one email per (participant, wave, kind): the sender *claims* before it sends, with a conditional
write that fails when the kind was claimed before. SES's own Send/Delivery/Bounce events (through SNS)
are the *mark*. A crash between claim and send leaves a claim with no Send event: never resent blindly,
and listed for reconciliation. A queued job carries IDs only (``messages``): the sender reads the address, the
name and the rest when it sends, and sends nothing to a participant erased meanwhile; the claim checks it
again, in its transaction. Normal path: one DynamoDB read (BatchGetItem), one DynamoDB transaction and one SES
call per email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.messages import Letter, SendJob
from chalicelib.domain.model import INVITATION, Invitation, Participant, TokenGrant, Wave, is_manual, manual_kind
from chalicelib.domain.participants import email_key
from chalicelib.domain.ports import (
    ClaimOutcome,
    EmailRenderer,
    Mailer,
    OutgoingEmail,
    SendQueue,
    SendRejected,
    SendThrottled,
    Store,
    Unsendable,
)
from chalicelib.domain.schedule import after_sending
from chalicelib.domain.text import one_line_problem
from chalicelib.domain.tokens import hash_token, new_token

TOKEN_GRACE = timedelta(days=30)


class RetryLater(Exception):
    """The job could not run now (throttled); the queue must deliver it again."""


@dataclass
class DispatchReport:
    enqueued: int = 0
    skipped: int = 0
    waves: set[str] = field(default_factory=set)


def dispatch_due(store: Store, queue: SendQueue, now: datetime, *, limit: int) -> DispatchReport:
    """Queue every email that is due: the scheduled Lambda's work. Never scans: it queries the due index.

    Enqueue first, then move the invitation's due time on; a crash in between only re-queues, and the
    sender's claim drops the duplicate.
    """
    report = DispatchReport()
    waves: dict[tuple[str, str], Wave] = {}
    participants: dict[tuple[str, str], Participant] = {}
    batch: list[tuple[Invitation, str, SendJob]] = []

    def move_on(inv: Invitation, kind: str) -> None:
        """Point the due index at the email owed after ``kind`` (the rule: ``schedule.after_sending``)."""
        went_out_at = None if kind == INVITATION else store.went_out_at(inv.wave_id, inv.participant_id)
        after = after_sending(inv, kind, waves[(inv.event_id, inv.wave_id)], now, went_out_at=went_out_at)
        store.reschedule(inv, after.next_kind, after.next_due, anchor=after.anchor)

    def flush() -> None:
        if not batch:
            return
        queue.enqueue([job.to_message() for _, _, job in batch])
        for inv, kind, _ in batch:
            move_on(inv, kind)
        report.enqueued += len(batch)
        batch.clear()

    for inv in store.due_invitations(now, limit):
        kind = inv.due_kind or INVITATION
        key = (inv.event_id, inv.wave_id)
        if key not in waves:
            waves[key] = store.get_wave(*key)
        wave = waves[key]
        if kind in inv.sent_kinds and wave.closes_at is not None and wave.closes_at > now:
            # Queued and claimed before, then the run died before moving the due time on: move it on
            # now, so the following reminder is still owed (dropping it would lose every reminder).
            move_on(inv, kind)
            report.skipped += 1
            continue
        if (
            kind in inv.sent_kinds
            or wave.closes_at is None
            or wave.closes_at <= now
            or inv.completed_at  # answered already (in the room, through a QR card or on paper): no email
            or (kind != INVITATION and (inv.opted_out_at or inv.bounced_at))
        ):
            store.reschedule(inv, None, None)
            report.skipped += 1
            continue
        if (inv.event_id, inv.participant_id) not in participants:
            for p in store.list_participants(inv.event_id):
                participants[(inv.event_id, p.participant_id)] = p
        person = participants.get((inv.event_id, inv.participant_id))
        if person is None or person.erased_at is not None or not person.email:
            store.reschedule(inv, None, None)
            report.skipped += 1
            continue
        batch.append((inv, kind, SendJob.for_invitation(inv, kind)))
        report.waves.add(inv.wave_id)
        if len(batch) >= 10:
            flush()
    flush()
    return report


def send_wave_now(
    store: Store, queue: SendQueue, event_id: str, wave_id: str, *, panel_secret: str, now: datetime, limit: int
) -> dict[str, Any]:
    """ "Send now": open the wave (``waves.send_now``), then queue what is due at once rather than at the
    scheduler's next run. The emails still take the normal path (the due index, the queue, the sender's
    claim); ``queued`` says how many went to the queue."""
    from chalicelib.domain.waves import send_now

    result = send_now(store, event_id, wave_id, panel_secret=panel_secret, now=now)
    result["queued"] = dispatch_due(store, queue, now, limit=limit).enqueued
    return result


def remind_now(store: Store, queue: SendQueue, event_id: str, wave_id: str, now: datetime) -> dict[str, Any]:
    """One reminder now, outside the schedule, to everyone invited who has not completed or opted out."""
    wave = store.get_wave(event_id, wave_id)
    if wave.closes_at is None or wave.closes_at <= now:
        raise ValidationFailed("the wave is closed")
    people = {p.participant_id: p for p in store.list_participants(event_id)}
    jobs: list[dict[str, Any]] = []
    for inv in store.list_invitations(wave_id):
        person = people.get(inv.participant_id)
        if (
            INVITATION not in inv.sent_kinds
            or inv.completed_at
            or inv.opted_out_at
            or inv.bounced_at
            or person is None
            or person.erased_at is not None
        ):
            continue
        manual = manual_kind(sum(1 for kind in inv.sent_kinds if is_manual(kind)) + 1)
        jobs.append(SendJob.for_invitation(inv, manual).to_message())
    for start in range(0, len(jobs), 10):
        queue.enqueue(jobs[start : start + 10])
    return {"wave_id": wave_id, "queued": len(jobs)}


def send_job(
    store: Store,
    mailer: Mailer,
    renderer: EmailRenderer,
    message: Mapping[str, Any],
    *,
    base_url: str,
    now: datetime,
) -> str:
    """Send one queued email (the decoded queue message) at most once. Returns what happened ("erased" when
    the participant was erased since the job was queued: nothing sent, no link written); raises RetryLater when
    throttled, ValueError when the message is not a send job this version reads."""
    job = SendJob.from_message(message)
    kind = job.kind
    found = store.read_for_sending(job.event_id, job.wave_id, job.participant_id)
    person, inv = found.participant, found.invitation
    if person is None or person.erased_at is not None or not person.email:
        return "erased"
    if inv is None or inv.completed_at is not None:
        # No invitation to claim, or it was answered (at the event, through a QR card) since it was queued.
        return str(ClaimOutcome.ALREADY.value)
    if found.wave is None or found.event is None:
        return str(ClaimOutcome.CLOSED.value)
    letter = Letter.of(job, inv, person, found.event, found.wave)
    token = new_token()
    closes = letter.closes_at or now
    grant = TokenGrant(
        token_hash=hash_token(token),
        event_id=job.event_id,
        wave_id=job.wave_id,
        participant_id=job.participant_id,
        kind=kind,
        cells=dict(letter.cells),
        language=letter.language,
        panel_id=letter.panel_id,
        questionnaire_id=letter.questionnaire_id,
        questionnaire_version=letter.questionnaire_version,
        expires_at=closes + TOKEN_GRACE,
    )
    # Built whole before the claim: a message that cannot be built is never claimed and then dropped.
    email = compose(renderer, letter, token, base_url=base_url)
    reason = unsendable_reason(mailer, email)
    if reason is not None:
        store.mark_unsendable(job.wave_id, job.participant_id, kind, letter.cells, reason)
        return "unsendable"
    outcome = store.claim(grant, email_key=letter.email_key, now=now)
    if outcome is ClaimOutcome.BUSY:
        raise RetryLater("claim throttled")
    if outcome is ClaimOutcome.SUPPRESSED:
        if kind == INVITATION:
            store.mark_suppressed(job.wave_id, job.participant_id, letter.cells)
        return "suppressed"
    if outcome is not ClaimOutcome.CLAIMED:
        return str(outcome.value)
    try:
        mailer.send(email)
    except SendThrottled as exc:
        store.release(
            wave_id=job.wave_id,
            participant_id=job.participant_id,
            kind=kind,
            token_hash=grant.token_hash,
            cells=letter.cells,
        )
        raise RetryLater("SES throttled") from exc
    except SendRejected as exc:
        store.mark_send_failed(job.wave_id, job.participant_id, letter.cells, str(exc)[:200])
        return "rejected"
    return "sent"


def unsendable_reason(mailer: Mailer, email: OutgoingEmail) -> str | None:
    """Why this email cannot go out (for the invitation's failed reason, and ops), or None. A header must be one
    line (domain/text.py); then the mailer builds the whole message as it would send it."""
    for name, value in (("subject", email.subject), *email.headers.items()):
        if (problem := one_line_problem(value)) is not None:
            return f"the email could not be built: its {name} holds {problem}"
    try:
        mailer.check(email)
    except Unsendable as exc:
        return f"the email could not be built: {exc}"
    return None


def compose(renderer: EmailRenderer, letter: Letter, token: str, *, base_url: str) -> OutgoingEmail:
    lang = letter.language
    survey_url = f"{base_url}/s/{token}"
    unsubscribe_url = f"{base_url}/u/{token}"
    closes = letter.closes_at
    template = "invitation" if letter.kind == INVITATION else "reminder"
    subject, html, text = renderer.render_email(
        template,
        lang,
        {
            "name": letter.name,
            "event_title": letter.event_title,
            "survey_url": survey_url,
            "unsubscribe_url": unsubscribe_url,
            "closes_on": closes,
        },
    )
    return OutgoingEmail(
        to=letter.email,
        subject=subject,
        html=html,
        text=text,
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        tags={
            "ef-wave": letter.wave_id,
            "ef-participant": letter.participant_id,
            "ef-event": letter.event_id,
            "ef-kind": letter.kind,
        },
    )


def record_feedback(store: Store, notification: Mapping[str, Any], *, secret: str, now: datetime) -> list[str]:
    """Apply one SES notification (event publishing or identity notification JSON). Idempotent."""
    kind = str(notification.get("eventType") or notification.get("notificationType") or "")
    mail = notification.get("mail") or {}
    tags = {k: (v[0] if isinstance(v, list) and v else v) for k, v in (mail.get("tags") or {}).items()}
    wave_id, participant_id = str(tags.get("ef-wave") or ""), str(tags.get("ef-participant") or "")
    done: list[str] = []
    cells: Mapping[str, str] | None = None
    if kind not in ("Bounce", "Complaint", "Delivery", "Reject"):
        return done  # Send, Open, Click...: nothing to record yet
    if wave_id and participant_id:
        try:
            cells = store.get_invitation(wave_id, participant_id).cells
        except NotFound:  # an invitation erased or from another stage: suppression still applies
            cells = None
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        if bounce.get("bounceType") == "Permanent":
            for recipient in bounce.get("bouncedRecipients") or []:
                address = recipient.get("emailAddress")
                if address and store.suppress(email_key(secret, address), "bounce", now):
                    done.append("suppressed")
            if cells is not None and store.mark_bounced(wave_id, participant_id, cells, now):
                done.append("bounced")
    elif kind == "Complaint":
        for recipient in (notification.get("complaint") or {}).get("complainedRecipients") or []:
            address = recipient.get("emailAddress")
            if address and store.suppress(email_key(secret, address), "complaint", now):
                done.append("suppressed")
        # A complaint is an opt-out said loudly: no further email for this wave either.
        if cells is not None and store.mark_complained(wave_id, participant_id, cells, now):
            done.append("complained")
    elif kind == "Delivery" and cells is not None:
        if store.mark_delivered(wave_id, participant_id, cells, now):
            done.append("delivered")
    elif kind == "Reject" and cells is not None:
        if store.mark_rejected(wave_id, participant_id, cells):  # once: SNS delivers at least once
            done.append("failed")
    return done
