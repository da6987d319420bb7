"""Who created (and last updated) an endpoint, from CloudTrail's event history (`LookupEvents`).

LookupEvents allows 2 calls a second per account and region and one lookup attribute per call. sagewatch
reads `EventName=CreateEndpoint` pages (50 events each, newest first) once for every endpoint it wants at
the same time, then `UpdateEndpoint` for the ones updated since, within a per-scan budget of calls, paced
at 2 a second. Answers are cached (the state table for the stack, a file for the CLI), keyed by the
endpoint's name and creation time (names are reused): each endpoint is looked up once, never every scan.
A throttled or refused lookup leaves owners unknown and says so; it never fails the scan.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.caches import ScopedJsonFile, batch_put
from sagewatch.aws.clients import error_code
from sagewatch.owners import (
    CREATE,
    CREATE_SLACK,
    HISTORY,
    UPDATE,
    EndpointRef,
    TrailFacts,
    TrailRecord,
    creator,
    last_updater,
    record_of,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_dynamodb import DynamoDBClient

OWNER_PREFIX = "owner#"  # state table ids of cached CloudTrail answers; finding ids never start so
KEEP_DAYS = 120  # past CloudTrail's 90 days: an endpoint older than that is never looked up again anyway
MIN_INTERVAL = 0.5  # seconds between LookupEvents calls: 2 a second per account and region
# CloudTrail delivers an event typically within about 5 minutes of its call, without a promise: a creator not
# found for an endpoint younger than this is not final (asked again next scan, never cached as unknown)
DELIVERY = timedelta(minutes=15)
PAGE = 50


class OwnerCache(Protocol):
    def load(self, scope: str) -> dict[str, TrailFacts]: ...
    def save(self, scope: str, facts: Mapping[str, TrailFacts], now: datetime) -> None: ...


class TableOwnerCache:
    """Answers in the stack's state table, one item each (`owner#SCOPE#NAME#CREATED`), expiring after 120 days."""

    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table

    def load(self, scope: str) -> dict[str, TrailFacts]:
        prefix = f"{OWNER_PREFIX}{scope}#"
        out: dict[str, TrailFacts] = {}
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="begins_with(#id, :p)",
            ExpressionAttributeNames={"#id": "id"},
            ExpressionAttributeValues={":p": {"S": prefix}},
        )
        for page in pages:
            for item in page.get("Items", []):
                try:
                    out[item["id"]["S"][len(prefix) :]] = TrailFacts.from_doc(json.loads(item["doc"]["S"]))
                except (KeyError, ValueError, TypeError):
                    continue  # a damaged entry is looked up again
        return out

    def save(self, scope: str, facts: Mapping[str, TrailFacts], now: datetime) -> None:
        expires = str(int((now + timedelta(days=KEEP_DAYS)).timestamp()))
        items = [
            {
                "id": {"S": f"{OWNER_PREFIX}{scope}#{key}"},
                "endpoint": {"S": key.split("#", 1)[0]},
                "expires_at": {"N": expires},
                "doc": {"S": json.dumps(value.to_doc())},
            }
            for key, value in facts.items()
        ]
        batch_put(self.client, self.table, items)


class FileOwnerCache:
    """The CLI's answers, in one JSON file per user (`~/.cache/sagewatch/owners.json`), per account/region."""

    def __init__(self, path: Path):
        self.file = ScopedJsonFile(path, ".owners-")

    def load(self, scope: str) -> dict[str, TrailFacts]:
        entries = self.file.entry(scope) or {}
        return {str(k): TrailFacts.from_doc(v) for k, v in entries.items() if isinstance(v, dict)}

    def save(self, scope: str, facts: Mapping[str, TrailFacts], now: datetime) -> None:
        self.file.update(scope, lambda old: {**(old or {}), **{k: v.to_doc() for k, v in facts.items()}})


class _StopError(Exception):
    """LookupEvents refused or throttled beyond retries: stop asking for this scan."""


