"""The organization's view (pure): what members send the central account, how the aggregator keeps each
member's latest state, when a member has gone silent, and when the one organization digest is due.

Members put EventBridge events on their default bus and a rule forwards them to the central bus. What
crosses the account boundary is only findings, alerts, remediation notices and summaries: never metrics or
credentials. The aggregator trusts the envelope's `account` and `region` (EventBridge sets them to the
account and region that put the event; a member cannot claim another's), never the same fields in `detail`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sagewatch import evidence, fields
from sagewatch.bounds import NAME_MAX, bounded
from sagewatch.formats import iso_z
from sagewatch.hidden import LISTED_MAX as HIDDEN_LISTED_MAX
from sagewatch.hidden import Hidden
from sagewatch.hidden import total as hidden_total
from sagewatch.lifecycle import Announcement, Reason
from sagewatch.models import Finding
from sagewatch.monitoring import console_url
from sagewatch.scan_report import ScanReport

# What members put on their default bus (source "sagewatch"); the forwarding rule matches these.
FINDING_DETAIL_TYPE = "SageMaker Endpoint Finding"
ALERT_DETAIL_TYPE = "SageMaker Endpoint Alert"
SCAN_SUMMARY_DETAIL_TYPE = "SageMaker Fleet Scan Summary"
COST_SUMMARY_DETAIL_TYPE = "SageMaker Weekly Cost Summary"
REMEDIATION_DETAIL_TYPE = "SageMaker Remediation Notice"
FORWARDED_DETAIL_TYPES = (
    FINDING_DETAIL_TYPE,
    ALERT_DETAIL_TYPE,
    SCAN_SUMMARY_DETAIL_TYPE,
    COST_SUMMARY_DETAIL_TYPE,
    REMEDIATION_DETAIL_TYPE,
)

SCAN_SUMMARY_SCHEMA = "sagewatch.scan-summary/1"
# An EventBridge entry is at most 256 KB; the finding ids a summary carries stay well inside it.
SUMMARY_IDS_MAX_BYTES = 160_000
DEFAULT_INTERVAL = timedelta(hours=1)
SILENT_AFTER_INTERVALS = 2
SILENT_GRACE = timedelta(minutes=10)  # a scan takes minutes; its summary arrives after it ends
FINDING_RETENTION = timedelta(days=30)  # an org finding record not heard of again expires (TTL)
MEMBER_RETENTION = timedelta(days=90)  # a member not heard of for this long is forgotten (stack deleted)
# What a member may claim, checked on arrival: a summary from the future would make every real one "stale"
# (the member could never be silent); one of a year-long interval would never be silent either.
INTERVAL_MAX_SECONDS = 7 * 24 * 3600
FUTURE_SKEW = timedelta(minutes=10)
ANNOUNCEMENT_MAX_BYTES = 64 * 1024  # one finding as a member sends it; a real one is a few KB
# SageMaker's own name rule for endpoints (and processing jobs): what a console link may be built from.
SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


class OrgEventError(ValueError):
    """An event on the central bus that is not what a sagewatch member sends; the message names the problem."""


def interval_of(schedule: str) -> int | None:
    """Seconds between scans of an EventBridge Scheduler `rate(...)` expression; None for cron (irregular)."""
    match = _RATE.match(schedule.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def scan_summary(report: ScanReport, *, interval_seconds: int | None, hidden: Sequence[Hidden] = ()) -> dict[str, Any]:
    """What a member says after every scheduled scan, findings or not: silence then means a broken member.

    `open_finding_ids` lets the aggregator drop findings a member stopped reporting without saying so
    (a resolved event lost, or a snooze); it is left out, and said so, when it would not fit one event."""
    ids = sorted(f.id for f in report.findings)
    complete = sum(len(i) + 4 for i in ids) <= SUMMARY_IDS_MAX_BYTES
    return {
        "schema": SCAN_SUMMARY_SCHEMA,
        "account": report.account,
        "region": report.region,
        "scanned_at": iso_z(report.generated_at, seconds=True),
        "interval_seconds": interval_seconds,
        "endpoints": report.endpoints,
        "findings": len(report.findings),
        "findings_by_kind": report.counts_by_kind(),
        "fleet_monthly_cost_usd": report.fleet_monthly_cost_usd,
        "monthly_savings_usd": report.monthly_savings_usd,
        "complete": report.complete,
        "errors": len(report.errors),
        "warnings": [bounded(w, 300) for w in report.warnings[:10]],
        "open_finding_ids": ids if complete else [],
        "open_finding_ids_complete": complete,
        # endpoints tags keep out of the findings, and their cost: the organization sees them too
        "hidden": [h.to_dict() for h in hidden[:HIDDEN_LISTED_MAX]],
        "hidden_count": len(hidden),
        "hidden_monthly_cost_usd": hidden_total(hidden),
        # the member's stack deploys its remediation function: the commands the organization digest shows
        # for it invoke that function, else they carry --local
        "remediation_function": report.remediation_function,
    }


# --- what arrives on the central bus --------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where an event came from, as EventBridge's envelope says (not the member's detail)."""

    account: str
    region: str
    received_at: datetime

    @property
    def key(self) -> str:
        return f"{self.account}#{self.region}"

    @classmethod
    def of(cls, account: object, region: object, time: datetime) -> Origin:
        if not isinstance(account, str) or not _ACCOUNT.match(account):
            raise OrgEventError(f"the event's account {bounded(repr(account), 40)} is not a 12-digit account id")
        if not isinstance(region, str) or not _REGION.match(region):
            raise OrgEventError(f"the event's region {bounded(repr(region), 40)} is not an AWS region name")
        return cls(account, region, time)


