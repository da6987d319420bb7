"""Endpoint config descriptions kept between scans: configs are immutable, so a scan describes only those it
has not seen. A name can be reused after its config is deleted; the configs created since the last scan
(`ListEndpointConfigs` with `CreationTimeAfter`, usually one call) drop any cached entry of the same name.

Two archives: the stack's state table (items `config#...`, expiring after `KEEP_DAYS` so configs no longer
used go away, and a used one is described again that often) and, for the CLI, a JSON file under
`~/.cache/sagewatch/`. Entries are keyed by account, region and config name: a file shared by several
accounts never answers one account with another's config.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEEP_DAYS = 30
CONFIG_PREFIX = "config#"  # state table ids of cached configs; finding ids never start so
MAX_BATCH = 25
# CreationTime comes from SageMaker's clock, the last scan's time from ours: list a little further back.
CLOCK_MARGIN = timedelta(minutes=10)


def scope_of(endpoint_arn: str) -> str:
    """'account/region' of an endpoint ARN (arn:aws:sagemaker:REGION:ACCOUNT:endpoint/NAME)."""
    parts = endpoint_arn.split(":")
    return f"{parts[4]}/{parts[3]}" if len(parts) > 5 else "unknown"


def storable(description: Mapping[str, Any]) -> dict[str, Any]:
    """A DescribeEndpointConfig answer as JSON can keep it (datetimes as ISO text, no response metadata)."""
    doc: dict[str, Any] = json.loads(
        json.dumps({k: v for k, v in description.items() if k != "ResponseMetadata"}, default=_iso)
    )
    return doc


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


@dataclass
class CachedConfigs:
    """What an archive holds for one account and region."""

    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # config name -> description
    scanned_at: datetime | None = None  # when the configs were last checked against a listing


class ConfigArchive(Protocol):
    def load(self, scope: str) -> CachedConfigs: ...
    def save(self, scope: str, configs: Mapping[str, dict[str, Any]], new: set[str], scanned_at: datetime) -> None:
        """`configs`: every config the scan used (by name); `new`: those it described (not from the cache)."""
        ...


class TableConfigArchive:
    """Cached configs in the stack's state table, one item each; only new ones are written."""

    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table

    def load(self, scope: str) -> CachedConfigs:
        found = CachedConfigs()
        prefix = f"{CONFIG_PREFIX}{scope}#"
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="begins_with(#id, :p)",
            ExpressionAttributeNames={"#id": "id"},
            ExpressionAttributeValues={":p": {"S": f"{CONFIG_PREFIX}{scope}"}},
        )
        for page in pages:
            for item in page.get("Items", []):
                key, doc = item["id"]["S"], json.loads(item["doc"]["S"])
                if key == f"{CONFIG_PREFIX}{scope}":  # the scope's own item: when it was last listed
                    found.scanned_at = datetime.fromisoformat(doc["scanned_at"])
                elif key.startswith(prefix):
                    found.configs[key[len(prefix) :]] = doc
        return found

    def save(self, scope: str, configs: Mapping[str, dict[str, Any]], new: set[str], scanned_at: datetime) -> None:
        expires = str(int((scanned_at + timedelta(days=KEEP_DAYS)).timestamp()))
        items = [{"id": f"{CONFIG_PREFIX}{scope}#{name}", "doc": json.dumps(configs[name])} for name in sorted(new)]
        items.append({"id": f"{CONFIG_PREFIX}{scope}", "doc": json.dumps({"scanned_at": scanned_at.isoformat()})})
        for i in range(0, len(items), MAX_BATCH):
            requests: list[Any] = [
                {
                    "PutRequest": {
                        "Item": {
                            "id": {"S": it["id"]},
                            "endpoint": {"S": ""},
                            "expires_at": {"N": expires},
                            "doc": {"S": it["doc"]},
                        }
                    }
                }
                for it in items[i : i + MAX_BATCH]
            ]
            for attempt in range(5):
                answer = self.client.batch_write_item(RequestItems={self.table: requests})
                requests = list(answer.get("UnprocessedItems", {}).get(self.table, []))
                if not requests:
                    break
                time.sleep(min(2**attempt * 0.1, 1.0))
            # Whatever stays unwritten is described again next scan: a cache, never a source of truth.


class FileConfigArchive:
    """Cached configs in one JSON file (the CLI's), rewritten whole and atomically after each scan."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()  # scans of several accounts and regions share the file

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: start again, as from an empty cache
        return doc if isinstance(doc, dict) else {}

    def load(self, scope: str) -> CachedConfigs:
        entry = self._read().get(scope)
        if not isinstance(entry, dict):
            return CachedConfigs()
        try:
            scanned_at = datetime.fromisoformat(str(entry["scanned_at"]))
            configs = {str(k): v for k, v in dict(entry["configs"]).items() if isinstance(v, dict)}
        except (KeyError, TypeError, ValueError):
            return CachedConfigs()
        return CachedConfigs(configs, scanned_at)

    def save(self, scope: str, configs: Mapping[str, dict[str, Any]], new: set[str], scanned_at: datetime) -> None:
        with self._lock:
            self._save(scope, configs, scanned_at)

    def _save(self, scope: str, configs: Mapping[str, dict[str, Any]], scanned_at: datetime) -> None:
        doc = self._read()
        # only the configs this scan used: the file does not grow with configs long gone
        doc[scope] = {"scanned_at": scanned_at.isoformat(), "configs": dict(configs)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".configs-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.replace(tmp, self.path)
