"""The fleet scan: discover endpoints, read their metrics in batches, apply the rules, report; on schedule,
also decide what is worth announcing, send one digest and remember what was said."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sagewatch import hidden
from sagewatch.app.extras import extra
from sagewatch.app.fanout import FanOut, fan_out_reason, merge_parts, run_name, run_thresholds, start_fan_out
from sagewatch.app.judge import AwsView, Inventory, finish_scan, run_scan
from sagewatch.app.ports import Lock, MetricsReader, Notifier
from sagewatch.app.serving import ServingChecks
from sagewatch.cadence import Conclusion, Conclusions, Depth, deep_reason, thresholds_key
from sagewatch.catalog import Catalog
from sagewatch.digest import Digest
from sagewatch.formats import iso_z
from sagewatch.lifecycle import (
    Announcement,
    Decision,
    FindingState,
    Reason,
    SnoozeAnchor,
    StateUnavailableError,
    announce_all,
    decide,
    snoozes,
)
from sagewatch.org import SCAN_SUMMARY_DETAIL_TYPE, scan_summary
from sagewatch.owners import EndpointRef, TrailFacts, refs_of, with_trail
from sagewatch.requests import FanOutRun, ScanRequest
from sagewatch.scan_report import ScanReport
from sagewatch.scantime import ScanTime
from sagewatch.settings import ScanSettings


class OwnerDirectory(Protocol):
    def facts(
        self, refs: Sequence[EndpointRef], look_up: set[str], now: datetime
    ) -> tuple[dict[str, TrailFacts], list[str]]: ...


def attach_owners(report: ScanReport, directory: OwnerDirectory, look_up: set[str], now: datetime) -> list[str]:
    """CloudTrail's creator (and last updater) onto findings whose endpoint no tag names an owner of: from the
    cache, looked up only for endpoints in `look_up`. Returns what to warn of (a lookup refused or cut short)."""
    # an endpoint not described (one stuck Updating) has no creation time to look CloudTrail up from
    unknown = {f.endpoint for f in report.findings if not f.owner.known and f.endpoint in report.endpoint_times}
    if not unknown:
        return []
    facts, warnings = directory.facts(refs_of(unknown, report.endpoint_times), look_up & unknown, now)
    report.findings = [
        replace(
            f,
            owner=with_trail(
                f.owner, facts.get(f.endpoint), report.endpoint_times[f.endpoint][0], asked=f.endpoint in look_up
            ),
        )
        if f.endpoint in unknown
        else f
        for f in report.findings
    ]
    return warnings


class EventSink(Protocol):
    def put(self, announcements: list[Announcement], *, account: str | None, region: str) -> int: ...
    def put_document(self, detail_type: str, doc: dict[str, Any]) -> str | None: ...


class StateStore(Protocol):
    def load(self) -> dict[str, FindingState]: ...
    def save(self, states: list[FindingState]) -> None: ...
    def anchors(self) -> dict[str, SnoozeAnchor]: ...  # read by load()
    def save_anchors(self, anchors: dict[str, SnoozeAnchor]) -> None: ...
    def conclusions(self) -> Conclusions: ...  # the deep scans' conclusions, read by load()
    def save_conclusions(
        self,
        found: Mapping[str, Conclusion],
        *,
        deep: datetime | None,
        thresholds: str,
        seconds_per_endpoint: float | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class ScanDependencies:
    inventory: Inventory
    metrics: MetricsReader
    publisher: Notifier
    events: EventSink
    state: StateStore
    catalog: Catalog
    account: str | None
    owners: OwnerDirectory
    lock: Lock | None = None  # with ReserveConcurrency=false only: reserved concurrency 1 does it otherwise
    serving: ServingChecks | None = None  # the keep-serving checks' reads (quotas, dependencies, logs)
    aws_view: AwsView | None = None  # Compute Optimizer's idle recommendations
    fan_out: FanOut | None = None  # the state machine a scan past one function's reach fans out on


def digest_of(
    report: ScanReport, lifecycle: Decision, *, state_available: bool = True, remediation: bool = True
) -> Digest:
    return Digest(
        hidden=tuple(report.hidden + hidden.snoozed(lifecycle.snoozed, report.endpoint_costs)),
        account=report.account,
        region=report.region,
        generated_at=report.generated_at,
        announcements=lifecycle.announcements,
        unchanged=lifecycle.unchanged,
        snoozed={e: d.isoformat() for e, d in lifecycle.snoozed.items()},
        open_savings_usd=report.monthly_savings_usd,
        state_available=state_available,
        warnings=tuple(report.warnings),
        endpoint_tags=report.tags,
        remediation=remediation,
    )


def preview_digest(report: ScanReport, *, remediation: bool) -> Digest:
    """The digest a first scan of this fleet would send (every finding new; snoozes applied), from a stack that
    deploys remediation or not (its commands and buttons differ)."""
    active, _, _ = snoozes(report.tags, report.generated_at.date())
    lifecycle = announce_all(f for f in report.findings if f.endpoint not in active)
    lifecycle.snoozed = active
    return digest_of(report, lifecycle, remediation=remediation)


def _new_endpoints(
    report: ScanReport, previous: Mapping[str, FindingState] | None, snoozed: Mapping[str, Any]
) -> set[str]:
    """Endpoints with a finding that has never been announced (all of them when there is no state)."""
    out = set()
    for f in report.findings:
        state = previous.get(f.id) if previous is not None else None
        if f.endpoint not in snoozed and (state is None or not state.open or state.last_notified is None):
            out.add(f.endpoint)
    return out


@dataclass
class _Begun:
    """What a scheduled scan knows before it reads the fleet: the state, and whether it is deep."""

    previous: dict[str, FindingState] | None
    stored: Conclusions | None
    warnings: list[str]


def _begin(deps: ScanDependencies) -> _Begun:
    warnings: list[str] = []
    try:
        previous: dict[str, FindingState] | None = deps.state.load()
    except StateUnavailableError as exc:
        warnings.append(str(exc))
        previous = None
    # hourly, carrying the deep scan's conclusions; or deep (the day's first scan, or nothing to carry)
    stored = deps.state.conclusions() if previous is not None else None
    return _Begun(previous, stored, warnings)


def scheduled_scan(
    settings: ScanSettings,
    request: ScanRequest,
    deps: ScanDependencies,
    now: datetime | None = None,
    *,
    budget_seconds: float | None = None,
) -> tuple[ScanReport | None, dict[str, Any]]:
    """Scan, decide what is worth announcing, send one digest, remember what was said. Past one function's
    reach, start the fan-out instead (no report yet: its merge step, this function again, reports).

    The digest goes out before state is written: if the function fails in between, the next scan
    announces again rather than never. If the state table is unreadable, the digest lists every
    current finding and says so.
    """
    now = now or datetime.now(UTC)
    started = time.monotonic()
    begun = _begin(deps)
    if request.merge is not None:
        return _merged(settings, request.merge, deps, begun)
    key = thresholds_key(settings.thresholds.to_dict())
    why_deep = deep_reason(request.depth, begun.stored, now, hour=settings.deep_scan_hour, thresholds=key)
    carry = None if why_deep else begun.stored
    inventory = deps.inventory
    if deps.fan_out is not None:
        summaries = deps.fan_out.lister.summaries()
        why = fan_out_reason(
            len(summaries),
            threshold=deps.fan_out.threshold,
            deep=carry is None,
            deep_rate=begun.stored.seconds_per_endpoint if begun.stored is not None else None,
            budget=budget_seconds,
            asked=request.fan_out == "always",
        )
        if why:
            run = FanOutRun(
                run=run_name(now, uuid.uuid4().hex[:8]),
                depth="deep" if carry is None else "hourly",
                reason=why_deep,
                now=now,
                endpoints=len(summaries),
                thresholds=settings.thresholds.to_dict(),
                owner_tags=list(settings.owner_tags),
                why=why,
                publish=request.publish,
            )
            result = start_fan_out(deps.fan_out, summaries, run)
            result["warnings"] = begun.warnings
            return None, result
        inventory = deps.fan_out.lister.given(summaries)  # listed once: the scan describes what was listed
    report = run_scan(
        inventory,
        deps.metrics,
        deps.catalog,
        settings.thresholds,
        now=now,
        region=settings.region,
        account=deps.account,
        owner_tags=settings.owner_tags,
        serving=deps.serving,
        aws_view=deps.aws_view,
        carry=carry,
    )
    # will the next scans still finish? (the reads are most of a scan's time; what follows is short)
    deep_rate = begun.stored.seconds_per_endpoint if begun.stored is not None and not why_deep else None
    timing = ScanTime(
        time.monotonic() - started, len(report.listed), budget_seconds, deep_rate, fans_out=deps.fan_out is not None
    )
    return report, _announced(settings, request.publish, deps, report, begun, why_deep, key, timing, now)


def _merged(
    settings: ScanSettings, name: str, deps: ScanDependencies, begun: _Begun
) -> tuple[ScanReport, dict[str, Any]]:
    """The fan-out's last step: its chunks' parts as one report, announced as any scan's (sagewatch.app.fanout)."""
    if deps.fan_out is None:
        raise ValueError("a merge request reached a scan function without fan-out (SAGEWATCH_FAN_OUT_STATE_MACHINE)")
    run = deps.fan_out.parts.run(name)  # as the starting scan decided it, and the chunks judged by it
    thresholds = run_thresholds(run)
    carry = begun.stored if run.depth == Depth.HOURLY.value else None
    parts = merge_parts(deps.fan_out.parts, run)
    report = finish_scan(
        parts,
        deps.catalog,
        thresholds,
        now=run.now,
        region=settings.region,
        account=deps.account,
        owner_tags=run.owner_tags,
        serving=deps.serving,
        aws_view=deps.aws_view,
        carry=carry,
    )
    report.cadence["fan_out"] = {"run": run.run, "chunks": len(parts), "why": run.why}
    # the pace of one function doing all the chunks' work (what decides the next fan-out, and ScanTime's warning)
    deep_rate = begun.stored.seconds_per_endpoint if begun.stored is not None and carry is not None else None
    timing = ScanTime(sum(p.seconds for p in parts), len(report.listed), None, deep_rate, fans_out=True)
    key = thresholds_key(thresholds.to_dict())
    why_deep = (run.reason or "deep") if carry is None else None
    return report, _announced(settings, run.publish, deps, report, begun, why_deep, key, timing, run.now)


