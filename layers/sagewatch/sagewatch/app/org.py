"""The central account: take in what members forward, send one organization digest per scan cycle, and the
organization's weekly cost report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sagewatch.app.extras import extra
from sagewatch.app.ports import Notifier, deliver
from sagewatch.app.weekly import CommitmentsSource
from sagewatch.lifecycle import Reason
from sagewatch.notify import OrgCostNotice, RemediationNotice
from sagewatch.notify import alert as alerts
from sagewatch.notify.core import bounded_tree
from sagewatch.notify.org import unrenderable
from sagewatch.org import (
    ALERT_DETAIL_TYPE,
    COST_SUMMARY_DETAIL_TYPE,
    FINDING_DETAIL_TYPE,
    REMEDIATION_DETAIL_TYPE,
    SCAN_SUMMARY_DETAIL_TYPE,
    Debounce,
    HeldAlerts,
    Member,
    MemberSummary,
    OrgEventError,
    OrgFinding,
    Origin,
    central_links,
    check_size,
    expired,
    org_digest,
    parse_announcement,
    receive_announcement,
    recent,
    silence_news,
    stale_findings,
)
from sagewatch.orgcost import MemberCost, OrgCostReport, current_members, org_cost_summary
from sagewatch.settings import OrgSettings
from sagewatch.weekly import ReportLocation, family_of

DETAIL_TEXT_MAX = 4000  # any string a member sends, before the parsers bound each to its own length
DETAIL_ITEMS_MAX = 20_000  # list entries (a summary's finding ids); the 256 KB event bounds them anyway


@dataclass(frozen=True)
class OrgEvent:
    """An event on the central bus, as the aggregator reads it: EventBridge's envelope and the detail."""

    id: str
    detail_type: str
    origin: Origin
    detail: Mapping[str, Any]


class OrgStorage(Protocol):
    def load(self, now: datetime) -> Any: ...  # sagewatch.aws.org_store.OrgState
    def finding(self, key: str) -> OrgFinding | None: ...
    def member(self, key: str) -> Member | None: ...
    def put_member(self, m: Member) -> None: ...
    def put_finding(self, f: OrgFinding) -> None: ...
    def put_cost(self, c: MemberCost) -> None: ...
    def put_name(self, account: str, name: str, now: datetime) -> None: ...
    def delete_finding(self, key: str) -> None: ...
    def settle(self, findings: Iterable[OrgFinding], members: Iterable[tuple[Member, Member]]) -> int: ...
    def take_record(self, member_key: str, limit: int) -> bool: ...
    def release_record(self, member_key: str) -> None: ...
    def recount_records(self, member_key: str, count: int) -> None: ...
    def take_alert(self, member_key: str, now: datetime, limit: int) -> bool: ...
    def told_held(self, held: Iterable[HeldAlerts]) -> None: ...
    def forget(self, raw_key: str) -> None: ...


class NameSource(Protocol):
    problem: str | None

    def lookup(self, accounts: Iterable[str], known: Mapping[str, str]) -> dict[str, str]: ...


class OrgArchive(Protocol):
    def put(self, report: OrgCostReport) -> ReportLocation: ...


@dataclass(frozen=True)
class OrgDependencies:
    store: OrgStorage
    publisher: Notifier
    names: NameSource
    alerts_per_member_hour: int = 30  # OrgSettings: the rest are held and summarised in the digest
    records_per_member: int = 5000
    # the central account's view of Savings Plans (the organization's, from the management account or a
    # delegated Cost Explorer administrator), netted against every member's waste in the cost report
    commitments: CommitmentsSource | None = None


