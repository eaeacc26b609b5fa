"""Count the AWS requests the app makes, by service and operation, with bytes, items and computed RCU.

Two hooks, because the app reaches AWS two ways:

- boto3 clients made by ``chalicelib.clients.client`` (SES, SQS): a ``before-send`` handler counts each
  HTTP request and its body size; an ``after-call`` handler adds the response body size;
- PynamoDB (every DynamoDB call): ``pynamodb.connection.base.Connection.dispatch`` is wrapped. It is the
  one method every model, batch and transaction call goes through in PynamoDB 6.1, and it returns the
  response data, from which the items, their DynamoDB sizes and the read capacity are computed.

Read capacity comes from ``bench.capacity`` (DynamoDB's rules), never from moto's ConsumedCapacity.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import capacity


@dataclass
class Call:
    """One request to AWS."""

    service: str
    operation: str
    table: str = ""
    request_bytes: int = 0
    response_bytes: int = 0
    items: int = 0
    item_bytes: int = 0
    read_units: float = 0.0  # computed RCU (reads only); 0 for writes and non-DynamoDB calls
    actions: tuple[str, ...] = ()  # a transaction's actions, as "<Action> <table>"
    failed: bool = False


@dataclass
class Window:
    """The calls recorded while a ``Meter.window()`` was open."""

    calls: list[Call] = field(default_factory=list)
    dynamodb_http: int = 0  # HTTP requests PynamoDB's botocore client sent (retries would show here)

    def __len__(self) -> int:
        return len(self.calls)

    def by_operation(self) -> Counter[str]:
        return Counter(c.operation for c in self.calls)

    def only(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    @property
    def retried(self) -> int:
        """HTTP requests to DynamoDB beyond one per PynamoDB call (botocore retries)."""
        return self.dynamodb_http - sum(1 for c in self.calls if c.service == "dynamodb")

    @property
    def response_bytes(self) -> int:
        return sum(c.response_bytes for c in self.calls)

    @property
    def items(self) -> int:
        return sum(c.items for c in self.calls)

    @property
    def item_bytes(self) -> int:
        return sum(c.item_bytes for c in self.calls)

    @property
    def read_units(self) -> float:
        return sum(c.read_units for c in self.calls)

    def describe(self) -> str:
        """``2 calls (GetItem 1, TransactWriteItems 1)``."""
        parts = ", ".join(f"{op} {n}" for op, n in sorted(self.by_operation().items()))
        return f"{len(self)} call{'s' if len(self) != 1 else ''} ({parts})"


def _compact_size(data: Any) -> int:
    """Size of a response body as compact JSON, without botocore's ResponseMetadata."""
    body = {k: v for k, v in data.items() if k != "ResponseMetadata"} if isinstance(data, dict) else data
    return len(json.dumps(body, separators=(",", ":"), default=str))


def _actions(operation: str, kwargs: dict[str, Any]) -> tuple[str, ...]:
    if operation != "TransactWriteItems":
        return ()
    return tuple(
        f"{kind} {spec.get('TableName', '')}"
        for action in kwargs.get("TransactItems", [])
        for kind, spec in action.items()
    )


def _reads(operation: str, kwargs: dict[str, Any], data: dict[str, Any]) -> tuple[int, int, float]:
    """(items, item bytes, computed RCU) of one DynamoDB response."""
    consistent = bool(kwargs.get("ConsistentRead"))
    if operation == "GetItem":
        item = data.get("Item")
        size = capacity.item_size(item) if item else 0
        return (1 if item else 0), size, capacity.read_units(size, consistent=consistent)
    if operation in ("Query", "Scan"):
        # Scan would charge every item it evaluates; the app's measured paths never scan.
        items = data.get("Items", [])
        sizes = [capacity.item_size(i) for i in items]
        return len(items), sum(sizes), capacity.read_units(sum(sizes), consistent=consistent)
    if operation == "BatchGetItem":
        items = [i for found in data.get("Responses", {}).values() for i in found]
        sizes = [capacity.item_size(i) for i in items]
        return len(items), sum(sizes), sum(capacity.read_units(s, consistent=consistent) for s in sizes)
    return 0, 0, 0.0


class Meter:
    """Install with ``install()``; open a ``window()`` around the code to measure."""

    def __init__(self) -> None:
        self._windows: list[Window] = []
        self._hooked: list[Any] = []  # clients we registered on (kept alive, so ids stay unique)
        self._restore: list[Callable[[], None]] = []
        self._pending: Call | None = None  # the boto3 request whose response has not arrived yet

    # Recording -----------------------------------------------------------------------------------
    def _record(self, call: Call) -> Call:
        for window in self._windows:
            window.calls.append(call)
        return call

    @contextmanager
    def window(self) -> Iterator[Window]:
        window = Window()
        self._windows.append(window)
        try:
            yield window
        finally:
            self._windows.remove(window)

    # boto3 clients -------------------------------------------------------------------------------
    def _before_send(self, request: Any, event_name: str, **_: Any) -> None:
        service, operation = event_name.split(".", 2)[1:]
        body = request.body
        size = len(body) if isinstance(body, (bytes, str)) else 0
        self._pending = self._record(Call(service=service, operation=operation, request_bytes=size))

    def _after_call(self, http_response: Any, event_name: str, **_: Any) -> None:
        pending = self._pending
        if pending is not None and event_name.endswith(f".{pending.operation}"):
            pending.response_bytes = len(http_response.content or b"")
            pending.failed = http_response.status_code >= 300
            self._pending = None

    def hook_client(self, client: Any) -> Any:
        if not any(c is client for c in self._hooked):
            client.meta.events.register("before-send.*", self._before_send)
            client.meta.events.register("after-call.*", self._after_call)
            self._hooked.append(client)
        return client

    # PynamoDB ------------------------------------------------------------------------------------
    def _count_http(self, **_: Any) -> None:
        for window in self._windows:
            window.dynamodb_http += 1

    def _dispatch(self, original: Callable[..., Any]) -> Callable[..., Any]:
        meter = self

        def dispatch(conn: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
            client = conn.client  # PynamoDB's botocore client, made on first use
            if not any(c is client for c in meter._hooked):
                client.meta.events.register("before-send.dynamodb", meter._count_http)
                meter._hooked.append(client)
            call = meter._record(
                Call(
                    service="dynamodb",
                    operation=operation_name,
                    table=str(operation_kwargs.get("TableName", "")),
                    request_bytes=_compact_size(operation_kwargs),
                    actions=_actions(operation_name, operation_kwargs),
                    failed=True,
                )
            )
            data = original(conn, operation_name, operation_kwargs)
            call.failed = False
            if isinstance(data, dict):
                call.response_bytes = _compact_size(data)
                call.items, call.item_bytes, call.read_units = _reads(operation_name, operation_kwargs, data)
            return data

        return dispatch

    # Install / uninstall -------------------------------------------------------------------------
    def install(self) -> Meter:
        from pynamodb.connection.base import Connection

        from chalicelib import clients

        original_dispatch = Connection.dispatch
        Connection.dispatch = self._dispatch(original_dispatch)  # type: ignore[method-assign]
        self._restore.append(lambda: setattr(Connection, "dispatch", original_dispatch))

        original_client = clients.client

        def client(service: str) -> Any:
            return self.hook_client(original_client(service))

        clients.client = client
        self._restore.append(lambda: setattr(clients, "client", original_client))
        return self

    def uninstall(self) -> None:
        while self._restore:
            self._restore.pop()()