class TrailOwners:
    """CloudTrail's answer for endpoints, from the cache, else from LookupEvents within `budget` calls."""

    def __init__(
        self,
        client: CloudTrailClient | None,
        cache: OwnerCache,
        scope: str,
        *,
        budget: int = 20,
        min_interval: float = MIN_INTERVAL,
    ):
        self.client = client
        self.cache = cache
        self.scope = scope
        self.budget = budget
        self.min_interval = min_interval
        self.calls = 0
        self._last_call = 0.0

    def facts(
        self, refs: Sequence[EndpointRef], look_up: set[str], now: datetime
    ) -> tuple[dict[str, TrailFacts], list[str]]:
        """CloudTrail's facts for `refs` (by endpoint name): cached ones for all; LookupEvents only for the
        uncached endpoints named in `look_up` (within the budget). Returns them and what to warn of."""
        try:
            cached = self.cache.load(self.scope)
        except (ClientError, BotoCoreError) as exc:
            cached = {}
            warnings = [f"the owner cache could not be read ({type(exc).__name__}); looked up again"]
        else:
            warnings = []
        found = {r.name: replace(cached[r.key], cached=True) for r in refs if r.key in cached}
        wanted = [r for r in refs if r.key not in cached and r.name in look_up]
        if not wanted or self.client is None:
            return found, warnings
        fresh, settled, problem = self._search(wanted, now)
        if settled:
            try:
                self.cache.save(self.scope, {r.key: fresh[r.name] for r in wanted if r.name in settled}, now)
            except (ClientError, BotoCoreError) as exc:
                warnings.append(f"the owner cache could not be written ({type(exc).__name__}); looked up again later")
        if problem:
            unknown = sum(1 for r in wanted if r.name not in fresh)
            warnings.append(f"{problem}: the owners of {unknown} endpoints stay unknown for now")
        return found | fresh, warnings

    # --- LookupEvents ---

    def _search(self, wanted: list[EndpointRef], now: datetime) -> tuple[dict[str, TrailFacts], set[str], str | None]:
        """What CloudTrail says of `wanted`, the names whose answer is final (cached), and what went wrong."""
        history_start = now - HISTORY
        # Created before CloudTrail's history: no creator to find, but a later update may be there.
        recent = [r for r in wanted if r.created_at >= history_start]
        updated = [r for r in wanted if r.last_modified > r.created_at + timedelta(minutes=1)]
        updated = [r for r in updated if r.last_modified >= history_start]
        records: list[TrailRecord] = []
        reached: datetime | None = history_start if not recent else None
        updates_read = not updated
        problem = None
        try:
            if recent:
                start = max(history_start, min(r.created_at for r in recent) - CREATE_SLACK)
                reached = self._read(CREATE, start, now, records, lambda: _all_found(records, recent, creator))
            if updated:
                start = max(history_start, min(r.created_at for r in updated))
                self._read(UPDATE, start, now, records, lambda: _all_found(records, updated, last_updater))
                updates_read = True
        except _StopError as stop:
            problem = str(stop)
        out: dict[str, TrailFacts] = {}
        settled: set[str] = set()
        for r in wanted:
            made = creator(records, r.name, r.created_at)
            update = last_updater(records, r.name, r.created_at)
            # nothing found is an answer only once the history was read back far enough, and once CloudTrail has
            # had the time to deliver the endpoint's CreateEndpoint
            read_back = r not in recent or (
                reached is not None and reached <= r.created_at - CREATE_SLACK and r.created_at <= now - DELIVERY
            )
            if made is None and update is None and not read_back:
                continue  # ask again another time
            out[r.name] = TrailFacts(
                made.principal if made else None,
                update.principal if update else None,
                reached,
                update.event_time if update else None,
            )
            creator_final = made is not None or read_back
            if creator_final and (update is not None or updates_read or r not in updated):
                settled.add(r.name)  # final: cached, never asked again
        return out, settled, problem

    def _read(
        self, event_name: str, start: datetime, end: datetime, records: list[TrailRecord], done: Any
    ) -> datetime | None:
        """Pages of `event_name`, newest first, into `records` until `done()`, the start, or the budget.
        Returns how far back it read (`start` when it read everything)."""
        token: str | None = None
        oldest: datetime | None = None
        while True:
            if self.calls >= self.budget:
                raise _StopError(f"the CloudTrail lookup budget ({self.budget} calls a scan) is spent")
            page = self._call(event_name, start, end, token)
            events = page.get("Events", [])
            records += [r for r in (record_of(e) for e in events) if r is not None]
            times = [e.get("EventTime") for e in events if isinstance(e.get("EventTime"), datetime)]
            if times:
                oldest = min(times) if oldest is None else min(oldest, *times)
            token = page.get("NextToken")
            if not token:
                return start
            if done():
                return oldest

    def _call(self, event_name: str, start: datetime, end: datetime, token: str | None) -> Any:
        wait = self.min_interval - (time.monotonic() - self._last_call)
        if wait > 0:
            time.sleep(wait)
        self._last_call = time.monotonic()
        self.calls += 1
        request: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event_name}],
            "StartTime": start,
            "EndTime": end,
            "MaxResults": PAGE,
        }
        if token:
            request["NextToken"] = token
        assert self.client is not None
        try:
            return self.client.lookup_events(**request)
        except ClientError as exc:
            code = error_code(exc)
            if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
                raise _StopError("CloudTrail LookupEvents is not allowed (cloudtrail:LookupEvents)") from None
            raise _StopError(f"CloudTrail LookupEvents failed ({code})") from None
        except BotoCoreError as exc:
            raise _StopError(f"CloudTrail LookupEvents failed ({type(exc).__name__})") from None


def _all_found(records: list[TrailRecord], refs: list[EndpointRef], find: Any) -> bool:
    return all(find(records, r.name, r.created_at) is not None for r in refs)
