"""The local stack's moto speed-up keeps DynamoDB transaction semantics: all or nothing."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack import moto_speedups


@pytest.fixture
def table():
    moto_speedups.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(20):
            client.put_item(TableName="t", Item={"k": {"S": str(i)}, "c": {"N": "1"}})
        yield client
    moto_speedups.uninstall()


def add(key: str, n: int) -> dict:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"k": {"S": key}},
            "UpdateExpression": "ADD c :n",
            "ExpressionAttributeValues": {":n": {"N": str(n)}},
        }
    }


def test_a_cancelled_transaction_leaves_every_item_as_it_was(table):
    with pytest.raises(ClientError) as caught:
        table.transact_write_items(
            TransactItems=[
                add("1", 100),
                {"Put": {"TableName": "t", "Item": {"k": {"S": "new"}}}},
                {"Delete": {"TableName": "t", "Key": {"k": {"S": "3"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"k": {"S": "2"}},
                        "ConditionExpression": "attribute_not_exists(k)",
                    }
                },
            ]
        )
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert table.get_item(TableName="t", Key={"k": {"S": "1"}})["Item"]["c"] == {"N": "1"}
    assert "Item" not in table.get_item(TableName="t", Key={"k": {"S": "new"}})
    assert table.get_item(TableName="t", Key={"k": {"S": "3"}})["Item"]["c"] == {"N": "1"}


def test_a_successful_transaction_applies_every_item(table):
    table.transact_write_items(TransactItems=[add("1", 5), add("2", 7)])
    assert table.get_item(TableName="t", Key={"k": {"S": "1"}})["Item"]["c"] == {"N": "6"}
    assert table.get_item(TableName="t", Key={"k": {"S": "2"}})["Item"]["c"] == {"N": "8"}
