"""The send queue (SQS): jobs go in batches of at most ten entries and 256 KB, and a failed entry raises."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 250_000  # SQS refuses a batch whose bodies add up to more than 256 KiB


def batches(bodies: Sequence[str]) -> Iterator[list[str]]:
    """Consecutive groups of bodies that SQS takes in one SendMessageBatch."""
    group: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode("utf-8"))
        if group and (len(group) == MAX_ENTRIES or size + length > MAX_BATCH_BYTES):
            yield group
            group, size = [], 0
        group.append(body)
        size += length
    if group:
        yield group


class SqsSendQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def enqueue(self, messages: Sequence[Mapping[str, Any]]) -> None:
        bodies = [json.dumps(m, separators=(",", ":")) for m in messages]
        for group in batches(bodies):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(group)]
            reply = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = reply.get("Failed") or []
            if failed:
                retry = [entries[int(f["Id"])] for f in failed if not f.get("SenderFault")]
                if retry:
                    again = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=retry)
                    if again.get("Failed"):
                        raise RuntimeError(f"{len(again['Failed'])} send jobs could not be queued")
                if any(f.get("SenderFault") for f in failed):
                    raise RuntimeError("a send job was refused by SQS")