def number_field(doc: Mapping[str, Any], key: str, *, whole: bool = False) -> float:
    """A finite number from 0 to 1e9 (money, counts); OrgEventError naming the field otherwise."""
    try:
        if whole:
            return float(fields.whole(doc.get(key), key, maximum=int(fields.MONEY_MAX)) or 0)
        return fields.required_number(doc.get(key), key)
    except fields.FieldError as exc:
        raise OrgEventError(str(exc)) from None


def instant_field(doc: Mapping[str, Any], key: str) -> datetime:
    try:
        return fields.instant(doc.get(key), key)
    except fields.FieldError as exc:
        raise OrgEventError(str(exc)) from None


def recent_instant(doc: Mapping[str, Any], key: str, now: datetime) -> datetime:
    return recent(instant_field(doc, key), key, now)


def recent(when: datetime, key: str, now: datetime) -> datetime:
    """A time a member reports of itself: not older than MEMBER_RETENTION, not in the future (beyond skew)."""
    if not now - MEMBER_RETENTION <= when <= now + FUTURE_SKEW:
        raise OrgEventError(
            f"{key} {iso_z(when, seconds=True)} is not within the last {MEMBER_RETENTION.days} days "
            f"(received {iso_z(now, seconds=True)})"
        )
    return when


def _hidden_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The hidden endpoints a summary lists (members before this field sent none: zero)."""
    raw = doc.get("hidden") or []
    try:
        if not isinstance(raw, list) or len(raw) > HIDDEN_LISTED_MAX:
            raise fields.FieldError(f"hidden must be a list of at most {HIDDEN_LISTED_MAX} endpoints")
        listed = tuple(Hidden.from_dict(h) for h in raw)
        count = fields.whole(doc.get("hidden_count", len(listed)), "hidden_count") or 0
        cost = fields.number(doc.get("hidden_monthly_cost_usd", 0.0), "hidden_monthly_cost_usd") or 0.0
    except fields.FieldError as exc:
        raise OrgEventError(str(exc)) from None
    return {"hidden": listed, "hidden_count": max(count, len(listed)), "hidden_monthly_cost_usd": cost}


KINDS_MAX = 40  # kinds of finding a member's summary counts (sagewatch has 22)


@dataclass(frozen=True)
class MemberSummary:
    """One member's last scan, as the aggregator keeps it (checked and bounded on arrival)."""

    scanned_at: datetime
    interval_seconds: int | None
    endpoints: int
    findings: int
    findings_by_kind: dict[str, int]
    fleet_monthly_cost_usd: float
    monthly_savings_usd: float
    complete: bool
    errors: int
    warnings: tuple[str, ...] = ()
    open_finding_ids: frozenset[str] | None = None  # None: not sent (too many to fit one event)
    hidden: tuple[Hidden, ...] = ()  # ignored and snoozed endpoints (at most HIDDEN_LISTED_MAX listed)
    hidden_count: int = 0
    hidden_monthly_cost_usd: float = 0.0
    remediation_function: bool = False

    @classmethod
    def from_detail(cls, doc: Mapping[str, Any], now: datetime | None = None) -> MemberSummary:
        """Checked and bounded; with `now` (on arrival), scanned_at must be recent (recent_instant)."""
        if doc.get("schema") != SCAN_SUMMARY_SCHEMA:
            raise OrgEventError(f"not a scan summary: schema is {bounded(repr(doc.get('schema')), 60)}")
        interval = doc.get("interval_seconds")
        if interval is not None and (
            isinstance(interval, bool) or not isinstance(interval, int) or not 60 <= interval <= INTERVAL_MAX_SECONDS
        ):
            raise OrgEventError(
                f"interval_seconds must be a whole number from 60 to {INTERVAL_MAX_SECONDS} (7 days) or null, "
                f"got {bounded(repr(interval), 40)}"
            )
        kinds = {} if doc.get("findings_by_kind") is None else doc["findings_by_kind"]
        if not isinstance(kinds, Mapping):
            raise OrgEventError("findings_by_kind must be an object")
        ids = doc.get("open_finding_ids")
        if not isinstance(ids, list):
            raise OrgEventError("open_finding_ids must be a list")
        if not all(isinstance(i, str) for i in ids):
            raise OrgEventError("open_finding_ids must be a list of strings")
        warnings = doc.get("warnings") or []
        return cls(
            scanned_at=instant_field(doc, "scanned_at") if now is None else recent_instant(doc, "scanned_at", now),
            interval_seconds=interval,
            endpoints=int(number_field(doc, "endpoints", whole=True)),
            findings=int(number_field(doc, "findings", whole=True)),
            findings_by_kind={bounded(k, 32): int(number_field(kinds, k, whole=True)) for k in list(kinds)[:KINDS_MAX]},
            fleet_monthly_cost_usd=number_field(doc, "fleet_monthly_cost_usd"),
            monthly_savings_usd=number_field(doc, "monthly_savings_usd"),
            complete=doc.get("complete") is True,
            errors=int(number_field(doc, "errors", whole=True)),
            warnings=tuple(bounded(w, 300) for w in warnings[:10] if isinstance(w, str))
            if isinstance(warnings, list)
            else (),
            open_finding_ids=frozenset(bounded(i, NAME_MAX) for i in ids)
            if doc.get("open_finding_ids_complete") is True
            else None,
            **_hidden_fields(doc),
            remediation_function=doc.get("remediation_function") is True,
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "scanned_at": iso_z(self.scanned_at, seconds=True),
            "interval_seconds": self.interval_seconds,
            "endpoints": self.endpoints,
            "findings": self.findings,
            "findings_by_kind": self.findings_by_kind,
            "fleet_monthly_cost_usd": self.fleet_monthly_cost_usd,
            "monthly_savings_usd": self.monthly_savings_usd,
            "complete": self.complete,
            "errors": self.errors,
            "warnings": list(self.warnings),
            "hidden": [h.to_dict() for h in self.hidden],
            "hidden_count": self.hidden_count,
            "hidden_monthly_cost_usd": self.hidden_monthly_cost_usd,
            "remediation_function": self.remediation_function,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> MemberSummary:
        """From to_doc() (the org table): the ids are not kept there."""
        return cls.from_detail({**doc, "schema": SCAN_SUMMARY_SCHEMA, "open_finding_ids": []})


@dataclass(frozen=True)
class Member:
    """A member stack (one account and region) as the central account knows it."""

    account: str
    region: str
    summary: MemberSummary
    previous_scan: datetime | None = None  # the scan before: a cron schedule's interval is what was observed
    silent_announced_at: datetime | None = None  # when the digest last named it silent

    @property
    def key(self) -> str:
        return f"{self.account}#{self.region}"

    @property
    def interval(self) -> timedelta:
        if self.summary.interval_seconds:
            return timedelta(seconds=self.summary.interval_seconds)
        if self.previous_scan and self.summary.scanned_at > self.previous_scan:
            return self.summary.scanned_at - self.previous_scan
        return DEFAULT_INTERVAL

    def silent_at(self, now: datetime) -> bool:
        """Not reported for two scan intervals (and a little more: a scan takes time)."""
        return now - self.summary.scanned_at > self.interval * SILENT_AFTER_INTERVALS + SILENT_GRACE

    def with_summary(self, summary: MemberSummary) -> Member:
        if summary.scanned_at <= self.summary.scanned_at:
            return self  # a late or replayed summary never replaces a newer one
        return replace(self, summary=summary, previous_scan=self.summary.scanned_at)


@dataclass(frozen=True)
class OrgFinding:
    """One member finding as the aggregator keeps it: open or not, and what the next digest says of it."""

    account: str
    region: str
    finding: Finding
    open: bool
    updated_at: datetime
    pending: Reason | None = None  # what the next organization digest announces; None: nothing
    previous: Finding | None = None  # for a pending CHANGED: what was announced before

    @property
    def key(self) -> str:
        return f"{self.account}#{self.region}#{self.finding.id}"


def receive_announcement(
    existing: OrgFinding | None, origin: Origin, reason: Reason, finding: Finding, previous: Finding | None
) -> OrgFinding | None:
    """The record after a member announced `finding` for `reason`; None when there is nothing to keep (new and
    resolved again before any digest named it). Announcements already follow the member's lifecycle (new,
    changed, reminder, resolved; snoozes); the organization digest passes them on, merged per digest."""
    pending = reason
    if existing and existing.pending is Reason.NEW and reason in (Reason.CHANGED, Reason.REMINDER):
        pending = Reason.NEW  # never digested yet: still news
        previous = None
    if reason is Reason.RESOLVED and existing and existing.pending is Reason.NEW:
        return None
    if reason is Reason.RESOLVED and existing is None:
        pending = Reason.RESOLVED  # open before the central stack existed: still good news
    return OrgFinding(
        account=origin.account,
        region=origin.region,
        finding=finding,
        open=reason is not Reason.RESOLVED,
        updated_at=origin.received_at,
        pending=pending,
        previous=previous if pending is Reason.CHANGED else None,
    )


def check_size(detail: Mapping[str, Any]) -> None:
    """One announcement as it arrived (before any string in it is cut) is plain JSON of a bounded size."""
    try:
        size = len(json.dumps(detail, allow_nan=False))
    except (TypeError, ValueError):
        raise OrgEventError("the finding is not plain JSON (a number that is not finite?)") from None
    if size > ANNOUNCEMENT_MAX_BYTES:
        raise OrgEventError(f"the finding is {size:,} bytes; one announcement is at most {ANNOUNCEMENT_MAX_BYTES:,}")


def parse_announcement(detail: Mapping[str, Any]) -> tuple[Reason, Finding]:
    """A member's finding event detail ({"reason", **finding}), strictly: every field of its type, finite
    numbers within bounds, the evidence its kind's schema (sagewatch.evidence), an endpoint name SageMaker
    would accept, one announcement's size (check_size: the caller checks it before cutting strings, too).
    Raises OrgEventError naming the problem."""
    check_size(detail)
    try:
        reason = Reason(str(detail.get("reason")))
    except ValueError:
        raise OrgEventError(f"unknown reason {bounded(repr(detail.get('reason')), 40)}") from None
    try:
        finding = Finding.from_dict(detail)
        evidence.check(finding.kind, finding.evidence)
        fields.text(detail.get("endpoint"), "endpoint", pattern=SAGEMAKER_NAME)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise OrgEventError(f"not a sagewatch finding: {bounded(str(exc), 200)}") from None
    return reason, finding


def stale_findings(findings: Iterable[OrgFinding], member: Member) -> list[OrgFinding]:
    """Open findings of `member` its last complete scan no longer reports: closed without an announcement
    (a member announces what it resolves; what it did not announce was snoozed, or its event lost)."""
    ids = member.summary.open_finding_ids
    if ids is None or not member.summary.complete:
        return []
    return [
        f
        for f in findings
        if f.open
        and (f.account, f.region) == (member.account, member.region)
        and f.finding.id not in ids
        and f.updated_at < member.summary.scanned_at
    ]


@dataclass(frozen=True)
class HeldAlerts:
    """Alerts of one member in one hour held back over the per-member limit (the digest tells how many)."""

    account: str
    region: str
    hour: str  # YYYY-MM-DDTHH (UTC)
    count: int  # not yet told by a digest
    total: int  # held that hour in all


def central_links(region: str, endpoint: str | None, job: str | None) -> dict[str, str]:
    """Console links for a forwarded alert, built here from what the envelope (the region) and SageMaker's
    name rules vouch for: a member's own links are never passed on (they could point anywhere)."""
    links = {}
    if job and SAGEMAKER_NAME.fullmatch(job):
        links["processing_job"] = console_url(region, f"processing-jobs/{job}")
    if endpoint and SAGEMAKER_NAME.fullmatch(endpoint):
        links["endpoint"] = console_url(region, f"endpoints/{endpoint}")
    return links


# --- when the digest is due -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Debounce:
    """Members of one organization scan within minutes of each other: wait until none has reported for
    `quiet`, but never longer than `longest` after the first news."""

    quiet: timedelta = timedelta(minutes=10)
    longest: timedelta = timedelta(hours=1)

    def due(self, news: Sequence[datetime], now: datetime) -> bool:
        if not news:
            return False
        return now - max(news) >= self.quiet or now - min(news) >= self.longest


@dataclass(frozen=True)
class SilenceNews:
    """Members whose silence the digest must name now: newly silent, silent still (a reminder), or back."""

    silent: list[Member] = field(default_factory=list)
    reminded: list[Member] = field(default_factory=list)
    back: list[Member] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.silent or self.reminded or self.back)


