"""What every part of DynamoStore shares: the transaction that can say which condition failed, the ISO text
the due index sorts, raw maps, and the mapping of throttles to TemporarilyUnavailable."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.operand import Path
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import tables as t
from chalicelib.domain.errors import TemporarilyUnavailable

DUE_SHARD = "due"


_THROTTLES = ("ProvisionedThroughputExceeded", "ThrottlingException", "RequestLimitExceeded")


def iso_second(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def throttled(exc: Exception) -> bool:
    text = f"{getattr(exc, 'cause_response_code', '')} {exc}"
    return any(code in text for code in _THROTTLES)


def cancellation_codes(exc: TransactWriteError) -> list[str]:
    return [(r.code if r is not None else "None") or "None" for r in (exc.cancellation_reasons or [])]


def plain(value: Any) -> Any:
    """Plain Python from a raw MapAttribute (PynamoDB returns MapAttribute for nested maps)."""
    if isinstance(value, t.MapAttribute):
        return {k: plain(v) for k, v in value.as_dict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


_BUSY = ("ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict", "RequestLimitExceeded")


class Tx:
    """A PynamoDB transaction that remembers which item each position is, so a cancellation can be read.

    PynamoDB sends condition checks, then deletes, then puts, then updates, whatever the call order.
    """

    def __init__(self) -> None:
        self.tx = TransactWrite(connection=t.connection())
        self.groups: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def __enter__(self) -> Tx:
        self.tx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.tx.__exit__(*exc)

    def check(self, label: str, model: Any, hash_key: str, range_key: str | None = None, *, condition: Any) -> None:
        self.groups["check"].append(label)
        self.tx.condition_check(model, hash_key, range_key, condition=condition)

    def delete(self, label: str, item: Any) -> None:
        self.groups["delete"].append(label)
        self.tx.delete(item)

    def save(self, label: str, item: Any, *, condition: Any = None) -> None:
        self.groups["put"].append(label)
        self.tx.save(item, condition=condition)

    def update(self, label: str, item: Any, *, actions: list[Any], condition: Any = None) -> None:
        self.groups["update"].append(label)
        self.tx.update(item, actions=actions, condition=condition)

    def counters(self, wave_id: str, per_cell: Mapping[str, Mapping[str, int]]) -> None:
        for cell, deltas in per_cell.items():
            actions = [Path([name]).add(delta) for name, delta in sorted(deltas.items()) if delta]
            if actions:
                self.update("aggregate", t.AggregateItem(wave_id, cell), actions=actions)

    def failed(self, exc: TransactWriteError) -> set[str]:
        """Labels whose condition failed; raises TemporarilyUnavailable when the cause was load."""
        order = self.groups["check"] + self.groups["delete"] + self.groups["put"] + self.groups["update"]
        codes = cancellation_codes(exc)
        if any(code in _BUSY for code in codes) or (not codes and throttled(exc)):
            raise TemporarilyUnavailable("the database is busy; try again") from exc
        return {label for label, code in zip(order, codes, strict=False) if code == "ConditionalCheckFailed"}


def _busy_mapped(method: Callable[..., Any]) -> Callable[..., Any]:
    """A throttle that botocore's retries did not absorb, on any call, becomes TemporarilyUnavailable (a 503
    page or JSON error, the form shown again with its answers, a retried invocation), as it already does for
    the transactions, rather than an unhandled error."""

    def busy(exc: PynamoDBException) -> bool:
        codes = cancellation_codes(exc) if isinstance(exc, TransactWriteError) else []
        return throttled(exc) or any(code in _BUSY for code in codes)

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(*args, **kwargs)
            except PynamoDBException as exc:
                if busy(exc):
                    raise TemporarilyUnavailable("the database is busy; try again") from exc
                raise

        stream.busy_mapped = True  # type: ignore[attr-defined]
        return stream

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except PynamoDBException as exc:
            if busy(exc):
                raise TemporarilyUnavailable("the database is busy; try again") from exc
            raise

    call.busy_mapped = True  # type: ignore[attr-defined]
    return call


StoreClass = TypeVar("StoreClass", bound=type)


def busy_when_throttled(cls: StoreClass) -> StoreClass:
    """Class decorator: every public method, its own or inherited, maps a throttle to TemporarilyUnavailable
    (``_busy_mapped``). Private helpers run inside a public method, so they are covered through it."""
    for name in dir(cls):
        method = getattr(cls, name)
        if not name.startswith("_") and inspect.isfunction(method) and not getattr(method, "busy_mapped", False):
            setattr(cls, name, _busy_mapped(method))
    return cls
