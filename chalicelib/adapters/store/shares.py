"""DynamoStore, shared report links: items of the tokens table, kind "share", by the hash of their token, and
one list item per event ("shares#<event_id>") naming their hashes."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from chalicelib.adapters import tables as t
from chalicelib.domain.model import Share


def _list_key(event_id: str) -> str:
    return f"shares#{event_id}"


def _share(item: t.ShareItem) -> Share:
    return Share(
        token_hash=item.token_hash,
        share_id=item.share_id,
        event_id=item.event_id,
        wave_id=item.wave_id,
        by=item.by,
        lang=item.lang,
        include_comments=bool(item.include_comments),
        created_at=item.created_at,
        expires_at=item.expires_at,
        views=int(item.views or 0),
    )


class DynamoShares:
    def put_share(self, share: Share) -> None:
        t.ShareItem(
            share.token_hash,
            share_id=share.share_id,
            event_id=share.event_id,
            wave_id=share.wave_id,
            by=share.by,
            lang=share.lang,
            include_comments=share.include_comments,
            created_at=share.created_at,
            expires_at=share.expires_at,
            views=share.views,
        ).save(condition=t.ShareItem.token_hash.does_not_exist())
        t.ShareListItem(_list_key(share.event_id)).update(actions=[t.ShareListItem.hashes.add({share.token_hash})])

    def get_share(self, token_hash: str) -> Share | None:
        try:
            item = t.ShareItem.get(token_hash, consistent_read=True)
        except DoesNotExist:
            return None
        if item.kind != "share" or item.expires_at <= datetime.now(UTC):
            return None  # TTL deletes lazily; an expired link must not work in the meantime.
        return _share(item)

    def list_shares(self, event_id: str) -> list[Share]:
        try:
            listed = t.ShareListItem.get(_list_key(event_id), consistent_read=True)
        except DoesNotExist:
            return []
        now = datetime.now(UTC)
        found = [
            _share(item)
            for item in t.ShareItem.batch_get(sorted(listed.hashes or ()), consistent_read=True)
            if item.kind == "share" and item.event_id == event_id and item.expires_at > now
        ]
        return sorted(found, key=lambda s: (s.created_at, s.share_id))

    def delete_share(self, event_id: str, share_id: str) -> bool:
        share = next((s for s in self.list_shares(event_id) if s.share_id == share_id), None)
        if share is None:
            return False
        try:
            t.ShareItem(share.token_hash).delete(condition=t.ShareItem.share_id == share_id)
        except DeleteError:
            return False  # revoked meanwhile
        t.ShareListItem(_list_key(event_id)).update(actions=[t.ShareListItem.hashes.delete({share.token_hash})])
        return True

    def count_share_view(self, token_hash: str) -> None:
        try:
            t.ShareItem(token_hash).update(
                actions=[t.ShareItem.views.add(1)], condition=t.ShareItem.token_hash.exists()
            )
        except UpdateError:
            return  # revoked between the read and the count: nothing to count
