"""Read-only links to a wave's report, for the membership: made, listed and revoked by admins, opened by anyone
who has the link. Only the token's SHA-256 is stored (as for survey links); the link expires (30 days unless
said otherwise, at most 365) and shows no free text unless the admin chose to include it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.model import DIMENSIONS, LANGUAGES, Share, new_id
from chalicelib.domain.ports import Store
from chalicelib.domain.tokens import hash_token, looks_like_token, new_token

DEFAULT_DAYS = 30
MAX_DAYS = 365
GONE = "this link does not work (it may have expired or been revoked)"


def create_share(store: Store, event_id: str, body: Any, *, now: datetime) -> tuple[Share, str]:
    """Make a link to one wave's report: (the stored share, the token, which is never stored)."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    wave_id = body.get("wave")
    if not isinstance(wave_id, str) or not wave_id:
        raise ValidationFailed("wave is required: the wave_id of the report to share")
    store.get_event(event_id)
    store.get_wave(event_id, wave_id)  # NotFound for a wave of another event
    by = body.get("by", "stakeholder_group")
    if by not in DIMENSIONS:
        raise ValidationFailed(f"by must be one of {', '.join(DIMENSIONS)}")
    lang = body.get("lang", "en")
    if lang not in LANGUAGES:
        raise ValidationFailed(f"lang must be one of {', '.join(LANGUAGES)}")
    days = body.get("expires_in_days", DEFAULT_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"expires_in_days must be a whole number of days from 1 to {MAX_DAYS}")
    comments = body.get("include_comments", False)
    if not isinstance(comments, bool):
        raise ValidationFailed("include_comments must be true or false")
    token = new_token()
    share = Share(
        token_hash=hash_token(token),
        share_id=new_id("sh"),
        event_id=event_id,
        wave_id=wave_id,
        by=by,
        lang=lang,
        include_comments=comments,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    store.put_share(share)
    return share, token


def describe(share: Share) -> dict[str, Any]:
    """A link as the API lists it: everything but the token, which only its creator ever saw."""
    return {
        "share_id": share.share_id,
        "wave": share.wave_id,
        "by": share.by,
        "lang": share.lang,
        "include_comments": share.include_comments,
        "created_at": share.created_at.isoformat(),
        "expires_at": share.expires_at.isoformat(),
        "views": share.views,
    }


def list_shares(store: Store, event_id: str) -> list[dict[str, Any]]:
    """The event's live links."""
    store.get_event(event_id)
    return [describe(s) for s in store.list_shares(event_id)]


def revoke_share(store: Store, event_id: str, share_id: str) -> None:
    """Revoke one of the event's links at once; NotFound when it is not a live link of this event."""
    store.get_event(event_id)
    if not store.delete_share(event_id, share_id):
        raise NotFound("no live shared link with that ID for this event")


def open_share(store: Store, token: str, *, now: datetime) -> Share:
    """The share a link opens, counting the view; NotFound (the same for unknown, revoked and expired)."""
    if not looks_like_token(token):
        raise NotFound(GONE)
    share = store.get_share(hash_token(token))
    if share is None or share.expires_at <= now:
        raise NotFound(GONE)
    store.count_share_view(share.token_hash)
    return share


def shared_report(data: dict[str, Any], share: Share) -> dict[str, Any]:
    """The report's data as a shared link shows it: this wave alone, and its free text only if chosen."""
    return {
        **data,
        "texts": data["texts"] if share.include_comments else {},
        "comparison": [w for w in data["comparison"] if w["wave_id"] == share.wave_id],
        "shared": True,
        "include_comments": share.include_comments,
    }
