"""Entry points the Lambda handlers call: one domain function each, with its dependencies injected."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sagewatch.catalog import Catalog
from sagewatch.digest import Digest, digest_from_json, render_slack
from sagewatch.events import ScanRequest
from sagewatch.lifecycle import (
    Announcement,
    FindingState,
    Plan,
    Reason,
    StateUnavailableError,
    announce_all,
    plan,
    snoozes,
)
from sagewatch.monitoring import (
    MONITORING_TYPES,
    Alert,
    EndpointEvent,
    Ignored,
    ProcessingJobEvent,
    ViolationsFileError,
    ViolationsReadError,
    classify,
    endpoint_alert,
    failed_run_alert,
    is_monitoring_job,
    parse_violations,
    render_alert_slack,
    unreadable_alert,
    violations_alert,
)
from sagewatch.report import ScanReport
from sagewatch.scan import Inventory, MetricsReader, run_scan
from sagewatch.settings import ScanSettings


class Publisher(Protocol):
    def publish_digest(self, digest: Digest) -> list[str]: ...


class EventSink(Protocol):
    def put(self, announcements: list[Announcement], *, account: str | None, region: str) -> int: ...


class StateStore(Protocol):
    def load(self) -> dict[str, FindingState]: ...
    def save(self, states: list[FindingState]) -> None: ...


@dataclass(frozen=True)
class ScanDependencies:
    inventory: Inventory
    metrics: MetricsReader
    publisher: Publisher
    events: EventSink
    state: StateStore
    catalog: Catalog
    account: str | None


def digest_of(report: ScanReport, lifecycle: Plan, *, state_available: bool = True) -> Digest:
    return Digest(
        account=report.account,
        region=report.region,
        generated_at=report.generated_at,
        announcements=lifecycle.announcements,
        unchanged=lifecycle.unchanged,
        snoozed={e: d.isoformat() for e, d in lifecycle.snoozed.items()},
        open_savings_usd=report.monthly_savings_usd,
        state_available=state_available,
    )


def preview_digest(report: ScanReport) -> Digest:
    """The digest a first scan of this fleet would send (every finding new; snoozes applied)."""
    active, _ = snoozes(report.tags, report.generated_at.date())
    lifecycle = announce_all(f for f in report.findings if f.endpoint not in active)
    lifecycle.snoozed = active
    return digest_of(report, lifecycle)


def scheduled_scan(
    settings: ScanSettings, request: ScanRequest, deps: ScanDependencies, now: datetime | None = None
) -> tuple[ScanReport, dict[str, Any]]:
    """Scan, decide what is worth announcing, send one digest, remember what was said.

    The digest goes out before state is written: if the function fails in between, the next scan
    announces again rather than never. If the state table is unreadable, the digest lists every
    current finding and says so.
    """
    now = now or datetime.now(UTC)
    report = run_scan(
        deps.inventory,
        deps.metrics,
        deps.catalog,
        settings.thresholds,
        now=now,
        region=settings.region,
        account=deps.account,
    )
    active, snooze_problems = snoozes(report.tags, now.date())
    warnings = list(snooze_problems)
    state_available = True
    try:
        lifecycle = plan(
            report.findings,
            deps.state.load(),
            now=now,
            renotify_days=settings.renotify_days,
            judged=report.judged,
            listed=set(report.listed),
            complete=report.complete,
            snoozed=active,
        )
    except StateUnavailableError as exc:
        warnings.append(str(exc))
        state_available = False
        lifecycle = announce_all(f for f in report.findings if f.endpoint not in active)
        lifecycle.snoozed = active
    digest = digest_of(report, lifecycle, state_available=state_available)
    message_ids: list[str] = []
    failed_events = 0
    if request.publish:
        if lifecycle.announcements:
            message_ids = deps.publisher.publish_digest(digest)
            failed_events = deps.events.put(lifecycle.announcements, account=report.account, region=report.region)
        if state_available:
            try:
                deps.state.save(lifecycle.states)
            except StateUnavailableError as exc:
                warnings.append(str(exc))  # the next scan announces again: duplicates, never silence
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
        "warnings": warnings,
    }
    return report, result


class Poster(Protocol):
    def post(self, payload: dict[str, Any], *, deadline: float | None = None) -> int: ...


def deliver_to_slack(messages: list[str], poster: Poster, *, deadline: float | None = None) -> dict[str, Any]:
    """Post each SNS message's digest to Slack as Block Kit messages. Any failure raises, so that the
    invocation is retried and finally dead-lettered with its event: nothing is dropped silently."""
    batches: list[list[dict[str, Any]]] = []
    for n, message in enumerate(messages, 1):
        try:
            doc = json.loads(message)
            if isinstance(doc, dict) and doc.get("schema") == "sagewatch.alert/1":
                batches.append([render_alert_slack(doc)])
            else:
                batches.append(render_slack(digest_from_json(doc)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"SNS message {n} is not a sagewatch digest or alert: {exc}") from exc
    posted = attempts = 0
    for payloads in batches:
        for payload in payloads:
            attempts += poster.post(payload, deadline=deadline)
            posted += 1
    return {"digests": len(batches), "slack_messages": posted, "attempts": attempts}


class MonitorSource(Protocol):
    def processing_job(self, name: str) -> dict[str, Any] | None: ...
    def monitoring_type(self, schedule: str | None) -> str | None: ...
    def read(self, uri: str) -> bytes: ...


class AlertPublisher(Protocol):
    def publish_alert(self, alert: Alert) -> str: ...


class AlertSink(Protocol):
    def put_alert(self, alert: Alert) -> int: ...


@dataclass(frozen=True)
class MonitorDependencies:
    source: MonitorSource
    publisher: AlertPublisher
    events: AlertSink
    region: str
    account: str | None


def monitor_alert(event: dict[str, Any], deps: MonitorDependencies) -> Alert | str:
    """The alert an EventBridge event calls for, or why it calls for none. Raises EventShapeError for
    events of an unexpected shape (the handler logs them; retrying would not help)."""
    incoming = classify(event)
    time = str(event["time"]) if event.get("time") else None
    if isinstance(incoming, Ignored):
        return incoming.reason
    if isinstance(incoming, EndpointEvent):
        return endpoint_alert(incoming, region=deps.region, account=deps.account, time=time)
    job: ProcessingJobEvent = incoming
    if not is_monitoring_job(job.detail):
        described = deps.source.processing_job(job.job_name)  # event details can be trimmed: ask once
        if described is None or not is_monitoring_job(described):
            return f"processing job {job.job_name} is not a monitoring run"
        job = ProcessingJobEvent(job.job_name, job.job_arn, job.status, {**described, **job.detail})
    kind = deps.source.monitoring_type(job.schedule_name)
    label = MONITORING_TYPES.get(kind or "", kind)
    region, account = deps.region, deps.account

    def unreadable(problem: str) -> Alert:
        return unreadable_alert(job, problem, region=region, account=account, monitoring_type=label, time=time)

    if job.status.lower() == "failed":
        return failed_run_alert(job, region=region, account=account, monitoring_type=label, time=time)
    # A hint only: the file decides. But with the hint, a missing file is an alert, not silence.
    hinted = str(job.detail.get("ExitMessage", "")).startswith("CompletedWithViolations")
    if job.output_uri is None:
        return unreadable("the run has no S3 output") if hinted else "run has no output folder"
    try:
        violations = parse_violations(deps.source.read(f"{job.output_uri}/constraint_violations.json"))
    except ViolationsReadError as exc:
        if exc.not_found and not hinted:
            return f"run {job.job_name} wrote no violations file: nothing found"
        return unreadable(str(exc))
    except ViolationsFileError as exc:
        return unreadable(f"constraint_violations.json is malformed: {exc}")
    if not violations:
        return f"run {job.job_name} found no violations"
    return violations_alert(job, violations, region=region, account=account, monitoring_type=label, time=time)


def handle_monitor_event(event: dict[str, Any], deps: MonitorDependencies) -> dict[str, Any]:
    outcome = monitor_alert(event, deps)
    if isinstance(outcome, str):
        return {"status": "ignored", "reason": outcome}
    message_id = deps.publisher.publish_alert(outcome)
    failed_events = deps.events.put_alert(outcome)
    return {
        "status": "alerted",
        "kind": outcome.kind.value,
        "endpoint": outcome.endpoint,
        "violations": len(outcome.violations),
        "message_id": message_id,
        "failed_events": failed_events,
    }
