"""Model Monitor runs and endpoint health events -> one alert each (on the topic and the bus)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sagewatch.app.extras import extra
from sagewatch.app.ports import Notifier, deliver
from sagewatch.bounds import optional
from sagewatch.monitoring import (
    MONITORING_TYPES,
    VIOLATIONS_FILE,
    Alert,
    EndpointEvent,
    HealthEvent,
    Ignored,
    Incoming,
    ProcessingJobEvent,
    ViolationsFileError,
    ViolationsReadError,
    endpoint_alert,
    failed_run_alert,
    health_alerts,
    is_monitoring_job,
    parse_violations,
    unreadable_alert,
    violations_alert,
)
from sagewatch.owners import Owner, from_tags


class MonitorSource(Protocol):
    def endpoint_tags(self, name: str) -> dict[str, str]: ...
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


def monitor_alert(incoming: Incoming, event: Mapping[str, Any], deps: MonitorDependencies) -> list[Alert] | str:
    """The alerts a classified EventBridge event calls for (one, or one per endpoint an AWS Health event names),
    or why it calls for none."""
    time = optional(event.get("time"), 64)
    if isinstance(incoming, Ignored):
        return incoming.reason
    if isinstance(incoming, EndpointEvent):
        return [endpoint_alert(incoming, region=deps.region, account=deps.account, time=time)]
    if isinstance(incoming, HealthEvent):
        return health_alerts(incoming, region=deps.region, account=deps.account, time=time)
    job = _monitoring_run(incoming, deps.source)
    if job is None:
        return f"processing job {incoming.job_name} is not a monitoring run"
    found = _run_alert(job, deps, time)
    return found if isinstance(found, str) else [found]


def _monitoring_run(job: ProcessingJobEvent, source: MonitorSource) -> ProcessingJobEvent | None:
    """The job as a monitoring run (completed from DescribeProcessingJob when the event was trimmed), or None."""
    if is_monitoring_job(job.detail):
        return job
    described = source.processing_job(job.job_name)  # event details can be trimmed: ask once
    if described is None or not is_monitoring_job(described):
        return None
    return ProcessingJobEvent(job.job_name, job.job_arn, job.status, {**described, **job.detail})


def _run_alert(job: ProcessingJobEvent, deps: MonitorDependencies, time: str | None) -> Alert | str:
    kind = extra("the monitoring schedule's type", lambda: deps.source.monitoring_type(job.schedule_name), None)
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


def handle_monitor_event(incoming: Incoming, event: Mapping[str, Any], deps: MonitorDependencies) -> dict[str, Any]:
    """Alert (topic and bus) on what `incoming` (the event, classified) calls for; say what was done."""
    outcome = monitor_alert(incoming, event, deps)
    if isinstance(outcome, str):
        return {"status": "ignored", "reason": outcome}
    message_ids: list[str | None] = []
    failed_events = 0
    for alert in outcome:
        alert = _owned(alert, deps)
        ids = deliver(deps.publisher, alert)
        message_ids.append(ids[0] if ids else None)  # None: left to the central account (LocalNotifications=false)
        failed_events += deps.events.put_alert(alert)
    first = outcome[0]
    result: dict[str, Any] = {
        "status": "alerted",
        "kind": first.kind.value,
        "endpoint": first.endpoint,
        "violations": first.violation_count,
        "message_id": message_ids[0],
        "failed_events": failed_events,
    }
    if len(outcome) > 1:  # an AWS Health event about several endpoints: one alert to each owner
        result |= {"alerts": len(outcome), "endpoints": [a.endpoint for a in outcome], "message_ids": message_ids}
    return result


def _owned(alert: Alert, deps: MonitorDependencies) -> Alert:
    """The alert with its endpoint's owner and tags: it names them, and goes to their route."""
    if not alert.endpoint:
        return alert
    endpoint = alert.endpoint
    tags: dict[str, str] = extra(
        "the endpoint's tags (its owner and route)", lambda: deps.source.endpoint_tags(endpoint), {}
    )
    owner = extra("the endpoint's owner", lambda: from_tags(tags), Owner())
    return replace(alert, owner=owner, tags=tags)