def _announced(
    settings: ScanSettings,
    publish: bool,
    deps: ScanDependencies,
    report: ScanReport,
    begun: _Begun,
    why_deep: str | None,
    key: str,
    timing: ScanTime,
    now: datetime,
) -> dict[str, Any]:
    """What the scan found, announced once: the lifecycle decided, one digest, state written, the summary sent."""
    previous, warnings = begun.previous, list(begun.warnings)
    report.remediation_function = settings.remediation  # its findings' commands: function or --local
    if why_deep:
        report.cadence["reason"] = why_deep
    warnings += list(report.warnings) + ([timing.warning] if timing.warning else [])
    # a snooze is capped from the day its tag value was first seen (kept in the state table)
    active, snooze_problems, anchors = snoozes(
        report.tags, now.date(), max_days=settings.max_snooze_days, anchors=deps.state.anchors()
    )
    warnings += snooze_problems
    # CloudTrail is asked only about endpoints of findings about to be announced as new (and not snoozed)
    warnings += extra(
        "owners from CloudTrail",
        lambda: attach_owners(report, deps.owners, _new_endpoints(report, previous, active), now),
        ["owners could not be looked up this scan (see the function's log)"],
    )
    state_available = previous is not None
    if previous is not None:
        lifecycle = decide(
            report.findings,
            previous,
            now=now,
            renotify_days=settings.renotify_days,
            judged=report.judged,
            listed=set(report.listed),
            complete=report.complete,
            snoozed=active,
        )
    else:
        lifecycle = announce_all(f for f in report.findings if f.endpoint not in active)
        lifecycle.snoozed = active
    digest = digest_of(report, lifecycle, state_available=state_available, remediation=settings.remediation)
    message_ids: list[str] = []
    failed_events = 0
    if publish:
        if lifecycle.announcements:
            message_ids = deps.publisher.publish(digest)
            failed_events = deps.events.put(lifecycle.announcements, account=report.account, region=report.region)
        if state_available:
            try:
                deps.state.save(lifecycle.states)
                deps.state.save_anchors(anchors)
                # last: a deep scan whose conclusions are not all written is done again by the next scan
                deps.state.save_conclusions(
                    report.concluded,
                    deep=now if why_deep is not None and report.complete else None,
                    thresholds=key,
                    seconds_per_endpoint=timing.seconds_per_endpoint,
                )
            except StateUnavailableError as exc:
                warnings.append(str(exc))  # the next scan announces again: duplicates, never silence
        # Last, after state: every scheduled scan reports in, findings or not (the central account takes
        # a member's silence for a broken member). Failing here fails the run loudly; nothing is re-announced.
        summary = scan_summary(report, interval_seconds=settings.interval_seconds, hidden=digest.hidden)
        if deps.events.put_document(SCAN_SUMMARY_DETAIL_TYPE, summary) is None:
            failed_events += 1
    result = {
        "schema": "sagewatch.scan-result/2",
        "endpoints": report.endpoints,
        "findings": len(report.findings),
        "findings_by_kind": report.counts_by_kind(),
        "announced": {r.value: digest.count(r) for r in Reason}
        | {"unchanged": lifecycle.unchanged, "snoozed": len(active)},
        "skipped": len(report.skipped),
        "errors": len(report.errors),
        "fleet_monthly_cost_usd": report.fleet_monthly_cost_usd,
        "monthly_savings_usd": report.monthly_savings_usd,
        "published_message_ids": message_ids,
        "failed_events": failed_events,
        "state_available": state_available,
        "timing": timing.to_dict(),
        "cadence": report.cadence,
        "warnings": warnings,
    }
    return result


