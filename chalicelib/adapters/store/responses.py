"""DynamoStore, responses: the link tokens, the responses and the aggregate counters each write moves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from chalicelib.adapters import tables as t
from chalicelib.adapters.store.base import Tx, plain, unshard
from chalicelib.domain.model import Response, TokenGrant
from chalicelib.domain.openlinks import OpenLink
from chalicelib.domain.ports import Deltas, SubmitOutcome


class DynamoResponses:
    def get_token(self, token_hash: str) -> TokenGrant | None:
        try:
            item = t.TokenItem.get(token_hash)
        except DoesNotExist:
            return None
        if item.kind in ("share", "open", "rate"):
            return None  # a shared report's link, a slide's open link or a counter opens no personal survey
        if item.expires_at is not None and item.expires_at <= datetime.now(UTC):
            return None  # TTL deletes lazily; an expired token must not work in the meantime.
        return TokenGrant(
            token_hash=item.token_hash,
            event_id=item.event_id,
            wave_id=item.wave_id,
            participant_id=item.participant_id,
            kind=item.kind,
            cells={k: str(v) for k, v in plain(item.cells).items()},
            language=item.language,
            panel_id=item.panel_id,
            questionnaire_id=item.questionnaire_id,
            questionnaire_version=int(item.questionnaire_version),
            expires_at=item.expires_at,
        )

    def put_open_link(self, link: OpenLink) -> None:
        t.OpenLinkItem(
            link.token_hash,
            event_id=link.event_id,
            wave_id=link.wave_id,
            opens_at=link.opens_at,
            closes_at=link.closes_at,
            ask_group=link.ask_group,
            created_at=link.created_at,
            expires_at=link.closes_at + timedelta(days=30),
        ).save(condition=t.OpenLinkItem.token_hash.does_not_exist())

    def get_open_link(self, token_hash: str) -> OpenLink | None:
        try:
            item = t.OpenLinkItem.get(token_hash)
        except DoesNotExist:
            return None
        if item.kind != "open":
            return None
        return OpenLink(
            token_hash=item.token_hash,
            event_id=item.event_id,
            wave_id=item.wave_id,
            opens_at=item.opens_at,
            closes_at=item.closes_at,
            created_at=item.created_at,
            ask_group=bool(item.ask_group),
        )

    def count_hit(self, key: str, expires_at: datetime) -> int:
        item = t.HitItem(key)
        item.update(actions=[t.HitItem.hits.add(1), t.HitItem.expires_at.set(expires_at)])
        return int(item.hits)

    def put_card_tokens(self, grants: Sequence[TokenGrant], now: datetime) -> int:
        """BatchGetItem finds the cards stored before (a sheet printed again writes nothing); each new one is
        one transaction: its token and its hash on the invitation, which must exist."""
        wanted = {g.token_hash: g for g in grants}
        stored: set[str] = set()
        hashes = list(wanted)
        for start in range(0, len(hashes), 100):
            for item in t.TokenItem.batch_get(hashes[start : start + 100], attributes_to_get=["token_hash"]):
                stored.add(item.token_hash)
        new = 0
        for token_hash, grant in wanted.items():
            if token_hash in stored:
                continue
            token = t.TokenItem(
                token_hash,
                event_id=grant.event_id,
                wave_id=grant.wave_id,
                participant_id=grant.participant_id,
                kind=grant.kind,
                cells=dict(grant.cells),
                language=grant.language,
                panel_id=grant.panel_id,
                questionnaire_id=grant.questionnaire_id,
                questionnaire_version=grant.questionnaire_version,
                created_at=now,
                expires_at=grant.expires_at,
            )
            tx = Tx()
            try:
                with tx:
                    tx.save("token", token, condition=t.TokenItem.token_hash.does_not_exist())
                    tx.update(
                        "invitation",
                        t.InvitationItem(grant.wave_id, grant.participant_id),
                        actions=[t.InvitationItem.token_hashes.add({token_hash})],
                        condition=t.InvitationItem.participant_id.exists(),
                    )
            except TransactWriteError as exc:
                if not tx.failed(exc):
                    raise
                continue  # stored meanwhile, or the invitation is gone
            new += 1
        return new

    def get_response(self, wave_id: str, participant_id: str) -> Response | None:
        try:
            item = t.ResponseItem.get(wave_id, participant_id, consistent_read=True)
        except DoesNotExist:
            return None
        return self._response(item)

    def list_responses(self, wave_id: str) -> Iterator[Response]:
        for item in t.ResponseItem.query(wave_id):
            yield self._response(item)

    def store_response(
        self,
        response: Response,
        *,
        previous: Response | None,
        deltas: Deltas,
        now: datetime,
    ) -> SubmitOutcome:
        """Write a response and its aggregate counts in one transaction, of per-participant items and counter
        shards only (``Tx``), so that the answers of a wave seldom meet on an item and a conflict is tried again.

        First submit: the response must not exist, and completes the invitation. Edit: the stored
        version must be the one read, so two concurrent edits cannot both apply their deltas.
        Either way the participant must not have opted out. The wave's closing is the caller's check.
        """
        item = self._item(response, now)
        if previous is None:
            condition = t.ResponseItem.participant_id.does_not_exist()
        else:
            condition = t.ResponseItem.version == previous.version
        inv_condition = t.InvitationItem.participant_id.exists() & t.InvitationItem.opted_out_at.does_not_exist()
        tx = Tx()
        try:
            with tx:
                tx.save("response", item, condition=condition)
                if previous is None:
                    tx.update(
                        "invitation",
                        t.InvitationItem(response.wave_id, response.participant_id),
                        actions=[t.InvitationItem.completed_at.set(now), t.InvitationItem.status.set("completed")],
                        condition=inv_condition,
                    )
                else:
                    tx.check(
                        "invitation",
                        t.InvitationItem,
                        response.wave_id,
                        response.participant_id,
                        condition=inv_condition,
                    )
                tx.counters(response.wave_id, deltas)
        except TransactWriteError as exc:
            failed = tx.failed(exc)
            if "invitation" in failed:
                return SubmitOutcome.OPTED_OUT
            if "response" in failed:
                return SubmitOutcome.STALE
            raise
        return SubmitOutcome.STORED

    def store_anonymous_response(self, response: Response, *, deltas: Deltas, now: datetime) -> SubmitOutcome:
        """An answer that is no invitation's, and its counters, in one transaction (``Tx``: retried on
        conflicts, counters spread where a burst meets)."""
        item = self._item(response, now)
        tx = Tx()
        try:
            with tx:
                tx.save("response", item, condition=t.ResponseItem.participant_id.does_not_exist())
                tx.counters(response.wave_id, deltas)
        except TransactWriteError as exc:
            if "response" in tx.failed(exc):
                return SubmitOutcome.STALE
            raise
        return SubmitOutcome.STORED

    def read_cells(self, wave_id: str, dimension: str) -> dict[str, dict[str, int]]:
        """One Query: every counter item of one dimension of a wave, its shards added up per cell."""
        conn = t.AggregateItem._get_connection()
        prefix = f"{dimension}#"
        out: dict[str, dict[str, int]] = {}
        last_key = None
        while True:
            page = conn.query(
                wave_id,
                range_key_condition=t.AggregateItem.cell.startswith(prefix),
                exclusive_start_key=last_key,
            )
            for raw in page.get("Items", []):
                bucket = out.setdefault(unshard(raw["cell"]["S"][len(prefix) :]), {})
                for name, value in raw.items():
                    if "N" in value:
                        bucket[name] = bucket.get(name, 0) + int(value["N"])
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return out

    def scrub_response(self, response: Response, answers: Mapping[str, Any], now: datetime) -> bool:
        """Replace a response's answers with their scrubbed text (erasure), as a new version, so that no
        sealed copy of the old answers can be used for an edit. The counters do not move: a scrubbed text
        is still an answer. False when the response changed meanwhile (the erasure is then retried)."""
        try:
            t.ResponseItem(response.wave_id, response.participant_id).update(
                actions=[
                    t.ResponseItem.answers.set(dict(answers)),
                    t.ResponseItem.version.set(response.version + 1),
                    t.ResponseItem.updated_at.set(now),
                ],
                condition=t.ResponseItem.version == response.version,
            )
        except UpdateError as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise
            return False
        return True

    @staticmethod
    def _item(response: Response, now: datetime) -> t.ResponseItem:
        return t.ResponseItem(
            response.wave_id,
            response.participant_id,
            event_id=response.event_id,
            panel_id=response.panel_id,
            answers=response.answers,
            cells=response.cells,
            language=response.language,
            version=response.version,
            submitted_at=response.submitted_at,
            updated_at=now,
        )

    @staticmethod
    def _response(item: t.ResponseItem) -> Response:
        return Response(
            wave_id=item.wave_id,
            participant_id=item.participant_id,
            event_id=item.event_id,
            panel_id=item.panel_id,
            answers=plain(item.answers),
            cells={k: str(v) for k, v in plain(item.cells).items()},
            language=item.language,
            version=int(item.version),
            submitted_at=item.submitted_at,
            updated_at=item.updated_at,
        )
