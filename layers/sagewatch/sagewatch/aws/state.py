"""Finding lifecycle state in DynamoDB: one item per finding id, expiring through TTL."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.cloudtrail import OWNER_PREFIX
from sagewatch.aws.config_cache import CONFIG_PREFIX
from sagewatch.lifecycle import FindingState, StateUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_BATCH = 25  # BatchWriteItem limit
MAX_ROUNDS = 8  # retries of unprocessed items


class StateStore:
    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table

    def load(self) -> dict[str, FindingState]:
        """Every record (a table per stack holds at most a few thousand)."""
        try:
            return self._load()
        except (ClientError, BotoCoreError) as exc:
            raise StateUnavailableError(f"cannot read {self.table}: {exc}") from exc

    def save(self, states: list[FindingState]) -> None:
        try:
            self._save(states)
        except (ClientError, BotoCoreError) as exc:
            raise StateUnavailableError(f"cannot write {self.table}: {exc}") from exc

    def _load(self) -> dict[str, FindingState]:
        states: dict[str, FindingState] = {}
        for page in self.client.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                if item["id"]["S"].startswith((CONFIG_PREFIX, OWNER_PREFIX)):
                    continue  # the config and owner caches share the table (aws.config_cache, aws.cloudtrail)
                state = FindingState.from_item(json.loads(item["doc"]["S"]))
                states[state.id] = state
        return states

    def _save(self, states: list[FindingState]) -> None:
        for i in range(0, len(states), MAX_BATCH):
            requests: list[Any] = [
                {
                    "PutRequest": {
                        "Item": {
                            "id": {"S": s.id},
                            "endpoint": {"S": s.endpoint},
                            "expires_at": {"N": str(int(s.expires_at.timestamp()))},  # the table's TTL attribute
                            "doc": {"S": json.dumps(s.to_item())},
                        }
                    }
                }
                for s in states[i : i + MAX_BATCH]
            ]
            for attempt in range(MAX_ROUNDS):
                response = self.client.batch_write_item(RequestItems={self.table: requests})
                requests = list(response.get("UnprocessedItems", {}).get(self.table, []))
                if not requests:
                    break
                time.sleep(min(2**attempt * 0.1, 2.0))
            else:
                raise StateUnavailableError(
                    f"DynamoDB left {len(requests)} state records unwritten after {MAX_ROUNDS} tries"
                )