def silence_news(members: Iterable[Member], now: datetime, renotify: timedelta) -> SilenceNews:
    news = SilenceNews()
    for m in members:
        if m.silent_at(now):
            if m.silent_announced_at is None:
                news.silent.append(m)
            elif now - m.silent_announced_at >= renotify:
                news.reminded.append(m)
        elif m.silent_announced_at is not None:
            news.back.append(m)
    return news


# --- the organization digest -------------------------------------------------------------------------------

ORG_DIGEST_SCHEMA = "sagewatch.org-digest/1"


@dataclass(frozen=True)
class MemberLine:
    """One member in the digest: who it is, when it last reported, what it holds."""

    account: str
    region: str
    name: str | None
    scanned_at: datetime
    silent: bool
    endpoints: int
    findings: int
    monthly_cost_usd: float
    monthly_savings_usd: float
    errors: int
    silence: str | None = None  # "new", "reminder", "back" when the digest announces it
    warnings: tuple[str, ...] = ()  # what the member's scan said a reader must know (e.g. whose prices)
    hidden: tuple[Hidden, ...] = ()  # ignored and snoozed endpoints, with their cost
    hidden_count: int = 0
    hidden_monthly_cost_usd: float = 0.0
    remediation_function: bool = False  # its stack deploys the remediation function (else commands carry --local)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.account})" if self.name else self.account


