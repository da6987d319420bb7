"""A lease on one item of a DynamoDB table: what keeps two scans apart when the stack reserves no concurrency.

A conditional PutItem takes the item only if nobody holds it or the holder's lease has ended (a run that died
without giving it back blocks nobody for longer than its own timeout), or the lease ends later than any run's can
(a lease longer than the function's timeout and a minute, with a minute's slack: written by no run, so ignored:
a planted or corrupt item cannot stop every scan); a DeleteItem conditioned on the holder gives it back, never
someone else's. The item also carries the table's TTL attribute, so a forgotten lock
disappears by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from sagewatch.app.ports import Lease
from sagewatch.aws.clients import conditional_failed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOCK_PREFIX = "lock#"  # lock#scan: items the finding state store passes over
SLACK = timedelta(minutes=1)  # how much longer than our own lease another run's may end (it started a little earlier)


class TableLock:
    def __init__(self, client: DynamoDBClient, table: str, name: str):
        self.client = client
        self.table = table
        self.key = f"{LOCK_PREFIX}{name}"

    def acquire(self, holder: str, now: datetime, until: datetime) -> Lease:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": self.key},
                    "holder": {"S": holder[:200]},
                    "taken_at": {"N": str(int(now.timestamp()))},
                    "expires_at": {"N": str(int(until.timestamp()))},  # the lease's end, and the table's TTL
                },
                ConditionExpression="attribute_not_exists(id) OR expires_at < :now OR expires_at > :longest",
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now.timestamp()))},
                    ":longest": {"N": str(int((until + SLACK).timestamp()))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            # ReturnValuesOnConditionCheckFailure: the item that stood in the way comes with the error
            old: dict[str, Any] = dict(cast(Mapping[str, Any], exc.response).get("Item") or {})
            held_by = str(old.get("holder", {}).get("S", "another run"))
            ends = int(old.get("expires_at", {}).get("N", "0") or 0)
            return Lease(False, held_by, datetime.fromtimestamp(ends, UTC))
        return Lease(True, holder[:200], until)

    def release(self, holder: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"id": {"S": self.key}},
                ConditionExpression="holder = :me",
                ExpressionAttributeValues={":me": {"S": holder[:200]}},
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            # our lease ended and another run took the lock: it is theirs to give back
