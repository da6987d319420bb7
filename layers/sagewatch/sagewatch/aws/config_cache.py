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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sagewatch.aws.caches import ScopedJsonFile, batch_put

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEEP_DAYS = 30
CONFIG_PREFIX = "config#"  # state table ids of cached configs; finding ids never start so
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
        docs = [(f"{CONFIG_PREFIX}{scope}#{name}", json.dumps(configs[name])) for name in sorted(new)]
        docs.append((f"{CONFIG_PREFIX}{scope}", json.dumps({"scanned_at": scanned_at.isoformat()})))
        items = [
            {"id": {"S": key}, "endpoint": {"S": ""}, "expires_at": {"N": expires}, "doc": {"S": doc}}
            for key, doc in docs
        ]
        # Whatever stays unwritten is described again next scan: a cache, never a source of truth.
        batch_put(self.client, self.table, items)


class FileConfigArchive:
    """Cached configs in one JSON file (the CLI's), rewritten whole and atomically after each scan."""

    def __init__(self, path: Path):
        self.file = ScopedJsonFile(path, ".configs-")

    def load(self, scope: str) -> CachedConfigs:
        entry = self.file.entry(scope)
        if entry is None:
            return CachedConfigs()
        try:
            scanned_at = datetime.fromisoformat(str(entry["scanned_at"]))
            configs = {str(k): v for k, v in dict(entry["configs"]).items() if isinstance(v, dict)}
        except (KeyError, TypeError, ValueError):
            return CachedConfigs()
        return CachedConfigs(configs, scanned_at)

    def save(self, scope: str, configs: Mapping[str, dict[str, Any]], new: set[str], scanned_at: datetime) -> None:
        # only the configs this scan used: the file does not grow with configs long gone
        self.file.update(scope, lambda _old: {"scanned_at": scanned_at.isoformat(), "configs": dict(configs)})
