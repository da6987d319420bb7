"""Which findings to announce, given what was announced before (pure; state lives in DynamoDB).

A finding is announced when it is new, when it changes materially (another recommendation, or savings
moving by more than 20%), as a reminder every `renotify_days`, and once as resolved when it is gone.
An endpoint tagged sagewatch:snooze-until=YYYY-MM-DD is silent until that date (it speaks again on it),
but never for more than MaxSnoozeDays after sagewatch first saw that tag value: a tag cannot hide an endpoint
forever (a longer date is read as the cap, and the digest says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sagewatch.models import Finding

SNOOZE_TAG = "sagewatch:snooze-until"
MAX_SNOOZE_DAYS = 30
MATERIAL_SAVINGS_CHANGE = 0.20
RESOLVED_RETENTION = timedelta(days=30)  # TTL of a resolved record
STALE_AFTER_MIN = timedelta(days=30)  # TTL of an open record not seen again


class StateUnavailableError(RuntimeError):
    """The state store could not be read or written."""


class Reason(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    REMINDER = "reminder"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class FindingState:
    """What was last seen and said about one finding."""

    id: str
    endpoint: str
    open: bool
    first_seen: datetime
    last_seen: datetime
    last_notified: datetime | None  # None: never announced (new while snoozed)
    finding: dict[str, Any]  # the finding as last announced (or first seen)
    expires_at: datetime

    def to_item(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "open": self.open,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "last_notified": self.last_notified.isoformat() if self.last_notified else None,
            "finding": self.finding,
            "expires_at": int(self.expires_at.timestamp()),
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> FindingState:
        return cls(
            id=str(item["id"]),
            endpoint=str(item["endpoint"]),
            open=bool(item["open"]),
            first_seen=datetime.fromisoformat(item["first_seen"]),
            last_seen=datetime.fromisoformat(item["last_seen"]),
            last_notified=datetime.fromisoformat(item["last_notified"]) if item.get("last_notified") else None,
            finding=dict(item["finding"]),
            expires_at=datetime.fromtimestamp(int(item["expires_at"]), UTC),
        )


@dataclass(frozen=True)
class Announcement:
    reason: Reason
    finding: Finding  # the current finding; for RESOLVED, the last one announced
    previous: Finding | None = None  # for CHANGED: what was announced before

    @property
    def severity(self) -> str:
        return self.finding.severity.value


@dataclass
class Decision:
    announcements: list[Announcement] = field(default_factory=list)
    states: list[FindingState] = field(default_factory=list)  # to write back
    snoozed: dict[str, date] = field(default_factory=dict)  # endpoint -> silent until
    unchanged: int = 0


@dataclass(frozen=True)
class SnoozeAnchor:
    """When sagewatch first saw an endpoint's snooze tag with this value: the cap counts from then."""

    value: str
    since: date


def snoozes(
    tags_by_endpoint: Mapping[str, Mapping[str, str]],
    today: date,
    *,
    max_days: int = MAX_SNOOZE_DAYS,
    anchors: Mapping[str, SnoozeAnchor] | None = None,
) -> tuple[dict[str, date], list[str], dict[str, SnoozeAnchor]]:
    """Endpoints silenced today, problems with snooze tags (a bad date silences nothing; a date past the cap is
    read as the cap), and the anchors to keep: each tag value's first sighting (`anchors`, else today)."""
    active: dict[str, date] = {}
    problems = []
    seen: dict[str, SnoozeAnchor] = {}
    for endpoint, tags in tags_by_endpoint.items():
        raw = tags.get(SNOOZE_TAG)
        if raw is None:
            continue
        try:
            until = date.fromisoformat(raw.strip())
        except ValueError:
            problems.append(f"{endpoint}: tag {SNOOZE_TAG}={raw!r} is not a YYYY-MM-DD date; not snoozed")
            continue
        known = (anchors or {}).get(endpoint)
        anchor = known if known is not None and known.value == raw else SnoozeAnchor(raw, today)
        seen[endpoint] = anchor
        cap = anchor.since + timedelta(days=max_days)
        if until > cap:
            problems.append(
                f"{endpoint}: tag {SNOOZE_TAG}={raw} is more than {max_days} days (MaxSnoozeDays) after it was "
                f"first seen on {anchor.since}: read as {cap}"
            )
            until = cap
        if today < until:
            active[endpoint] = until
    return active, problems, seen


