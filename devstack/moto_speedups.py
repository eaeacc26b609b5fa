"""Local-only speed-up for moto's DynamoDB transactions. Semantics unchanged.

moto 5 deep-copies every table a transaction touches, once per item, so that it can roll back; with a
few thousand items a 6-item transaction takes over 100 ms and the local stack crawls. This patch keeps
moto's own transaction code but snapshots only the items the transaction names, and restores those on
failure. ``tests/integration/test_moto_speedups.py`` checks rollback behaves as before.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.dynamodb import models as dynamo_models
from moto.dynamodb.models.table import Table

_state = threading.local()
# moto's DynamoDB is not thread-safe, and the moto server and chalice local are threaded: one re-entrant
# lock makes every write, and every whole transaction, atomic with respect to the others, as in DynamoDB.
_write_lock = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "batch_write_item")
_real_deepcopy = copy.deepcopy
_installed = False
_original: Any = None
_originals: dict[str, Any] = {}


class _CopyShim:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: tables are not copied while a
    patched transaction runs (their touched items are snapshotted instead)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if getattr(_state, "active", False) and isinstance(value, Table):
            return value
        return _real_deepcopy(value, memo)


def _key(table: Table, op: dict[str, Any]) -> dict[str, Any]:
    if "Key" in op:
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def install() -> None:
    global _installed, _original
    if _installed:
        return
    backend_cls = dynamo_models.DynamoDBBackend
    original = _original = backend_cls.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _write_lock:
            _transact(self, transact_items)

    def _transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for item in transact_items:
            try:
                _, op = next(iter(item.items()))
                name = op["TableName"]
                table = self.tables[name]
                key = _key(table, op)
                current = self.get_item(name, key)
            except Exception:  # moto's own code reports malformed items
                continue
            snapshots.append((name, key, _real_deepcopy(current.to_json()["Attributes"]) if current else None))
        _state.active = True
        try:
            original(self, transact_items)
        except Exception:
            for name, key, before in reversed(snapshots):
                if before is None:
                    if self.get_item(name, key) is not None:
                        self.delete_item(name, key)
                else:
                    self.put_item(name, before)
            raise
        finally:
            _state.active = False

    dynamo_models.copy = _CopyShim()  # type: ignore[attr-defined,assignment]
    backend_cls.transact_write_items = transact_write_items
    for name in _WRITES:
        if hasattr(backend_cls, name):
            _originals[name] = getattr(backend_cls, name)
            setattr(backend_cls, name, _locked(_originals[name]))
    _installed = True


def _locked(method: Any) -> Any:
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return method(self, *args, **kwargs)

    return run


def uninstall() -> None:
    """Put moto back as it was (tests that install the patch clean up after themselves)."""
    global _installed
    if not _installed:
        return
    dynamo_models.DynamoDBBackend.transact_write_items = _original
    for name, method in _originals.items():
        setattr(dynamo_models.DynamoDBBackend, name, method)
    _originals.clear()
    dynamo_models.copy = copy  # type: ignore[attr-defined]
    _installed = False
