"""What the Slack app's function needs from AWS: its Apply tokens (kept in the idempotency table, by hash, with a
TTL), the remediation function (invoked with who clicked), and its own asynchronous invocation (the work after
Slack's three seconds)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sagewatch.aws.clients import conditional_failed
from sagewatch.slackapp import token_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient


class SlackTokens:
    """Apply tokens: an item per token hash with what the token grants; single use (a conditional delete takes
    it), gone after its expiry whatever happens (the read checks it; the table's TTL removes it)."""

    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table

    def put(self, token: str, grant: Mapping[str, Any], expires: datetime) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "id": {"S": token_key(token)},
                "grant": {"S": json.dumps(grant, separators=(",", ":"))},
                "expiration": {"N": str(int(expires.timestamp()))},  # the idempotency table's TTL attribute
            },
            ConditionExpression="attribute_not_exists(id)",
        )

    def get(self, token: str, now: datetime) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key={"id": {"S": token_key(token)}}, ConsistentRead=True)
        found = item.get("Item")
        if not found or int(found["expiration"]["N"]) <= int(now.timestamp()):
            return None
        grant: dict[str, Any] = json.loads(found["grant"]["S"])
        return grant

    def take(self, token: str, now: datetime) -> bool:
        """Use the token up: True once, for an unexpired token; False ever after."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"id": {"S": token_key(token)}},
                ConditionExpression="attribute_exists(id) AND expiration > :now",
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True


class RemediationFunction:
    """The deployed remediation function, invoked synchronously with who asked (and who applied) in its client
    context: its rails, idempotency, audit and notice are the ones every other caller gets (the CLI and the
    Slack app alike)."""

    def __init__(self, client: LambdaClient, function: str):
        self.client = client
        self.function = function

    def run(self, request: Mapping[str, Any], requested_by: Mapping[str, Any]) -> dict[str, Any]:
        context = base64.b64encode(json.dumps({"custom": dict(requested_by)}).encode()).decode()
        response = self.client.invoke(
            FunctionName=self.function,
            InvocationType="RequestResponse",
            Payload=json.dumps(request),
            ClientContext=context,
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            return {"status": "error", "error": payload.get("errorMessage") if isinstance(payload, dict) else payload}
        if not isinstance(payload, dict):
            return {"status": "error", "error": f"the remediation function answered no JSON object: {payload!r:.200}"}
        return payload


class SelfInvoke:
    """This function again, asynchronously: Slack gets its answer within three seconds, the work runs after."""

    def __init__(self, client: LambdaClient, function_arn: str):
        self.client = client
        self.function_arn = function_arn

    def __call__(self, job: Mapping[str, Any]) -> None:
        self.client.invoke(FunctionName=self.function_arn, InvocationType="Event", Payload=json.dumps(job).encode())
