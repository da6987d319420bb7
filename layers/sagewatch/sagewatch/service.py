"""Entry points the Lambda handlers call: one domain function each, with its dependencies injected."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sagewatch.bounds import optional
from sagewatch.catalog import Catalog
from sagewatch.costs import CostReport, Reservation, build_cost_report, plan_report_queries, report_windows
from sagewatch.digest import Digest
from sagewatch.events import ReportRequest, ScanRequest
from sagewatch.inventory import endpoint_from_api
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
from sagewatch.metrics import Windows, plan_queries
from sagewatch.models import Endpoint, ScanError
from sagewatch.monitoring import (
    MONITORING_TYPES,
    VIOLATIONS_FILE,
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
    unreadable_alert,
    violations_alert,
)
from sagewatch.notify import Notice, RemediationNotice, WeeklyNotice, from_document, slack_payloads
from sagewatch.notify.remediation import REMEDIATION_SCHEMA
from sagewatch.remediation import (
    DESTRUCTIVE,
    PROTECT_TAG,
    LiveEndpoint,
    RemediationError,
    RemediationRequest,
    monthly_cost,
    restore_config,
    stale_reasons,
)
from sagewatch.remediation import Plan as RemediationPlan
from sagewatch.remediation import plan as plan_remediation
from sagewatch.report import ScanReport
from sagewatch.rules import variant_usage
from sagewatch.scan import Discovery, Inventory, MetricsReader, run_scan
from sagewatch.settings import ReportSettings, ScanSettings, Thresholds
from sagewatch.weekly import ReportLocation, cost_summary


class Notifier(Protocol):
    """Sends a notice (sagewatch.notify renders it); returns the message ids."""

    def publish(self, notice: Notice) -> list[str]: ...


class EventSink(Protocol):
    def put(self, announcements: list[Announcement], *, account: str | None, region: str) -> int: ...


class StateStore(Protocol):
    def load(self) -> dict[str, FindingState]: ...
    def save(self, states: list[FindingState]) -> None: ...


@dataclass(frozen=True)
class ScanDependencies:
    inventory: Inventory
    metrics: MetricsReader
    publisher: Notifier
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
            message_ids = deps.publisher.publish(digest)
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


class CostInventory(Protocol):
    def discover(self) -> Discovery: ...

    def reservations(self, endpoints: list[Endpoint]) -> tuple[dict[str, Reservation], list[ScanError]]: ...


def cost_report(
    inventory: CostInventory,
    metrics: MetricsReader,
    catalog: Catalog,
    *,
    days: int,
    target_utilization_pct: float,
    now: datetime,
    region: str,
    account: str | None,
) -> CostReport:
    """What every endpoint, variant and inference component cost in the `days` before `now` (read-only)."""
    windows = report_windows(now, days)
    discovery = inventory.discover()
    reservations, reservation_errors = inventory.reservations(discovery.endpoints)
    results, metric_errors = metrics.fetch(plan_report_queries(discovery.endpoints), windows)
    if account is None and discovery.endpoints:
        account = discovery.endpoints[0].arn.split(":")[4]
    return build_cost_report(
        discovery.endpoints,
        reservations,
        results,
        catalog,
        windows,
        target_utilization_pct=target_utilization_pct,
        generated_at=now,
        region=region,
        account=account,
        not_costed=discovery.skipped,
        errors=discovery.errors + reservation_errors + metric_errors,
    )


class ReportArchive(Protocol):
    def latest(self) -> dict[str, Any] | None: ...
    def put(self, report: CostReport) -> ReportLocation: ...


@dataclass
class WeeklyDependencies:
    inventory: CostInventory
    metrics: MetricsReader
    catalog: Catalog
    archive: ReportArchive
    publisher: Notifier
    account: str | None


def weekly_report(
    settings: ReportSettings, request: ReportRequest, deps: WeeklyDependencies, now: datetime | None = None
) -> dict[str, Any]:
    """Cost report of the last `settings.days` days into the bucket, then a short digest on the topic."""
    report = cost_report(
        deps.inventory,
        deps.metrics,
        deps.catalog,
        days=settings.days,
        target_utilization_pct=settings.thresholds.target_utilization_pct,
        now=now or datetime.now(UTC),
        region=settings.region,
        account=deps.account,
    )
    previous = deps.archive.latest()
    if previous and previous.get("period", {}).get("end", "") >= report.period["end"]:
        previous = None  # a rerun of the same period is no trend
    where = deps.archive.put(report)
    summary = cost_summary(report, previous, where)
    message_id = deps.publisher.publish(WeeklyNotice(summary))[0] if request.publish else None
    return {
        "schema": "sagewatch.weekly-result/1",
        "totals": summary["totals"],
        "change_pct": summary["change_pct"],
        "report": summary["report"],
        "rows": len(report.rows),
        "errors": len(report.errors),
        "published_message_id": message_id,
    }


class Poster(Protocol):
    def post(self, payload: dict[str, Any], *, deadline: float | None = None) -> int: ...


def deliver_to_slack(messages: list[str], poster: Poster, *, deadline: float | None = None) -> dict[str, Any]:
    """Post each SNS message's notice to Slack as Block Kit messages. Any failure raises, so that the
    invocation is retried and finally dead-lettered with its event: nothing is dropped silently."""
    batches: list[list[dict[str, Any]]] = []
    for n, message in enumerate(messages, 1):
        try:
            doc = json.loads(message)
            if not isinstance(doc, dict):
                raise TypeError(f"a JSON {type(doc).__name__}, not an object")
            batches.append(slack_payloads(from_document(doc)))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"SNS message {n} is not a sagewatch digest, alert, notice: {str(exc)[:300]}") from exc
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


class AlertSink(Protocol):
    def put_alert(self, alert: Alert) -> int: ...


@dataclass(frozen=True)
class MonitorDependencies:
    source: MonitorSource
    publisher: Notifier
    events: AlertSink
    region: str
    account: str | None


def monitor_alert(event: dict[str, Any], deps: MonitorDependencies) -> Alert | str:
    """The alert an EventBridge event calls for, or why it calls for none. Raises EventShapeError for
    events of an unexpected shape (the handler logs them; retrying would not help)."""
    incoming = classify(event)
    time = optional(event.get("time"), 64)
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
    label = MONITORING_TYPES.get(kind or "") or optional(kind)
    region, account = deps.region, deps.account

    def unreadable(problem: str) -> Alert:
        return unreadable_alert(job, problem, region=region, account=account, monitoring_type=label, time=time)

    if job.status.lower() == "failed":
        return failed_run_alert(job, region=region, account=account, monitoring_type=label, time=time)
    # A hint only: the file decides. But with the hint, a missing file is an alert, not silence.
    hinted = job.exit_message.startswith("CompletedWithViolations")
    if job.output_uri is None:
        return unreadable("the run has no usable S3 output (ProcessingOutputConfig)") if hinted else "run has no output"
    uri = f"{job.output_uri}/{VIOLATIONS_FILE}"
    try:
        violations = parse_violations(deps.source.read(uri))
    except ViolationsReadError as exc:
        if exc.not_found and not hinted:
            return f"run {job.job_name} wrote no violations file: nothing found"
        return unreadable(str(exc))
    except ViolationsFileError as exc:
        return unreadable(f"{uri} is malformed: {exc}")
    if not violations.items:
        return f"run {job.job_name} found no violations"
    return violations_alert(job, violations, region=region, account=account, monitoring_type=label, time=time)


def handle_monitor_event(event: dict[str, Any], deps: MonitorDependencies) -> dict[str, Any]:
    outcome = monitor_alert(event, deps)
    if isinstance(outcome, str):
        return {"status": "ignored", "reason": outcome}
    message_id = deps.publisher.publish(outcome)[0]
    failed_events = deps.events.put_alert(outcome)
    return {
        "status": "alerted",
        "kind": outcome.kind.value,
        "endpoint": outcome.endpoint,
        "violations": outcome.violation_count,
        "message_id": message_id,
        "failed_events": failed_events,
    }


# --- remediation ---------------------------------------------------------------------------------


class RemediationActor(Protocol):
    def read(self, endpoint: str) -> LiveEndpoint | None: ...
    def snapshot(self, live: LiveEndpoint, now: datetime) -> str: ...
    def load_snapshot(self, key: str) -> dict[str, Any]: ...
    def audit(self, record: dict[str, Any], now: datetime) -> str: ...
    def delete(self, live: LiveEndpoint) -> list[str]: ...
    def restore(self, snapshot: dict[str, Any]) -> list[str]: ...
    def update_config(self, live: LiveEndpoint, new_config: dict[str, Any]) -> list[str]: ...
    def set_instance_count(self, endpoint: str, variant: str, count: int) -> list[str]: ...
    def scale_to_zero(self, endpoint: str, variant: str, current: int) -> list[str]: ...


@dataclass(frozen=True)
class RemediationDependencies:
    actor: RemediationActor
    metrics: MetricsReader
    announcer: Notifier
    catalog: Catalog
    thresholds: Thresholds
    account: str | None


def recent_invocations(
    live: LiveEndpoint, deps: RemediationDependencies, now: datetime, variant: str | None = None
) -> float | None:
    """Requests served over the idle window (by `variant`, or the whole endpoint), as the scan counts them;
    None when CloudWatch could not say."""
    components: dict[str, list[str]] = {}
    for ic in live.components:
        components.setdefault(str(ic.get("VariantName")), []).append(str(ic["InferenceComponentName"]))
    endpoint = endpoint_from_api(live.description, live.config, live.tags, components)
    windows = Windows.ending_at(now, deps.thresholds)
    results, errors = deps.metrics.fetch(plan_queries([endpoint]), windows)
    usages = [
        variant_usage(endpoint, v, results, windows) for v in endpoint.variants if variant is None or v.name == variant
    ]
    if errors or not all(u.traffic_known for u in usages):
        return None
    return sum(u.invocations + u.backlog_peak for u in usages)


def _restore_plan(
    request: RemediationRequest, live: LiveEndpoint | None, snapshot: dict[str, Any], catalog: Catalog
) -> RemediationPlan:
    name = snapshot["endpoint"]["EndpointName"]
    if name != request.endpoint:
        raise RemediationError(f"snapshot {request.snapshot} is of endpoint {name}, not {request.endpoint}")
    config = restore_config(snapshot)
    target = LiveEndpoint(
        snapshot["endpoint"],
        config,
        snapshot.get("tags", {}),
        snapshot.get("inference_components", []),
        snapshot.get("scalable_targets", []),
        snapshot.get("scaling_policies", []),
    )
    before = live.variants() if live else {}
    after = target.variants()
    steps = []
    if not live:
        counts = ", ".join(f"{v} at {a['instance_count']} x {a['instance_type']}" for v, a in after.items())
        steps.append(f"create endpoint config {config['EndpointConfigName']} as it ran when deleted ({counts})")
        steps.append(f"create endpoint {name} with it and its tags")
    have = {t["ResourceId"] for t in live.scalable_targets} if live else set()
    steps += [
        f"register auto scaling of {t['ResourceId']} ({t['MinCapacity']}-{t['MaxCapacity']} instances) once "
        f"{name} is InService"
        for t in target.scalable_targets
        if t["ResourceId"] not in have
    ]
    have_policies = {(p["ResourceId"], p["PolicyName"]) for p in live.scaling_policies} if live else set()
    steps += [
        f"put scaling policy {p['PolicyName']} ({p.get('PolicyType')}) on {p['ResourceId']}"
        for p in target.scaling_policies
        if (p["ResourceId"], p["PolicyName"]) not in have_policies
    ]
    present = {c["InferenceComponentName"] for c in live.components} if live else set()
    steps += [
        f"create inference component {c['InferenceComponentName']} once {name} is InService"
        for c in target.components
        if c["InferenceComponentName"] not in present
    ]
    return RemediationPlan(
        "restore-endpoint",
        name,
        before,
        after,
        monthly_cost(before, catalog),
        monthly_cost(after, catalog),
        steps or ["nothing: the endpoint is already restored"],
        f"delete-endpoint {name}",
    )


def _check_real_run(
    request: RemediationRequest, live: LiveEndpoint | None, stale: list[str], the_plan: RemediationPlan
) -> None:
    """Every rule a real run must pass; raises RemediationError naming the first one it breaks."""
    if request.confirm != request.endpoint:
        raise RemediationError(
            f"confirm must be the endpoint name {request.endpoint!r} for a real run (got {request.confirm!r})"
        )
    if not request.request_id:
        raise RemediationError("a real run needs request_id (any unique string): a retried call then never acts twice")
    if request.action in DESTRUCTIVE and request.expect is None and not request.force:
        raise RemediationError(
            "nothing to re-check the endpoint against: pass expect (a finding's command does) or force true"
        )
    if stale and not request.force:
        raise RemediationError("the finding is stale: " + "; ".join(stale) + " (force true overrides)")
    if the_plan.accelerator_change and not (request.allow_accelerator_change and request.force):
        raise RemediationError(
            f"the resize changes the accelerator ({the_plan.accelerator_change}): a real run needs both "
            "allow_accelerator_change true and force true"
        )
    if live is not None and request.action != "delete-endpoint" and live.status != "InService":
        raise RemediationError(f"endpoint {live.name} is {live.status}: try again when it is InService")


def _execute(
    request: RemediationRequest,
    live: LiveEndpoint | None,
    snapshot: dict[str, Any] | None,
    the_plan: RemediationPlan,
    actor: RemediationActor,
    now: datetime,
) -> tuple[list[str], str | None]:
    """Carry out a checked plan; returns what was done and the snapshot key (delete only)."""
    if snapshot is not None:
        return actor.restore(snapshot), None
    if live is None:
        raise RemediationError(f"endpoint {request.endpoint} does not exist")
    if request.action == "delete-endpoint":
        key = actor.snapshot(live, now)  # first: nothing is deleted unless it can be recreated
        return actor.delete(live), key
    if the_plan.new_config is not None:  # resize-variant, remove-variant
        return actor.update_config(live, the_plan.new_config), None
    variant = the_plan.variant or ""
    if request.action == "set-instance-count" and request.instance_count is not None:
        return actor.set_instance_count(live.name, variant, request.instance_count), None
    return actor.scale_to_zero(live.name, variant, int(the_plan.before[variant]["instance_count"])), None


def remediate(
    request: RemediationRequest, deps: RemediationDependencies, now: datetime | None = None
) -> dict[str, Any]:
    """Plan (dry run) or carry out one action on one endpoint. Raises RemediationError, having changed
    nothing, when the request is refused."""
    now = now or datetime.now(UTC)
    live = deps.actor.read(request.endpoint)
    snapshot = deps.actor.load_snapshot(request.snapshot or "") if request.action == "restore-endpoint" else None
    if live is None and snapshot is None:
        if request.action == "delete-endpoint":  # asked to delete what is gone: done
            return {"status": "already-deleted", "dry_run": request.dry_run, "endpoint": request.endpoint}
        raise RemediationError(f"endpoint {request.endpoint} does not exist in this account and region")
    if live is not None and live.protected:
        raise RemediationError(f"endpoint {live.name} is tagged {PROTECT_TAG}=true: sagewatch will not change it")
    if snapshot is not None:
        the_plan = _restore_plan(request, live, snapshot, deps.catalog)
    else:
        assert live is not None
        the_plan = plan_remediation(request, live, deps.catalog, now)
    stale: list[str] = []
    if live is not None and request.expect is not None:
        invocations = recent_invocations(live, deps, now, request.variant) if request.expect.idle else None
        if request.expect.idle and invocations is None:
            stale.append("CloudWatch could not confirm it is still idle")
        stale += stale_reasons(request, live, invocations=invocations)
    result: dict[str, Any] = {"dry_run": request.dry_run, "plan": the_plan.to_dict(), "stale": stale}
    if request.dry_run:
        result["status"] = "planned"
        result["to_execute"] = f"the same request with dry_run false, confirm {request.endpoint!r} and a new request_id"
        if the_plan.accelerator_change:
            result["to_execute"] += ", allow_accelerator_change true and force true (the accelerator changes)"
        return result
    _check_real_run(request, live, stale, the_plan)
    done, snapshot_key = _execute(request, live, snapshot, the_plan, deps.actor, now)
    record = {
        "schema": REMEDIATION_SCHEMA,
        "account": deps.account,
        "executed_at": now.isoformat(),
        "request": request.model_dump(mode="json"),
        "plan": the_plan.to_dict(),
        "done": done,
        "snapshot": snapshot_key,
        "forced_over": stale if request.force else [],
    }
    warnings = _record_and_tell(record, deps, now)
    return {
        **result,
        "status": "done",
        "done": done,
        "snapshot": snapshot_key,
        "audit": record.get("audit"),
        "warnings": warnings,
    }


AUDIT_ATTEMPTS = 3


def _record_and_tell(record: dict[str, Any], deps: RemediationDependencies, now: datetime) -> list[str]:
    """Once an action has run, write its audit record and announce it. Neither failing may turn into an error
    for the caller (the endpoint has changed: the answer must say so): each failure becomes a warning, and
    the handler logs the whole result."""
    warnings: list[str] = []
    for attempt in range(1, AUDIT_ATTEMPTS + 1):
        try:
            record["audit"] = deps.actor.audit(record, now)
            break
        except Exception as exc:
            if attempt == AUDIT_ATTEMPTS:
                record["audit"] = None
                warnings.append(f"the audit record could not be written ({type(exc).__name__}: {str(exc)[:200]})")
    record["warnings"] = list(warnings)
    try:
        record["message_id"] = deps.announcer.publish(RemediationNotice(record))[0]
    except Exception as exc:
        warnings.append(f"the announcement could not be published ({type(exc).__name__}: {str(exc)[:200]})")
    return warnings
