"""Finding lifecycle state in DynamoDB: one item per finding id, expiring through TTL."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.cloudtrail import OWNER_PREFIX
from sagewatch.aws.config_cache import CONFIG_PREFIX
from sagewatch.aws.lock import LOCK_PREFIX
from sagewatch.aws.serving import DAILY_PREFIX
from sagewatch.cadence import KEEP, Conclusion, Conclusions
from sagewatch.fields import instant
from sagewatch.formats import iso_z
from sagewatch.lifecycle import FindingState, SnoozeAnchor, StateUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_BATCH = 25  # BatchWriteItem limit
MAX_ROUNDS = 8  # retries of unprocessed items
SNOOZE_PREFIX = "snooze#"  # snooze#ENDPOINT: when its snooze tag value was first seen (the cap counts from it)
SNOOZE_RETENTION_SECONDS = 400 * 86400
DEEP_PREFIX = "deep#"  # deep#ENDPOINT: what the deep scan concluded of it (sagewatch.cadence)
DEEP_HEADER = "deep#*"  # when the last complete deep scan ran, under which thresholds ("*" is in no endpoint name)


class StateStore:
    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table
        self._anchors: dict[str, SnoozeAnchor] = {}
        self._conclusions = Conclusions()

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

    def conclusions(self) -> Conclusions:
        """The deep scans' conclusions the last load() read (none before it)."""
        return self._conclusions

    def save_conclusions(
        self,
        found: Mapping[str, Conclusion],
        *,
        deep: datetime | None,
        thresholds: str,
        seconds_per_endpoint: float | None = None,
    ) -> None:
        """Each endpoint's conclusions (one item each, expiring after cadence.KEEP); then, for a complete deep
        scan (`deep`: when it ran), the header that lets hourly scans carry them. Written last: a deep scan cut
        short leaves the old header, and the next scan is deep again."""
        expires = str(int(time.time() + KEEP.total_seconds()))
        items: list[Any] = []
        for endpoint, conclusion in sorted(found.items()):
            doc = conclusion.to_doc()
            if doc is not None:  # too large for an item: that endpoint is judged in full every scan
                items.append({"id": {"S": f"{DEEP_PREFIX}{endpoint}"}, "expires_at": {"N": expires}, "doc": {"S": doc}})
        if deep is not None:
            header = json.dumps(
                {"as_of": iso_z(deep), "thresholds": thresholds, "seconds_per_endpoint": seconds_per_endpoint}
            )
            items.append({"id": {"S": DEEP_HEADER}, "expires_at": {"N": expires}, "doc": {"S": header}})
        try:
            for i in range(0, len(items), MAX_BATCH):  # in order: the header in the last batch
                self._write([{"PutRequest": {"Item": item}} for item in items[i : i + MAX_BATCH]])
        except (ClientError, BotoCoreError) as exc:
            raise StateUnavailableError(f"cannot write {self.table}: {exc}") from exc

    def _conclusion(self, key: str, item: Mapping[str, Any], into: dict[str, Conclusion]) -> dict[str, Any] | None:
        """A deep# item read into `into` (the header's document is returned). One written otherwise is passed
        over: its endpoint is then judged in full, never carried from what cannot be trusted."""
        try:
            if key == DEEP_HEADER:
                doc = json.loads(item["doc"]["S"])
                return doc if isinstance(doc, dict) else None
            endpoint = key.removeprefix(DEEP_PREFIX)
            into[endpoint] = Conclusion.from_doc(endpoint, item["doc"]["S"])
        except (KeyError, TypeError, ValueError):
            pass
        return None

    def _load(self) -> dict[str, FindingState]:
        states: dict[str, FindingState] = {}
        anchors: dict[str, SnoozeAnchor] = {}
        deep: dict[str, Conclusion] = {}
        header: dict[str, Any] | None = None
        for page in self.client.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                key = item["id"]["S"]
                if key.startswith((CONFIG_PREFIX, OWNER_PREFIX, LOCK_PREFIX, DAILY_PREFIX)):
                    continue  # the config and owner caches and the scan lock share the table
                if key.startswith(DEEP_PREFIX):
                    header = self._conclusion(key, item, deep) or header
                    continue
                if key.startswith(SNOOZE_PREFIX):
                    doc = json.loads(item["doc"]["S"])
                    anchors[key.removeprefix(SNOOZE_PREFIX)] = SnoozeAnchor(
                        str(doc["value"]), date.fromisoformat(str(doc["since"]))
                    )
                    continue
                state = FindingState.from_item(json.loads(item["doc"]["S"]))
                states[state.id] = state
        self._anchors = anchors
        self._conclusions = _conclusions(header, deep)
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


def _conclusions(header: Mapping[str, Any] | None, endpoints: dict[str, Conclusion]) -> Conclusions:
    """What the hourly scans may carry: nothing without a readable header (the next scan is deep)."""
    try:
        as_of = instant(header.get("as_of"), "as_of") if header else None
    except ValueError:
        as_of = None
    if as_of is None or header is None:
        return Conclusions(endpoints=endpoints)
    thresholds, rate = header.get("thresholds"), header.get("seconds_per_endpoint")
    # an endpoint the last deep scan did not judge (an error then) keeps an older item: not carried
    current = {name: c for name, c in endpoints.items() if c.as_of >= as_of}
    return Conclusions(
        as_of=as_of,
        thresholds=thresholds if isinstance(thresholds, str) else None,
        endpoints=current,
        seconds_per_endpoint=float(rate) if isinstance(rate, int | float) and 0 < rate < 3600 else None,
    )