def ingest(event: OrgEvent, deps: OrgDependencies) -> dict[str, Any]:
    """One forwarded event. Alerts and remediation notices go out at once (with the member's account and
    region); findings, scan summaries and cost summaries are kept for the digest and the cost report.
    Raises OrgEventError (naming the problem) for anything a member would not send."""
    if event.detail_type == FINDING_DETAIL_TYPE:
        check_size(event.detail)  # as it arrived: a huge one is refused, not cut down and kept
    detail = bounded_tree(event.detail, DETAIL_TEXT_MAX, DETAIL_ITEMS_MAX)
    origin = event.origin
    base = {"account": origin.account, "region": origin.region, "detail_type": event.detail_type}
    if event.detail_type == FINDING_DETAIL_TYPE:
        return {**base, **_take_finding(origin, detail, deps)}
    if event.detail_type == SCAN_SUMMARY_DETAIL_TYPE:
        summary = MemberSummary.from_detail(detail, now=origin.received_at)
        return {**base, **_take_summary(origin, summary, deps)}
    if event.detail_type == COST_SUMMARY_DETAIL_TYPE:
        cost = MemberCost.from_detail(origin.account, origin.region, detail)
        recent(cost.end, "period.end", origin.received_at)
        deps.store.put_cost(cost)
        return {**base, "status": "kept"}
    if event.detail_type in (ALERT_DETAIL_TYPE, REMEDIATION_DETAIL_TYPE):
        return {**base, **_send_at_once(event.detail_type, origin, detail, deps)}
    raise OrgEventError(f"detail type {event.detail_type[:80]!r} is not one sagewatch members send")


def _send_at_once(detail_type: str, origin: Origin, detail: Mapping[str, Any], deps: OrgDependencies) -> dict[str, Any]:
    """An alert or a remediation notice: to the central topic now, within the member's hourly allowance."""
    notice: Any
    try:
        if detail_type == ALERT_DETAIL_TYPE:
            alert = alerts.from_document(detail)
            # the member's links are dropped: the central account builds its own from what it can vouch for
            links = central_links(origin.region, alert.endpoint, alert.job)
            notice = replace(alert, account=origin.account, region=origin.region, links=links)
        else:
            notice = RemediationNotice.from_document({**detail, "account": origin.account, "region": origin.region})
    except ValueError as exc:
        raise OrgEventError(str(exc)) from None
    if not deps.store.take_alert(origin.key, origin.received_at, deps.alerts_per_member_hour):
        return {"status": "held", "limit_per_hour": deps.alerts_per_member_hour}
    return {"status": "sent", "message_ids": deliver(deps.publisher, notice)}


def _take_finding(origin: Origin, detail: Mapping[str, Any], deps: OrgDependencies) -> dict[str, Any]:
    reason, finding = parse_announcement(detail)
    key = f"{origin.key}#{finding.id}"
    existing = deps.store.finding(key)
    record = receive_announcement(existing, origin, reason, finding, None)
    if record is None:
        deps.store.delete_finding(key)
        if existing is not None:
            deps.store.release_record(origin.key)
    else:
        if existing is None and not deps.store.take_record(origin.key, deps.records_per_member):
            raise OrgEventError(
                f"the member already has {deps.records_per_member} finding records (the most one member may keep)"
            )
        deps.store.put_finding(record)
    return {"status": "kept", "reason": reason.value, "finding": finding.id}


def _take_summary(origin: Origin, summary: MemberSummary, deps: OrgDependencies) -> dict[str, Any]:
    existing = deps.store.member(origin.key)
    if existing is None:
        member = Member(origin.account, origin.region, summary)
    else:
        member = existing.with_summary(summary)
        if member is existing:
            return {"status": "stale", "scanned_at": summary.scanned_at.isoformat()}
    deps.store.put_member(member)
    # Findings the member's complete scan no longer has, and never said resolved (snoozed, or an event lost)
    findings = deps.store.load(origin.received_at).findings
    closed = stale_findings(findings, member)
    for f in closed:
        deps.store.delete_finding(f.key)
    kept = sum(1 for f in findings if (f.account, f.region) == (origin.account, origin.region)) - len(closed)
    deps.store.recount_records(origin.key, kept)
    return {"status": "kept", "closed_silently": len(closed)}