@dataclass(frozen=True)
class OrgAnnouncement:
    account: str
    region: str
    announcement: Announcement


@dataclass(frozen=True)
class OrgDigest:
    generated_at: datetime
    members: list[MemberLine]
    announcements: list[OrgAnnouncement]
    totals: Mapping[str, Any]  # of every member, even when a part lists only some (org_totals)
    part: tuple[int, int] = (1, 1)
    organization: str | None = None
    unlisted: int = 0  # members with nothing new left out of this part (large organizations)
    skipped: tuple[str, ...] = ()  # records left out: "key: why" (they could not be read or rendered)
    held: tuple[HeldAlerts, ...] = ()  # alerts held back over the per-member hourly limit

    def count(self, reason: Reason) -> int:
        return sum(1 for a in self.announcements if a.announcement.reason is reason)

    @property
    def silent(self) -> list[MemberLine]:
        return [m for m in self.members if m.silent]

    def groups(self) -> list[tuple[MemberLine, list[Announcement]]]:
        """Members in account, region order, each with its announcements (severity first); members without
        news are listed too (a clean member is a statement, not an omission)."""
        by_member: dict[tuple[str, str], list[Announcement]] = {}
        for a in self.announcements:
            by_member.setdefault((a.account, a.region), []).append(a.announcement)
        order = {"high": 0, "medium": 1, "low": 2}
        out = []
        for m in sorted(self.members, key=lambda m: (m.name or "~", m.account, m.region)):
            news = by_member.get((m.account, m.region), [])
            news.sort(
                key=lambda a: (
                    a.reason is Reason.RESOLVED,
                    order.get(a.severity, 9),
                    -(a.finding.monthly_savings_usd or 0),
                    a.finding.endpoint,
                )
            )
            out.append((m, news))
        return out


