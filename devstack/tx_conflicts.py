"""DynamoDB's transaction conflicts, emulated for moto, which applies transactions one at a time.

DynamoDB ("Transaction conflict handling in DynamoDB", developer guide; ``TransactionCanceledException`` in the
API reference) cancels a ``TransactWriteItems`` when one of its items is part of another ``TransactWriteItems``
still in progress: the call fails with ``TransactionCanceledException``, and the cancellation reason at that
item's position is ``TransactionConflict`` (``None`` at the others). A ``PutItem``, ``UpdateItem`` or
``DeleteItem`` on an item inside a transaction in progress is refused with ``TransactionConflictException``.
botocore does not retry either. Nothing is written by a cancelled transaction.

The emulator gives every ``TransactWriteItems`` a duration: its items are held from the moment it arrives
for ``duration`` seconds (DynamoDB's transactions take tens of milliseconds), and then it is applied, atomically
as moto does (one write at a time: the wait for that turn is moto's, not DynamoDB's, so it holds nothing).
A transaction that arrives while one of its items is held is cancelled at once, as above; so is a single-item
write. Every item counts, a ``ConditionCheck`` included: the guide names "an item within a TransactWriteItems
request", whatever its action. Calls that do not overlap in time never conflict, so sequential code sees
exactly moto's behaviour, and ``duration=0`` costs nothing.

``install()`` patches moto's DynamoDB backend in this process: in-process tests (``mock_aws``), and the
moto server ``make run`` starts (``EF_EMULATE_TX_CONFLICTS=1``), so that every client of that endpoint sees
the conflicts. ``tests/integration/test_tx_conflicts.py`` pins the behaviour.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb import models as dynamo_models
from moto.dynamodb.exceptions import DynamodbException, TransactionCanceledException

DEFAULT_DURATION = 0.025  # seconds: DynamoDB's transactions take tens of milliseconds
ENV_FLAG = "EF_EMULATE_TX_CONFLICTS"
ENV_DURATION = "EF_TX_CONFLICT_DURATION_MS"

_ItemKey = tuple[str, tuple[tuple[str, str], ...]]


class TransactionConflictException(DynamodbException):
    """What DynamoDB answers a single-item write on an item inside a transaction in progress."""

    error_type = "com.amazonaws.dynamodb.v20120810#TransactionConflictException"

    def __init__(self) -> None:
        super().__init__(self.error_type, message="Transaction is ongoing for the item")


@dataclass
class Stats:
    """What the emulator has done since it was installed (or since ``reset``)."""

    transactions: int = 0
    cancelled: int = 0
    writes_refused: int = 0
    conflicting_items: int = 0
    by_table: dict[str, int] = field(default_factory=dict)


class _Emulator:
    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.lock = threading.Lock()
        self.held: dict[_ItemKey, int] = {}
        self.next_id = 0
        self.stats = Stats()
        self.local = threading.local()


_emulator: _Emulator | None = None
_originals: dict[str, Any] = {}


def _item_key(backend: Any, table_name: str, key: dict[str, Any]) -> _ItemKey:
    return (table_name, tuple(sorted((name, json.dumps(value, sort_keys=True)) for name, value in key.items())))


def _key_of(backend: Any, op: dict[str, Any]) -> dict[str, Any] | None:
    if "Key" in op:
        return dict(op["Key"])
    attrs = op.get("Item") or {}
    try:
        table = backend.get_table(op["TableName"])
    except Exception:  # moto's own code reports an unknown table
        return None
    if table.hash_key_attr not in attrs:
        return None
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None and table.range_key_attr in attrs:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _positions(backend: Any, transact_items: list[dict[str, Any]]) -> list[_ItemKey | None]:
    out: list[_ItemKey | None] = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            key = _key_of(backend, op)
            out.append(_item_key(backend, op["TableName"], key) if key is not None else None)
        except Exception:  # a malformed item: moto's own validation answers it
            out.append(None)
    return out


def _inside(emulator: _Emulator) -> bool:
    return getattr(emulator.local, "depth", 0) > 0


@contextmanager
def _applying(emulator: _Emulator) -> Iterator[None]:
    emulator.local.depth = getattr(emulator.local, "depth", 0) + 1
    try:
        yield
    finally:
        emulator.local.depth -= 1


def install(duration: float | None = None) -> Stats:
    """Patch moto's DynamoDB backend (idempotent; a second call only changes the duration)."""
    global _emulator
    if duration is None:
        duration = float(os.environ.get(ENV_DURATION, DEFAULT_DURATION * 1000)) / 1000
    if _emulator is not None:
        _emulator.duration = duration
        return _emulator.stats
    emulator = _emulator = _Emulator(duration)
    backend_cls = dynamo_models.DynamoDBBackend
    for name in ("transact_write_items", "put_item", "update_item", "delete_item"):
        _originals[name] = getattr(backend_cls, name)
    original_transact = _originals["transact_write_items"]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        positions = _positions(self, transact_items)
        with emulator.lock:
            emulator.stats.transactions += 1
            clashes = [key is not None and key in emulator.held for key in positions]
            if any(clashes):
                emulator.stats.cancelled += 1
                emulator.stats.conflicting_items += sum(clashes)
                for key, clash in zip(positions, clashes, strict=True):
                    if clash and key is not None:
                        emulator.stats.by_table[key[0]] = emulator.stats.by_table.get(key[0], 0) + 1
                conflict = ("TransactionConflict", "Transaction is ongoing for the item", None)
                raise TransactionCanceledException([conflict if clash else (None, None, None) for clash in clashes])
            emulator.next_id += 1
            mine = emulator.next_id
            held = [key for key in dict.fromkeys(positions) if key is not None]
            for key in held:
                emulator.held[key] = mine
        try:
            if emulator.duration > 0:
                time.sleep(emulator.duration)  # the transaction in progress: its items stay held
        finally:
            # Held for ``duration``, not while moto, which applies one write at a time, makes it wait its turn:
            # DynamoDB has no such queue, and it would make every hold as long as the queue in front of it.
            with emulator.lock:
                for key in held:
                    if emulator.held.get(key) == mine:
                        del emulator.held[key]
        with _applying(emulator):
            original_transact(self, transact_items)

    def single(name: str) -> Any:
        original = _originals[name]

        def write(self: Any, table_name: str, key_or_item: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if not _inside(emulator):
                key: dict[str, Any] | None = key_or_item
                if name == "put_item":
                    key = _key_of(self, {"TableName": table_name, "Item": key_or_item})
                if key is not None:
                    with emulator.lock:
                        if _item_key(self, table_name, key) in emulator.held:
                            emulator.stats.writes_refused += 1
                            raise TransactionConflictException()
            return original(self, table_name, key_or_item, *args, **kwargs)

        return write

    backend_cls.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for name in ("put_item", "update_item", "delete_item"):
        setattr(backend_cls, name, single(name))
    return emulator.stats


def install_from_env() -> Stats | None:
    """Install when ``EF_EMULATE_TX_CONFLICTS=1`` (the duration from ``EF_TX_CONFLICT_DURATION_MS``)."""
    if os.environ.get(ENV_FLAG, "") not in ("1", "true", "yes"):
        return None
    return install()


def installed() -> bool:
    return _emulator is not None


def duration() -> float:
    return _emulator.duration if _emulator is not None else 0.0


def stats() -> Stats:
    return _emulator.stats if _emulator is not None else Stats()


def reset_stats() -> None:
    if _emulator is not None:
        with _emulator.lock:
            _emulator.stats.__init__()  # type: ignore[misc]  # zeroed in place: callers keep the object


def held() -> int:
    """How many items transactions in progress hold right now (tests wait on it)."""
    if _emulator is None:
        return 0
    with _emulator.lock:
        return len(_emulator.held)


def uninstall() -> None:
    """Put moto back as it was."""
    global _emulator
    if _emulator is None:
        return
    for name, method in _originals.items():
        setattr(dynamo_models.DynamoDBBackend, name, method)
    _originals.clear()
    _emulator = None