def digest_tick(
    settings: OrgSettings,
    deps: OrgDependencies,
    now: datetime,
    observe: Callable[[Mapping[str, Any]], None] = lambda _: None,
) -> dict[str, Any]:
    """Every few minutes: is a digest due (members done reporting, or a member's silence to tell)? Then send
    one, and settle what it said. `observe` gets the organization's figures (silent members first of all)
    before anything is rendered: a record that breaks rendering must not hide a silent member."""
    state = deps.store.load(now)
    gone = {m.key for m in expired(state.members.values(), now)}
    members = [m for k, m in state.members.items() if k not in gone]
    news = silence_news(members, now, timedelta(days=settings.renotify_days))
    pending = [f for f in state.findings if f.pending is not None]
    debounce = Debounce(timedelta(minutes=settings.quiet_minutes), timedelta(minutes=settings.longest_minutes))
    silent = sum(1 for m in members if m.silent_at(now))
    kinds: dict[str, int] = {}
    for m in members:
        for kind, n in m.summary.findings_by_kind.items():
            kinds[kind] = kinds.get(kind, 0) + n
    result: dict[str, Any] = {
        "members": len(members),
        "silent_members": silent,
        "pending": len(pending),
        "unreadable_records": len(state.unreadable),
        "held_alerts": sum(h.count for h in state.held),
        # the organization's figures, for the central dashboard (the members' last scans)
        "fleet_monthly_cost_usd": round(sum(m.summary.fleet_monthly_cost_usd for m in members), 2),
        "monthly_savings_usd": round(sum(m.summary.monthly_savings_usd for m in members), 2),
        "findings_by_kind": kinds,
    }
    observe(result)
    if not (news or debounce.due([f.updated_at for f in pending], now)):
        return {**result, "status": "waiting"}
    # Each record is rendered on its own first: one that cannot be is left out, named and dropped.
    skipped = [(f, problem) for f in pending if (problem := unrenderable(f, now))]
    for f, _ in skipped:
        deps.store.delete_finding(f.key)
    for key in state.unreadable:
        deps.store.forget(key)  # named once in this digest, not in every one after
    bad = {f.key for f, _ in skipped}
    pending = [f for f in pending if f.key not in bad]
    names = dict(state.names)
    accounts = {m.account for m in members} | {f.account for f in pending}
    found: dict[str, str] = extra("account names", lambda: deps.names.lookup(accounts, names), {})
    for account, name in found.items():
        deps.store.put_name(account, name, now)
    names |= found
    digest = org_digest(members, pending, news, now=now, names=names, organization=settings.organization_id)
    left_out = tuple(f"{f.key}: {problem}" for f, problem in skipped) + tuple(
        f"{key}: could not be read back" for key in state.unreadable
    )
    digest = replace(digest, skipped=left_out, held=tuple(state.held))
    ids = deps.publisher.publish(digest)
    marked = [(m, replace(m, silent_announced_at=now)) for m in news.silent + news.reminded]
    marked += [(m, replace(m, silent_announced_at=None)) for m in news.back]
    raced = deps.store.settle(pending, marked)
    deps.store.told_held(state.held)
    return {
        **result,
        "status": "sent",
        "message_ids": ids,
        "announced": {r.value: digest.count(r) for r in Reason},
        "silence": {"new": len(news.silent), "reminder": len(news.reminded), "back": len(news.back)},
        "changed_while_sending": raced,
        "skipped_records": list(left_out)[:50],
        "account_names_problem": deps.names.problem,
    }


def org_cost_report(
    settings: OrgSettings, deps: OrgDependencies, archive: OrgArchive, now: datetime, *, publish: bool = True
) -> tuple[OrgCostReport, dict[str, Any]]:
    """The organization's weekly cost report from this week's member summaries, into the central bucket, and
    its digest on the topic. Members known but without a summary this week are named, never left out quietly."""
    state = deps.store.load(now)
    members, missing = current_members(state.costs, [(m.account, m.region) for m in state.members.values()], now)
    names = dict(state.names)
    found: dict[str, str] = extra("account names", lambda: deps.names.lookup({m.account for m in members}, names), {})
    for account, name in found.items():
        deps.store.put_name(account, name, now)
    names |= found
    findings = {(m.account, m.region): m.summary.findings for m in state.members.values()}
    families: dict[str, int] = {}  # open findings per family, of the members this report costs
    reported = {(m.account, m.region) for m in members}
    for f in state.findings:
        if f.open and (f.account, f.region) in reported:
            family = family_of(f.finding.instance_type)
            families[family] = families.get(family, 0) + 1
    report = OrgCostReport(now, members, names, findings, missing, families)
    source = deps.commitments
    if source is not None:
        report.commitments = extra("commitments", lambda: source.commitments(now, report.waste()), None)
    where = archive.put(report)
    summary = org_cost_summary(report, where.bucket, where.keys)
    ids = deps.publisher.publish(OrgCostNotice(summary)) if publish else []
    return report, {
        "schema": "sagewatch.org-report-result/1",
        "totals": summary["totals"],
        "trend": summary["trend"],
        "missing": summary["missing"],
        "report": summary["report"],
        "published_message_id": ids[0] if ids else None,
    }