class ScanBusyError(RuntimeError):
    """A fan-out's merge step found another scan holding the lock: the state machine retries it (template.yaml's
    Retry on ScanBusyError), where a scheduled scan would just skip and let its schedule run it again."""


def exclusive_scan(
    settings: ScanSettings,
    request: ScanRequest,
    deps: ScanDependencies,
    *,
    holder: str,
    lease_seconds: float,
    now: datetime | None = None,
    budget_seconds: float | None = None,
) -> tuple[ScanReport | None, dict[str, Any]]:
    """scheduled_scan, one at a time. With a lock (ReserveConcurrency=false) a publishing scan first takes it for
    `lease_seconds` (what the invocation has left, and a margin); while another run holds it, this one reads
    nothing and says so: its schedule runs it again. A scan that does not publish announces nothing and writes no
    state, so it needs no lock. If the lock itself cannot be reached the scan goes on without it and warns: a
    digest twice is better than none."""
    if deps.lock is None or not request.publish:
        return scheduled_scan(settings, request, deps, now, budget_seconds=budget_seconds)
    now = now or datetime.now(UTC)
    warnings: list[str] = []
    try:
        lease = deps.lock.acquire(holder, now, now + timedelta(seconds=lease_seconds))
    except Exception as exc:  # any failure of the lock table: scan without it, and say so
        warnings.append(f"the scan lock could not be taken ({type(exc).__name__}: {str(exc)[:200]}); scanned anyway")
        lease = None
    if lease is not None and not lease.taken:
        if request.merge is not None:  # a fanned-out scan's report is not dropped: its state machine retries
            raise ScanBusyError(
                f"another scan ({lease.holder}) holds lock#scan until {iso_z(lease.until)}: the merge of "
                f"{request.merge} waits for it"
            )
        return None, {
            "schema": "sagewatch.scan-result/2",
            "status": "overlapping",
            "reason": f"another scan ({lease.holder}) holds lock#scan until {iso_z(lease.until)}: this one did nothing",
            "warnings": [],
        }
    try:
        report, result = scheduled_scan(settings, request, deps, now, budget_seconds=budget_seconds)
    finally:
        if lease is not None:
            try:
                deps.lock.release(holder)
            except Exception as exc:  # the lease ends by itself: the next scan is not blocked for long
                lapses = iso_z(lease.until)
                warnings.append(f"the scan lock was not given back ({type(exc).__name__}); it lapses at {lapses}")
    result["warnings"] = [*warnings, *result["warnings"]]
    return report, result