def org_totals(lines: Sequence[MemberLine]) -> dict[str, Any]:
    return {
        "accounts": len({m.account for m in lines}),
        "regions": len({m.region for m in lines}),
        "members": len(lines),
        "silent_members": sum(1 for m in lines if m.silent),
        "endpoints": sum(m.endpoints for m in lines),
        "open_findings": sum(m.findings for m in lines),
        "fleet_monthly_cost_usd": round(sum(m.monthly_cost_usd for m in lines), 2),
        "monthly_savings_usd": round(sum(m.monthly_savings_usd for m in lines), 2),
        "hidden_endpoints": sum(m.hidden_count for m in lines),
        "hidden_monthly_cost_usd": round(sum(m.hidden_monthly_cost_usd for m in lines), 2),
    }


def member_line(member: Member, now: datetime, names: Mapping[str, str], silence: str | None) -> MemberLine:
    s = member.summary
    return MemberLine(
        account=member.account,
        region=member.region,
        name=names.get(member.account),
        scanned_at=s.scanned_at,
        silent=member.silent_at(now),
        endpoints=s.endpoints,
        findings=s.findings,
        monthly_cost_usd=s.fleet_monthly_cost_usd,
        monthly_savings_usd=s.monthly_savings_usd,
        errors=s.errors,
        silence=silence,
        warnings=s.warnings[:3],
        hidden=s.hidden,
        hidden_count=s.hidden_count,
        hidden_monthly_cost_usd=s.hidden_monthly_cost_usd,
        remediation_function=s.remediation_function,
    )