def material_change(before: Finding, after: Finding) -> bool:
    b, a = before.recommendation, after.recommendation
    if (b.action, b.instance_type, b.instance_count) != (a.action, a.instance_type, a.instance_count):
        return True
    old, new = before.monthly_savings_usd, after.monthly_savings_usd
    if old is None or new is None:
        return old != new
    if old == 0:
        return bool(new)
    return bool(abs(new - old) / old > MATERIAL_SAVINGS_CHANGE)


def decide(
    findings: Iterable[Finding],
    previous: Mapping[str, FindingState],
    *,
    now: datetime,
    renotify_days: int,
    judged: set[str],
    listed: set[str],
    complete: bool,
    snoozed: Mapping[str, date],
) -> Decision:
    """What to announce and what to remember.

    `judged`: endpoints judged in full this scan; `listed`: every endpoint that exists; `complete`: no
    scan-wide error (a failed metric read or component listing). A finding that disappeared is resolved
    only when its endpoint was judged in full, or no longer exists, in a complete scan: an endpoint we
    could not read is not a fixed one.
    """
    out = Decision(snoozed=dict(snoozed))
    stale = now + max(STALE_AFTER_MIN, timedelta(days=renotify_days * 2))
    seen = set()
    for f in findings:
        seen.add(f.id)
        doc = f.to_dict()
        prev = previous.get(f.id)
        live = prev if prev is not None and prev.open else None
        state = FindingState(
            id=f.id,
            endpoint=f.endpoint,
            open=True,
            first_seen=live.first_seen if live else now,
            last_seen=now,
            last_notified=live.last_notified if live else None,
            finding=live.finding if live else doc,
            expires_at=stale,
        )
        reason = None if f.endpoint in snoozed else _reason(f, live, now, renotify_days)
        if reason is None and f.endpoint not in snoozed:
            out.unchanged += 1
        if reason is not None:
            before = Finding.from_dict(live.finding) if reason is Reason.CHANGED and live else None
            out.announcements.append(Announcement(reason, f, before))
            state = replace(state, last_notified=now, finding=doc)
        out.states.append(state)
    if complete:
        fixed = [
            prev
            for prev in previous.values()
            if prev.open and prev.id not in seen and (prev.endpoint not in listed or prev.endpoint in judged)
        ]  # anything else is not known to be fixed: its record is kept as it is
        for prev in fixed:
            if prev.last_notified is not None and prev.endpoint not in snoozed:  # a snooze silences good news too
                out.announcements.append(Announcement(Reason.RESOLVED, Finding.from_dict(prev.finding)))
            out.states.append(
                replace(prev, open=False, last_seen=now, last_notified=now, expires_at=now + RESOLVED_RETENTION)
            )
    return out


def _reason(f: Finding, live: FindingState | None, now: datetime, renotify_days: int) -> Reason | None:
    """Why an open, unsnoozed finding is worth announcing now; None when it is not."""
    if live is None or live.last_notified is None:
        return Reason.NEW
    if material_change(Finding.from_dict(live.finding), f):
        return Reason.CHANGED
    if now - live.last_notified >= timedelta(days=renotify_days):
        return Reason.REMINDER
    return None


def announce_all(findings: Iterable[Finding]) -> Decision:
    """Without state (the table could not be read): every current finding, so nothing is missed."""
    return Decision(announcements=[Announcement(Reason.NEW, f) for f in findings])
