"""What every part of DynamoStore shares: the transaction that can say which condition failed, the ISO text
the due index sorts, raw maps, and the mapping of throttles to TemporarilyUnavailable."""

from __future__ import annotations

import functools
import inspect
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.operand import Path
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import tables as t
from chalicelib.domain.errors import TemporarilyUnavailable

DUE_SHARD = "due"


# ...and TransactionConflictException: a single-item write on an item a transaction in progress holds, which
# DynamoDB asks to send again and botocore does not retry (a busy answer: 503, or the job retried).
_THROTTLES = ("ProvisionedThroughputExceeded", "ThrottlingException", "RequestLimitExceeded", "TransactionConflict")


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


class StoreBusy(TemporarilyUnavailable):
    """The store's "busy" answer (a 503, the form shown again, a retried invocation), carrying what ops need to
    know why: the DynamoDB operation, its error code and, for a transaction, the items it could not write (their
    kinds, never a key). The first store method it passes through logs and counts it, once (``_report``)."""

    def __init__(self, *, dynamodb_operation: str | None, error_code: str | None, items: tuple[str, ...] = ()):
        super().__init__("the database is busy; try again")
        self.dynamodb_operation = dynamodb_operation
        self.error_code = error_code
        self.items = items
        self.reported = False

    @classmethod
    def from_error(cls, exc: PynamoDBException, items: tuple[str, ...] = ()) -> StoreBusy:
        cause = getattr(exc, "cause", None)
        codes = cancellation_codes(exc) if isinstance(exc, TransactWriteError) else []
        code = next((c for c in codes if c in _BUSY), None) or getattr(exc, "cause_response_code", None)
        operation = getattr(cause, "operation_name", None)
        return cls(dynamodb_operation=operation, error_code=code, items=items)


def _report(busy: StoreBusy, store_operation: str) -> StoreBusy:
    """One warning and one ``DatabaseBusy`` count per busy answer, named after the store method it left."""
    if not busy.reported:
        busy.reported = True
        from chalicelib import observability

        observability.logger.warning(
            "the database is busy",
            extra={
                "store_operation": store_operation,
                "dynamodb_operation": busy.dynamodb_operation,
                "error_code": busy.error_code,
                "items": list(busy.items),
            },
        )
        observability.count("DatabaseBusy")
    return busy


# Counters: a cell's counters live in ``<dimension>#<value>``, and, once a write to it met a transaction conflict,
# also in shard items ``<dimension>#<value>!<n>`` (n in 1..COUNTER_SHARDS-1, drawn at random on every retry). So a
# wave answered at a calm pace keeps one item per cell (a summary reads what it always read), and a burst spreads
# only the cells it actually queued on (``sponsored#no``, ``language#en``) over up to COUNTER_SHARDS items: DynamoDB
# cancels a transaction naming an item another transaction in progress holds (TransactionConflict). A summary
# still reads a dimension in one Query and adds the shards up.
COUNTER_SHARDS = 16
# A transaction cancelled only because of conflicts or throttling (no condition failed) is tried again within
# the request, at most TX_ATTEMPTS times in all, after a full-jitter exponential pause (at most TX_PAUSE_CAP).
TX_ATTEMPTS = 8
TX_PAUSE_BASE = 0.01
TX_PAUSE_CAP = 0.2
_random = random.SystemRandom()
_sleep = time.sleep


def shard_key(cell: str) -> str:
    """A shard of ``cell`` other than its own item, drawn at random."""
    return f"{cell}!{_random.randrange(1, COUNTER_SHARDS)}" if COUNTER_SHARDS > 1 else cell


def unshard(cell: str) -> str:
    """The cell a counter item belongs to: its key without the shard suffix (none on a cell's own item)."""
    base, sep, shard = cell.rpartition("!")
    return base if sep and shard.isdigit() else cell


def tx_pause(attempt: int) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
    return _random.uniform(0, min(TX_PAUSE_CAP, TX_PAUSE_BASE * 2**attempt))


# Cells that met a conflict in this process lately: their updates go to a shard from the first attempt, for
# HOT_SECONDS, so that a burst stops queuing on their own items once it has been seen (a Lambda container serves
# many answers of a burst in turn).
HOT_SECONDS = 60.0
_hot: dict[tuple[str, str], float] = {}
_hot_lock = threading.Lock()


def _is_hot(wave_id: str, cell: str) -> bool:
    with _hot_lock:
        until = _hot.get((wave_id, cell))
        return until is not None and until > time.monotonic()


def _mark_hot(wave_id: str, cell: str) -> None:
    with _hot_lock:
        if len(_hot) > 4096:
            _hot.clear()
        _hot[(wave_id, cell)] = time.monotonic() + HOT_SECONDS


class _CounterUpdate:
    """One cell's counter update in a transaction: on the cell's own item, unless the cell met a conflict lately
    (in this transaction or in this process), then on a shard drawn again for every attempt."""

    def __init__(self, wave_id: str, cell: str, actions: list[Any]) -> None:
        self.wave_id, self.cell, self.actions = wave_id, cell, actions
        self.sharded = False

    def __call__(self, tw: TransactWrite) -> None:
        sharded = self.sharded or _is_hot(self.wave_id, self.cell)
        tw.update(t.AggregateItem(self.wave_id, shard_key(self.cell) if sharded else self.cell), actions=self.actions)


