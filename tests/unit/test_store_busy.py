"""DynamoStore's throttle mapping: visible as one class decorator, and on every public method."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from pynamodb.exceptions import PutError, QueryError

from chalicelib.adapters.store import DynamoStore
from chalicelib.adapters.store.base import busy_when_throttled
from chalicelib.domain import ports
from chalicelib.domain.errors import TemporarilyUnavailable


def test_every_public_method_of_the_store_maps_a_throttle() -> None:
    public = [name for name in dir(DynamoStore) if not name.startswith("_")]
    assert {"claim", "mark_delivered", "due_invitations", "put_event"} <= set(public)
    unmapped = [name for name in public if not getattr(getattr(DynamoStore, name), "busy_mapped", False)]
    assert unmapped == []


def test_the_store_has_every_method_of_its_ports() -> None:
    wanted = {
        name for name, member in vars(ports.Store).items() if inspect.isfunction(member) and not name.startswith("_")
    }
    for port in ports.Store.__mro__:
        wanted |= {n for n, m in vars(port).items() if inspect.isfunction(m) and not n.startswith("_")}
    assert len(wanted) > 40
    assert sorted(n for n in wanted if not hasattr(DynamoStore, n)) == []


@busy_when_throttled
class _Flaky:
    def put(self) -> None:
        raise PutError("Failed to put item: An error occurred (ThrottlingException): Rate exceeded")

    def refused(self) -> None:
        raise PutError("Failed to put item: An error occurred (ValidationException): bad key")

    def stream(self) -> Iterator[int]:
        yield 1
        raise QueryError("An error occurred (ProvisionedThroughputExceededException)")


def test_a_throttle_becomes_temporarily_unavailable_and_other_errors_pass_through() -> None:
    with pytest.raises(TemporarilyUnavailable, match="the database is busy"):
        _Flaky().put()
    with pytest.raises(PutError, match="ValidationException"):
        _Flaky().refused()
    items = _Flaky().stream()
    assert next(items) == 1
    with pytest.raises(TemporarilyUnavailable, match="the database is busy"):
        next(items)
