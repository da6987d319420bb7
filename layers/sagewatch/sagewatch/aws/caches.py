"""What the caches sagewatch keeps between scans share: a per-user JSON file of entries per account/region
(the CLI's), written whole and atomically; and batched writes into the stack's state table. A cache is never a
source of truth: damaged or unwritten entries are simply worked out again."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_BATCH = 25  # BatchWriteItem's limit
ROUNDS = 5


class ScopedJsonFile:
    """One JSON object of entries keyed by scope ('account/region'); safe to share between threads."""

    def __init__(self, path: Path, prefix: str):
        self.path = path
        self.prefix = prefix  # of the temporary file the rewrite goes through
        self._lock = threading.Lock()  # scans of several accounts and regions share the file

    def read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: start again, as from an empty cache
        return doc if isinstance(doc, dict) else {}

    def entry(self, scope: str) -> dict[str, Any] | None:
        value = self.read().get(scope)
        return value if isinstance(value, dict) else None

    def update(self, scope: str, change: Callable[[dict[str, Any] | None], dict[str, Any]]) -> None:
        """Replace the scope's entry by change(old entry); the file is rewritten atomically."""
        with self._lock:
            doc = self.read()
            old = doc.get(scope)
            doc[scope] = change(old if isinstance(old, dict) else None)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.prefix, suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f)
            os.replace(tmp, self.path)


def batch_put(client: DynamoDBClient, table: str, items: list[dict[str, Any]]) -> None:
    """Items (DynamoDB attribute maps) in batches of 25, unprocessed ones retried a few times; what stays
    unwritten is worked out again next time."""
    for i in range(0, len(items), MAX_BATCH):
        batch: list[Any] = [{"PutRequest": {"Item": item}} for item in items[i : i + MAX_BATCH]]
        for attempt in range(ROUNDS):
            batch = list(
                client.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems", {}).get(table, [])
            )
            if not batch:
                break
            time.sleep(min(2**attempt * 0.1, 1.0))
