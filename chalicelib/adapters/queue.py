"""The send queue (SQS): jobs go in batches of ten, and a batch entry that fails raises."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


class SqsSendQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def enqueue(self, messages: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": json.dumps(m, separators=(",", ":"))} for i, m in enumerate(chunk)]
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
