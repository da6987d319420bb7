"""Resources the stack's template creates, made on moto for tests: tables keyed on id, watched queues."""

from __future__ import annotations

import json
from typing import Any


def id_table(ddb: Any, name: str) -> str:
    """An on-demand table keyed on the string `id` (the state and idempotency tables' shape)."""
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return name


def watch_queue(sqs: Any, name: str) -> tuple[str, str]:
    """A queue to watch what a topic or a bus carries: (url, arn)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(sqs: Any, url: str) -> list[Any]:
    """Every message waiting in a queue (JSON bodies), removed from it."""
    out: list[Any] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out