def org_digest(
    members: Sequence[Member],
    pending: Sequence[OrgFinding],
    news: SilenceNews,
    *,
    now: datetime,
    names: Mapping[str, str],
    organization: str | None = None,
) -> OrgDigest:
    """The organization digest: every member (silent ones named), and what members announced since the last
    digest. Findings of members the central account has no summary from yet still appear (their member line
    is made from what is known)."""
    tag = {m.key: "new" for m in news.silent} | {m.key: "reminder" for m in news.reminded}
    tag |= {m.key: "back" for m in news.back}
    lines = [member_line(m, now, names, tag.get(m.key)) for m in members]
    known = {(m.account, m.region) for m in members}
    for f in pending:
        if (f.account, f.region) not in known:
            known.add((f.account, f.region))
            lines.append(MemberLine(f.account, f.region, names.get(f.account), f.updated_at, False, 0, 0, 0.0, 0.0, 0))
    announcements = [
        OrgAnnouncement(f.account, f.region, Announcement(f.pending, f.finding, f.previous))
        for f in pending
        if f.pending is not None
    ]
    return OrgDigest(now, lines, announcements, org_totals(lines), organization=organization)


def expired(members: Iterable[Member], now: datetime) -> list[Member]:
    """Members not heard of for MEMBER_RETENTION: their stack is gone; they leave the digest."""
    return [m for m in members if now - m.summary.scanned_at > MEMBER_RETENTION]


# --- how the org table keeps members and findings ---------------------------------------------------------


def _iso_or_none(when: datetime | None) -> str | None:
    return iso_z(when) if when else None


def _time_or_none(raw: object) -> datetime | None:
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None


def member_to_doc(m: Member) -> dict[str, Any]:
    return {
        "account": m.account,
        "region": m.region,
        "summary": m.summary.to_doc(),
        "previous_scan": _iso_or_none(m.previous_scan),
        "silent_announced_at": _iso_or_none(m.silent_announced_at),
    }


def member_from_doc(doc: Mapping[str, Any]) -> Member:
    return Member(
        account=str(doc["account"]),
        region=str(doc["region"]),
        summary=MemberSummary.from_doc(doc["summary"]),
        previous_scan=_time_or_none(doc.get("previous_scan")),
        silent_announced_at=_time_or_none(doc.get("silent_announced_at")),
    )


def finding_to_doc(f: OrgFinding) -> dict[str, Any]:
    return {
        "account": f.account,
        "region": f.region,
        "finding": f.finding.to_dict(),
        "open": f.open,
        "updated_at": iso_z(f.updated_at),
        "pending": f.pending.value if f.pending else None,
        "previous": f.previous.to_dict() if f.previous else None,
    }


def finding_from_doc(doc: Mapping[str, Any]) -> OrgFinding:
    return OrgFinding(
        account=str(doc["account"]),
        region=str(doc["region"]),
        finding=Finding.from_dict(doc["finding"]),
        open=bool(doc["open"]),
        updated_at=datetime.fromisoformat(str(doc["updated_at"]).replace("Z", "+00:00")),
        pending=Reason(doc["pending"]) if doc.get("pending") else None,
        previous=Finding.from_dict(doc["previous"]) if doc.get("previous") else None,
    )
