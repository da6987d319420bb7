"""Finding lifecycle state in DynamoDB: one item per finding id, expiring through TTL."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.cloudtrail import OWNER_PREFIX
from sagewatch.aws.config_cache import CONFIG_PREFIX
from sagewatch.aws.lock import LOCK_PREFIX
from sagewatch.aws.serving import DAILY_PREFIX
from sagewatch.lifecycle import FindingState, SnoozeAnchor, StateUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_BATCH = 25  # BatchWriteItem limit
MAX_ROUNDS = 8  # retries of unprocessed items
SNOOZE_PREFIX = "snooze#"  # snooze#ENDPOINT: when its snooze tag value was first seen (the cap counts from it)
SNOOZE_RETENTION_SECONDS = 400 * 86400


class StateStore:
    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table
        self._anchors: dict[str, SnoozeAnchor] = {}

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

    def anchors(self) -> dict[str, SnoozeAnchor]:
        """The snooze anchors the last load() read (none before it)."""
        return dict(self._anchors)

    def save_anchors(self, anchors: dict[str, SnoozeAnchor]) -> None:
        """Anchors of the snooze tags seen this scan; those no longer seen are left to expire."""
        expires = str(int(time.time()) + SNOOZE_RETENTION_SECONDS)
        changed = [(e, a) for e, a in anchors.items() if self._anchors.get(e) != a]
        items: list[Any] = [
            {
                "PutRequest": {
                    "Item": {
                        "id": {"S": f"{SNOOZE_PREFIX}{endpoint}"},
                        "expires_at": {"N": expires},
                        "doc": {"S": json.dumps({"value": anchor.value, "since": anchor.since.isoformat()})},
                    }
                }
            }
            for endpoint, anchor in changed
        ]
        try:
            for i in range(0, len(items), MAX_BATCH):  # the scan role writes state in batches only
                self._write(items[i : i + MAX_BATCH])
        except (ClientError, BotoCoreError) as exc:
            raise StateUnavailableError(f"cannot write {self.table}: {exc}") from exc
        self._anchors.update(anchors)

    def _load(self) -> dict[str, FindingState]:
        states: dict[str, FindingState] = {}
        anchors: dict[str, SnoozeAnchor] = {}
        for page in self.client.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                key = item["id"]["S"]
                if key.startswith((CONFIG_PREFIX, OWNER_PREFIX, LOCK_PREFIX, DAILY_PREFIX)):
                    continue  # the config and owner caches and the scan lock share the table
                if key.startswith(SNOOZE_PREFIX):
                    doc = json.loads(item["doc"]["S"])
                    anchors[key.removeprefix(SNOOZE_PREFIX)] = SnoozeAnchor(
                        str(doc["value"]), date.fromisoformat(str(doc["since"]))
                    )
                    continue
                state = FindingState.from_item(json.loads(item["doc"]["S"]))
                states[state.id] = state
        self._anchors = anchors
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
            self._write(requests)

    def _write(self, requests: list[Any]) -> None:
        """One BatchWriteItem of at most 25 puts, its unprocessed items retried with backoff."""
        for attempt in range(MAX_ROUNDS):
            response = self.client.batch_write_item(RequestItems={self.table: requests})
            requests = list(response.get("UnprocessedItems", {}).get(self.table, []))
            if not requests:
                return
            time.sleep(min(2**attempt * 0.1, 2.0))
        raise StateUnavailableError(f"DynamoDB left {len(requests)} state records unwritten after {MAX_ROUNDS} tries")
