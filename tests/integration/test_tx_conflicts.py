"""The transaction-conflict emulator, pinned against DynamoDB's documented behaviour ("Transaction conflict
handling in DynamoDB"): a TransactWriteItems that names an item another TransactWriteItems in progress holds
is cancelled with TransactionCanceledException and reason TransactionConflict at that item's position; a
single-item write on a held item fails with TransactionConflictException; a cancelled transaction writes
nothing; calls that do not overlap in time never conflict."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack import tx_conflicts

TABLE = "conflicts"


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        tx_conflicts.install(duration=0.4)
        try:
            yield client
        finally:
            tx_conflicts.uninstall()


def add(pk: str, n: int = 1) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": "ADD n :n",
            "ExpressionAttributeValues": {":n": {"N": str(n)}},
        }
    }


def count(client: Any, pk: str) -> int:
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
    return int(item["n"]["N"]) if item else 0


def in_background(client: Any, items: list[dict[str, Any]]) -> threading.Thread:
    """Start a transaction and return once the emulator holds its items (it is then in progress)."""
    thread = threading.Thread(target=client.transact_write_items, kwargs={"TransactItems": items})
    thread.start()
    deadline = time.monotonic() + 5
    while tx_conflicts.held() == 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    assert tx_conflicts.held() > 0
    return thread


def reasons(exc: ClientError) -> list[str]:
    return [r["Code"] for r in exc.response["CancellationReasons"]]


def test_a_transaction_naming_a_held_item_is_cancelled_at_that_position(ddb: Any) -> None:
    first = in_background(ddb, [add("hot"), add("a")])
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=[add("b"), add("hot"), add("c")])
    first.join()
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert reasons(caught.value) == ["None", "TransactionConflict", "None"]
    # The first one went through; the cancelled one wrote nothing, not even its other items.
    assert (count(ddb, "hot"), count(ddb, "a"), count(ddb, "b"), count(ddb, "c")) == (1, 1, 0, 0)


def test_a_condition_check_is_part_of_the_transaction_too(ddb: Any) -> None:
    check = {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": {"pk": {"S": "wave"}},
            "ConditionExpression": "attribute_not_exists(closed)",
        }
    }
    first = in_background(ddb, [check, add("x")])
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=[add("y"), check])
    first.join()
    assert reasons(caught.value) == ["None", "TransactionConflict"]


@pytest.mark.parametrize("write", ["put_item", "update_item", "delete_item"])
def test_a_single_item_write_on_a_held_item_fails_with_transaction_conflict(ddb: Any, write: str) -> None:
    first = in_background(ddb, [add("hot")])
    key = {"pk": {"S": "hot"}}
    calls = {
        "put_item": lambda: ddb.put_item(TableName=TABLE, Item={**key, "n": {"N": "9"}}),
        "update_item": lambda: ddb.update_item(
            TableName=TABLE, Key=key, UpdateExpression="ADD n :n", ExpressionAttributeValues={":n": {"N": "5"}}
        ),
        "delete_item": lambda: ddb.delete_item(TableName=TABLE, Key=key),
    }
    with pytest.raises(ClientError) as caught:
        calls[write]()
    first.join()
    assert caught.value.response["Error"]["Code"] == "TransactionConflictException"
    assert count(ddb, "hot") == 1
    # An item nobody holds is written as usual, meanwhile or after.
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "cold"}, "n": {"N": "2"}})
    calls[write]()


def test_transactions_on_different_items_overlap_freely(ddb: Any) -> None:
    first = in_background(ddb, [add("a")])
    ddb.transact_write_items(TransactItems=[add("b")])
    first.join()
    assert (count(ddb, "a"), count(ddb, "b")) == (1, 1)


def test_calls_that_do_not_overlap_never_conflict(ddb: Any) -> None:
    tx_conflicts.install(duration=0.0)
    for _ in range(20):
        ddb.transact_write_items(TransactItems=[add("hot"), add("a")])
        ddb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "hot"}},
            UpdateExpression="ADD n :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
    assert count(ddb, "hot") == 40
    assert tx_conflicts.stats().cancelled == 0


def test_the_item_is_free_again_once_the_transaction_ends(ddb: Any) -> None:
    in_background(ddb, [add("hot")]).join()
    assert tx_conflicts.held() == 0
    ddb.transact_write_items(TransactItems=[add("hot")])
    assert count(ddb, "hot") == 2


def test_a_transaction_failing_its_own_condition_releases_its_items(ddb: Any) -> None:
    failing = {
        "Update": {
            "TableName": TABLE,
            "Key": {"pk": {"S": "hot"}},
            "UpdateExpression": "ADD n :n",
            "ConditionExpression": "attribute_exists(never)",
            "ExpressionAttributeValues": {":n": {"N": "1"}},
        }
    }
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=[failing])
    assert reasons(caught.value) == ["ConditionalCheckFailed"]
    assert tx_conflicts.held() == 0


def test_many_threads_on_one_counter_conflict_and_count_exactly_what_succeeded(ddb: Any) -> None:
    tx_conflicts.install(duration=0.15)  # long enough that 16 threads overlap on a loaded machine
    tx_conflicts.reset_stats()
    outcomes: list[bool] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            ddb.transact_write_items(TransactItems=[add("hot")])
            ok = True
        except ClientError as exc:
            assert reasons(exc) == ["TransactionConflict"]
            ok = False
        with lock:
            outcomes.append(ok)

    threads = [threading.Thread(target=one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 16
    assert count(ddb, "hot") == outcomes.count(True)
    assert tx_conflicts.stats().cancelled == outcomes.count(False) > 0
