"""Two cadences (pure): an hourly scan reads only what can change within hours; a daily deep scan judges weeks.

The hourly scan reads at most 6 series a variant (sagewatch.metrics.hourly_specs) and judges the kinds that need
acting on within hours (HOURLY_KINDS, and `saturated` on what it reads). Everything judged over weeks (sizing
from 14 days of peaks with disk and GPU memory, imbalance, the model cache, off-hours and batch from the
hour-of-week profile, consolidation, hygiene) is the deep scan's: run by the first scan after DeepScanHour each
day, its conclusions are kept per endpoint in the state table and carried unchanged (with `as_of`) into every
hourly report and digest until the next deep scan. A finding never disappears because its series was not read
this hour; it goes when a deep scan no longer finds it.

An endpoint the last deep scan did not see as it is now (new, or updated since) is judged in full by the hourly
scan itself, so no carried advice ever describes hardware that has changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sagewatch import fields
from sagewatch.formats import iso_z
from sagewatch.models import SERVING_KINDS, Endpoint, Finding, Kind
from sagewatch.schedule import Rhythm


class Depth(StrEnum):
    HOURLY = "hourly"
    DEEP = "deep"


# Judged by every scan from the series it reads: never carried (an hourly scan that does not find them means
# they are gone).
HOURLY_KINDS = frozenset({Kind.IDLE, Kind.ERRORS, Kind.SLOW, Kind.COLD_STARTS, Kind.LATENCY_REGRESSION})
# Judged by both: the deep scan on every utilization series (its finding, with the fuller recommendation, is
# carried until the next deep scan), the hourly scan on CPU and memory or GPU: a variant saturated since the deep
# scan is said within the hour.
BOTH_KINDS = frozenset({Kind.SATURATED})

CONCLUSION_MAX_CHARS = 350_000  # a DynamoDB item is at most 400 KB: an endpoint above it is judged in full hourly
KEEP = timedelta(days=3)  # conclusions outlive a missed deep scan or two (the table's TTL removes them)


def carried(kind: Kind) -> bool:
    """A kind the deep scan concludes and hourly scans carry (serving kinds are checked every scan)."""
    return kind not in HOURLY_KINDS and kind not in SERVING_KINDS


@dataclass(frozen=True)
class Conclusion:
    """What a deep judgement concluded of one endpoint, as it was then (its LastModifiedTime)."""

    endpoint: str
    as_of: datetime
    modified: datetime
    findings: tuple[Finding, ...] = ()
    rhythms: Mapping[str, Rhythm] = field(default_factory=dict)  # each variant's weekly rhythm (the idle rule's)

    def describes(self, endpoint: Endpoint) -> bool:
        """Still about this endpoint as it is: not updated (a new config, a resize) since it was judged."""
        return endpoint.last_modified_time <= self.modified

    def to_mapping(self) -> dict[str, Any]:
        return {
            "as_of": iso_z(self.as_of),
            "modified": iso_z(self.modified),
            "findings": [f.to_dict() for f in self.findings],
            "rhythms": {v: r.to_doc() for v, r in self.rhythms.items()},
        }

    def to_doc(self) -> str | None:
        """The state table's document; None when it would not fit in an item (the endpoint is then judged in full
        by every scan, which is correct, only dearer)."""
        doc = json.dumps(self.to_mapping(), separators=(",", ":"))
        return doc if len(doc) <= CONCLUSION_MAX_CHARS else None

    @classmethod
    def from_doc(cls, endpoint: str, raw: str) -> Conclusion:
        """Strict: anything written otherwise raises ValueError naming the field (the endpoint is then judged
        in full, never carried from a document it cannot trust)."""
        return cls.from_mapping(endpoint, json.loads(raw))

    @classmethod
    def from_mapping(cls, endpoint: str, raw: object) -> Conclusion:
        doc = fields.mapping(raw, "conclusion")
        findings, rhythms = doc.get("findings"), fields.mapping(doc.get("rhythms"), "rhythms", optional=True)
        if not isinstance(findings, list):
            raise fields.FieldError("findings must be a list")
        return cls(
            endpoint=endpoint,
            as_of=fields.instant(doc.get("as_of"), "as_of"),
            modified=fields.instant(doc.get("modified"), "modified"),
            findings=tuple(Finding.from_dict(f) for f in findings),
            rhythms={str(v): Rhythm.from_doc(fields.mapping(r, "rhythm")) for v, r in rhythms.items()},
        )


@dataclass(frozen=True)
class Conclusions:
    """The deep scans' record: when the last complete one ran and under which thresholds, each endpoint's
    conclusions (from that scan, or from an hourly scan that judged the endpoint in full since)."""

    as_of: datetime | None = None
    thresholds: str | None = None
    endpoints: Mapping[str, Conclusion] = field(default_factory=dict)
    seconds_per_endpoint: float | None = None  # how fast the last deep scan ran (hourly scans project it)


def thresholds_key(thresholds: Mapping[str, Any]) -> str:
    """A short fingerprint of the thresholds: conclusions drawn under others are not carried."""
    text = json.dumps(thresholds, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def last_deep_time(now: datetime, hour: int) -> datetime:
    """The latest DeepScanHour:00 UTC at or before `now`."""
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at <= now else at - timedelta(days=1)


def deep_reason(asked: str, stored: Conclusions | None, now: datetime, *, hour: int, thresholds: str) -> str | None:
    """Why this scan must judge everything (None: an hourly scan will do). `asked`: the request's depth
    ("auto", "hourly" or "deep"); an hourly scan needs conclusions to carry."""
    if asked == Depth.DEEP:
        return "asked for"
    if stored is None:
        return "the state table could not be read"
    if stored.as_of is None:
        return "no deep scan yet"
    if stored.thresholds != thresholds:
        return "the thresholds changed since the last deep scan"
    if asked == "auto" and stored.as_of < last_deep_time(now, hour):
        return f"the day's deep scan ({hour:02d}:00 UTC)"
    if now - stored.as_of > KEEP - timedelta(hours=1):
        return "the last deep scan is about to expire"
    return None


def merge(judged: Sequence[Finding], conclusion: Conclusion) -> list[Finding]:
    """An hourly scan's findings of one endpoint: what it judged itself (HOURLY_KINDS of `judged`, and BOTH_KINDS
    where the deep scan did not find it), and the deep conclusions, marked `as_of`. As a full judgement would: an
    idle endpoint has nothing else to say, an idle variant nothing else about it; a saturated variant is no longer
    oversized (nor, then, a consolidation candidate)."""
    deep_ids = {f.id for f in conclusion.findings}
    own = [f for f in judged if f.kind in HOURLY_KINDS or (f.kind in BOTH_KINDS and f.id not in deep_ids)]
    if any(f.kind is Kind.IDLE and f.variant is None for f in own):
        return own
    ids = {f.id for f in own}
    idle = {f.variant for f in own if f.kind is Kind.IDLE}
    saturated = {f.variant for f in own if f.kind is Kind.SATURATED}
    kept = [
        replace(f, as_of=f.as_of or conclusion.as_of)
        for f in conclusion.findings
        if f.id not in ids
        and carried(f.kind)
        and f.variant not in idle
        and not (f.kind is Kind.OVERSIZED and f.variant in saturated)
        and not (f.kind is Kind.CONSOLIDATE and idle | saturated)  # idle or saturated is fixed first
    ]
    return own + kept