class Tx:
    """A PynamoDB transaction that remembers which item each position is, so a cancellation can be read, and
    that tries again, with fresh counter shards, when DynamoDB cancelled it for a conflict or throttling only.

    The operations are recorded in the ``with`` block and sent when it ends: PynamoDB sends condition checks,
    then deletes, then puts, then updates, whatever the call order. Every retry and every give-up is logged
    (item kinds and IDs only) and counted (``TransactionConflictRetries``, ``TransactionConflictGaveUp``).
    """

    def __init__(self) -> None:
        # Per kind of action, in PynamoDB's sending order: (label, the call that adds it to a TransactWrite).
        self.groups: dict[str, list[tuple[str, Callable[[TransactWrite], None]]]] = {
            "check": [],
            "delete": [],
            "put": [],
            "update": [],
        }
        self.wave_id: str | None = None
        self.attempts = 0

    def __enter__(self) -> Tx:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self._commit()

    def check(self, label: str, model: Any, hash_key: str, range_key: str | None = None, *, condition: Any) -> None:
        self._add("check", label, lambda tw: tw.condition_check(model, hash_key, range_key, condition=condition))

    def delete(self, label: str, item: Any) -> None:
        self._add("delete", label, lambda tw: tw.delete(item))

    def save(self, label: str, item: Any, *, condition: Any = None) -> None:
        self._add("put", label, lambda tw: tw.save(item, condition=condition))

    def update(
        self, label: str, item: Any, *, actions: list[Any], condition: Any = None, return_old: bool = False
    ) -> None:
        """``return_old``: when its condition fails, the cancellation carries the item (``old_item``)."""
        returned = "ALL_OLD" if return_old else None
        self._add(
            "update", label, lambda tw: tw.update(item, actions=actions, condition=condition, return_values=returned)
        )

    def old_item(self, exc: TransactWriteError, label: str) -> dict[str, Any] | None:
        """The raw item at ``label``'s position as it was when its condition failed (``return_old``)."""
        reasons = exc.cancellation_reasons or []
        for position, name in enumerate(self._order()):
            if name == label and position < len(reasons) and reasons[position] is not None:
                return reasons[position].raw_item  # type: ignore[union-attr]
        return None

    def counters(self, wave_id: str, per_cell: Mapping[str, Mapping[str, int]]) -> None:
        """Add the deltas to each cell's own item, or, once it met a conflict, to a shard of it."""
        self.wave_id = wave_id
        for cell, deltas in per_cell.items():
            actions = [Path([name]).add(delta) for name, delta in sorted(deltas.items()) if delta]
            if actions:
                self._add("update", "aggregate", _CounterUpdate(wave_id, cell, actions))

    def _add(self, group: str, label: str, op: Callable[[TransactWrite], None]) -> None:
        self.groups[group].append((label, op))

    def _positions(self) -> list[tuple[str, Callable[[TransactWrite], None]]]:
        """Every action, at its position in the request DynamoDB's cancellation reasons refer to."""
        return [entry for group in self.groups.values() for entry in group]

    def _order(self) -> list[str]:
        return [label for label, _ in self._positions()]

    def _commit(self) -> None:
        for attempt in range(1, TX_ATTEMPTS + 1):
            self.attempts = attempt
            tw = TransactWrite(connection=t.connection())
            try:
                with tw:
                    for _, op in self._positions():
                        op(tw)
                return
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes or not any(code in _BUSY for code in codes):
                    raise
                items = sorted({label for label, code in zip(self._order(), codes, strict=False) if code in _BUSY})
                from chalicelib import observability

                fields = {"attempt": attempt, "items": items, "codes": sorted(set(codes) & set(_BUSY))}
                if self.wave_id:
                    fields["wave_id"] = self.wave_id
                if attempt == TX_ATTEMPTS:
                    observability.logger.warning("transaction cancelled, giving up", extra=fields)
                    observability.count("TransactionConflictGaveUp")
                    raise
                observability.logger.info("transaction cancelled, trying again", extra=fields)
                observability.count("TransactionConflictRetries")
                for (_, op), code in zip(self._positions(), codes, strict=False):
                    if isinstance(op, _CounterUpdate):
                        op.sharded = True  # a burst: this transaction's counters spread from now on
                        if code in _BUSY:
                            _mark_hot(op.wave_id, op.cell)  # and this cell's, in this process, for a while
                _sleep(tx_pause(attempt))

    def failed(self, exc: TransactWriteError) -> set[str]:
        """Labels whose condition failed; raises TemporarilyUnavailable when the cause was load."""
        order = self._order()
        codes = cancellation_codes(exc)
        if "ConditionalCheckFailed" not in codes and (
            any(code in _BUSY for code in codes) or (not codes and throttled(exc))
        ):
            refused = tuple(dict.fromkeys(label for label, code in zip(order, codes, strict=False) if code in _BUSY))
            raise StoreBusy.from_error(exc, refused) from exc
        return {label for label, code in zip(order, codes, strict=False) if code == "ConditionalCheckFailed"}


def _busy_mapped(method: Callable[..., Any]) -> Callable[..., Any]:
    """A throttle that botocore's retries did not absorb, on any call, becomes TemporarilyUnavailable (a 503
    page or JSON error, the form shown again with its answers, a retried invocation), as it already does for
    the transactions, rather than an unhandled error."""

    def busy(exc: PynamoDBException) -> bool:
        codes = cancellation_codes(exc) if isinstance(exc, TransactWriteError) else []
        return throttled(exc) or any(code in _BUSY for code in codes)

    name = method.__name__

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(*args, **kwargs)
            except StoreBusy as exc:
                raise _report(exc, name) from exc.__cause__
            except PynamoDBException as exc:
                if busy(exc):
                    raise _report(StoreBusy.from_error(exc), name) from exc
                raise

        stream.busy_mapped = True  # type: ignore[attr-defined]
        return stream

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except StoreBusy as exc:
            raise _report(exc, name) from exc.__cause__
        except PynamoDBException as exc:
            if busy(exc):
                raise _report(StoreBusy.from_error(exc), name) from exc
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
