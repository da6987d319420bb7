"""Model Monitor runs and endpoint health events -> alerts (pure).

There is no "violations" event: a monitoring run is a processing job whose completion event says
Completed whether or not it found violations. The violations file in its output folder decides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

PROCESSING_JOB_CHANGE = "SageMaker Processing Job State Change"
ENDPOINT_CHANGE = "SageMaker Endpoint State Change"
DEPLOYMENT_CHANGE = "SageMaker Endpoint Deployment State Change"
VIOLATIONS_FILE = "constraint_violations.json"
MAX_LISTED_VIOLATIONS = 10

MONITORING_TYPES = {
    "DataQuality": "data quality",
    "ModelQuality": "model quality",
    "ModelBias": "bias",
    "ModelExplainability": "explainability",
}


class EventShapeError(ValueError):
    """The event is not of a shape sagewatch understands; the message says what is wrong."""


class ViolationsFileError(ValueError):
    """The violations file is not the JSON Model Monitor writes."""


class ViolationsReadError(RuntimeError):
    """The violations file could not be read (`not_found`: it does not exist)."""

    def __init__(self, message: str, *, not_found: bool = False):
        super().__init__(message)
        self.not_found = not_found


class AlertKind(StrEnum):
    VIOLATIONS = "monitoring-violations"
    MONITORING_FAILED = "monitoring-failed"
    MONITORING_UNREADABLE = "monitoring-unreadable"
    ENDPOINT_FAILED = "endpoint-failed"
    DEPLOYMENT_ROLLBACK = "deployment-rollback"


def _status(value: object) -> str:
    """IN_SERVICE, InService and in-service are one status: compare them normalized."""
    return re.sub(r"[^a-z]", "", str(value).lower())


@dataclass(frozen=True)
class ProcessingJobEvent:
    job_name: str
    job_arn: str
    status: str  # Completed | Failed | Stopped ...
    detail: dict[str, Any]

    @property
    def schedule_name(self) -> str | None:
        env = self.detail.get("Environment") or {}
        if env.get("sagemaker_monitoring_schedule_name"):
            return str(env["sagemaker_monitoring_schedule_name"])
        arn = self.detail.get("MonitoringScheduleArn")
        return str(arn).rsplit("/", 1)[-1] if arn else None

    @property
    def endpoint(self) -> str | None:
        env = self.detail.get("Environment") or {}
        return str(env["sagemaker_endpoint_name"]) if env.get("sagemaker_endpoint_name") else None

    @property
    def output_uri(self) -> str | None:
        outputs = (self.detail.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for output in outputs:
            uri = (output.get("S3Output") or {}).get("S3Uri")
            if uri:
                return str(uri).rstrip("/")
        return None


@dataclass(frozen=True)
class EndpointEvent:
    kind: AlertKind
    endpoint: str
    status: str
    failure_reason: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Ignored:
    reason: str


Incoming = ProcessingJobEvent | EndpointEvent | Ignored


def classify(event: object) -> Incoming:
    """What an EventBridge event is to sagewatch. Raises EventShapeError for malformed events."""
    if not isinstance(event, Mapping):
        raise EventShapeError(f"event is a {type(event).__name__}, not a JSON object")
    detail_type, detail = event.get("detail-type"), event.get("detail")
    if event.get("source") != "aws.sagemaker":
        return Ignored(f"source is {event.get('source')!r}, not aws.sagemaker")
    if not isinstance(detail, Mapping):
        raise EventShapeError(f"{detail_type!r} event has no detail object")
    if detail_type == PROCESSING_JOB_CHANGE:
        missing = [k for k in ("ProcessingJobName", "ProcessingJobStatus") if not isinstance(detail.get(k), str)]
        if missing:
            raise EventShapeError(f"processing job event lacks {', '.join(missing)}")
        if _status(detail["ProcessingJobStatus"]) not in ("completed", "failed"):
            return Ignored(f"processing job is {detail['ProcessingJobStatus']}, not finished")
        arn = detail.get("ProcessingJobArn") or ""
        return ProcessingJobEvent(detail["ProcessingJobName"], str(arn), detail["ProcessingJobStatus"], dict(detail))
    if detail_type in (ENDPOINT_CHANGE, DEPLOYMENT_CHANGE):
        name = detail.get("EndpointName")
        if not isinstance(name, str) or not name:
            raise EventShapeError(f"{detail_type!r} event lacks EndpointName")
        status = _status(detail.get("EndpointStatus", ""))
        reason = detail.get("FailureReason")
        if detail_type == ENDPOINT_CHANGE and status == "failed":
            return EndpointEvent(
                AlertKind.ENDPOINT_FAILED, name, str(detail.get("EndpointStatus")), reason, dict(detail)
            )
        if detail_type == DEPLOYMENT_CHANGE and status in ("rollingback", "updaterollbackfailed", "failed"):
            return EndpointEvent(
                AlertKind.DEPLOYMENT_ROLLBACK,
                name,
                str(detail.get("EndpointStatus")),
                reason or _variant_messages(detail),
                dict(detail),
            )
        return Ignored(f"endpoint {name} is {detail.get('EndpointStatus')}: nothing to report")
    return Ignored(f"detail-type {detail_type!r} is not handled")


def _variant_messages(detail: Mapping[str, Any]) -> str | None:
    messages = []
    variants = detail.get("ProductionVariants")
    for variant in variants if isinstance(variants, list) else []:
        statuses = variant.get("VariantStatus") if isinstance(variant, Mapping) else None
        for status in statuses if isinstance(statuses, list) else []:
            if isinstance(status, Mapping) and status.get("StatusMessage"):
                messages.append(f"{variant.get('VariantName')}: {status['StatusMessage']}")
    return "; ".join(messages) or None


def is_monitoring_job(detail: Mapping[str, Any]) -> bool:
    env = detail.get("Environment") or {}
    return bool(detail.get("MonitoringScheduleArn") or env.get("sagemaker_monitoring_schedule_name"))


# --- violations ----------------------------------------------------------------------------------

_NUMBER = r"(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)"


@dataclass(frozen=True)
class Violation:
    name: str  # feature_name or metric_name
    check: str
    description: str
    distance: float | None = None
    threshold: float | None = None

    @property
    def excess(self) -> float:
        """How far past its threshold (drift distance over threshold); unmeasured ones rank after."""
        if self.distance is None or self.threshold is None:
            return float("-inf")
        return self.distance - self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "check": self.check,
            "description": self.description,
            "distance": self.distance,
            "threshold": self.threshold,
        }


def _measure(description: str) -> tuple[float | None, float | None]:
    drift = re.search(rf"distance:?\s*{_NUMBER}.*?threshold:?\s*{_NUMBER}", description, re.IGNORECASE)
    if drift:
        return float(drift.group(1)), float(drift.group(2))
    # model quality: "Metric accuracy with 0.62 was LessThanThreshold '0.8'"
    metric = re.search(rf"with\s+{_NUMBER}\s+was\s+\w*Than\w*\s+'?{_NUMBER}", description)
    if metric:
        value, threshold = float(metric.group(1)), float(metric.group(2))
        return abs(value - threshold) + threshold, threshold  # rank by the gap
    return None, None


def parse_violations(text: str | bytes) -> list[Violation]:
    """constraint_violations.json -> violations, worst (largest excess over threshold) first."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ViolationsFileError(f"not JSON: {exc}") from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("violations"), list):
        raise ViolationsFileError('expected an object with a "violations" list')
    out = []
    for i, raw in enumerate(doc["violations"]):
        if not isinstance(raw, Mapping):
            raise ViolationsFileError(f"violation #{i} is not an object")
        name = raw.get("feature_name") or raw.get("metric_name")
        check = raw.get("constraint_check_type")
        if not isinstance(name, str) or not isinstance(check, str):
            raise ViolationsFileError(f"violation #{i} lacks feature_name/metric_name or constraint_check_type")
        description = str(raw.get("description", ""))[:2000]
        distance, threshold = _measure(description)
        out.append(Violation(name, check, description, distance, threshold))
    return sorted(out, key=lambda v: (-v.excess, v.name))


# --- alerts --------------------------------------------------------------------------------------


def console_url(region: str, path: str) -> str:
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{path}"


def s3_console_url(uri: str) -> str:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return f"https://s3.console.aws.amazon.com/s3/buckets/{quote(bucket)}?prefix={quote(prefix + '/')}"


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    endpoint: str | None
    region: str
    account: str | None
    summary: str
    reason: str | None = None  # failure reason, or why the file could not be read
    schedule: str | None = None
    monitoring_type: str | None = None
    job: str | None = None
    violations: list[Violation] = field(default_factory=list)
    output_uri: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    time: str | None = None

    @property
    def severity(self) -> str:
        return "medium" if self.kind is AlertKind.VIOLATIONS else "high"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "sagewatch.alert/1",
            "kind": self.kind.value,
            "severity": self.severity,
            "account": self.account,
            "region": self.region,
            "time": self.time,
            "endpoint": self.endpoint,
            "summary": self.summary,
            "reason": self.reason,
            "monitoring_schedule": self.schedule,
            "monitoring_type": self.monitoring_type,
            "processing_job": self.job,
            "violation_count": len(self.violations),
            "violations": [v.to_dict() for v in self.violations[:MAX_LISTED_VIOLATIONS]],
            "output_uri": self.output_uri,
            "links": self.links,
        }


def _job_alert(
    job: ProcessingJobEvent,
    kind: AlertKind,
    summary: str,
    *,
    region: str,
    account: str | None,
    monitoring_type: str | None,
    time: str | None,
    reason: str | None = None,
    violations: list[Violation] | None = None,
) -> Alert:
    return Alert(
        kind=kind,
        endpoint=job.endpoint,
        region=region,
        account=account,
        time=time,
        summary=summary,
        reason=reason,
        schedule=job.schedule_name,
        monitoring_type=monitoring_type,
        job=job.job_name,
        violations=violations or [],
        output_uri=job.output_uri,
        links=_links(job, region),
    )


def violations_alert(
    job: ProcessingJobEvent,
    violations: list[Violation],
    *,
    region: str,
    account: str | None,
    monitoring_type: str | None,
    time: str | None,
) -> Alert:
    what = f"{monitoring_type} " if monitoring_type else ""
    worst = violations[0]
    summary = (
        f"Model Monitor found {len(violations)} {what}violation{'s' if len(violations) != 1 else ''} on "
        f"endpoint {job.endpoint or '?'}; worst: {worst.name} ({worst.check})."
    )
    return _job_alert(
        job,
        AlertKind.VIOLATIONS,
        summary,
        region=region,
        account=account,
        monitoring_type=monitoring_type,
        time=time,
        violations=violations,
    )


def failed_run_alert(
    job: ProcessingJobEvent, *, region: str, account: str | None, monitoring_type: str | None, time: str | None
) -> Alert:
    reason = job.detail.get("FailureReason") or job.detail.get("ExitMessage") or "no failure reason given"
    summary = (
        f"Monitoring is broken for endpoint {job.endpoint or '?'}: the {monitoring_type or 'monitoring'} "
        f"run {job.job_name} failed."
    )
    return _job_alert(
        job,
        AlertKind.MONITORING_FAILED,
        summary,
        region=region,
        account=account,
        monitoring_type=monitoring_type,
        time=time,
        reason=str(reason),
    )


def unreadable_alert(
    job: ProcessingJobEvent,
    problem: str,
    *,
    region: str,
    account: str | None,
    monitoring_type: str | None,
    time: str | None,
) -> Alert:
    summary = (
        f"The {monitoring_type or 'monitoring'} run {job.job_name} on endpoint {job.endpoint or '?'} "
        "reported violations, but sagewatch could not read them."
    )
    return _job_alert(
        job,
        AlertKind.MONITORING_UNREADABLE,
        summary,
        region=region,
        account=account,
        monitoring_type=monitoring_type,
        time=time,
        reason=problem,
    )


def endpoint_alert(event: EndpointEvent, *, region: str, account: str | None, time: str | None) -> Alert:
    if event.kind is AlertKind.ENDPOINT_FAILED:
        summary = f"Endpoint {event.endpoint} failed ({event.status})."
    else:
        summary = f"A deployment to endpoint {event.endpoint} is rolling back ({event.status})."
    return Alert(
        kind=event.kind,
        endpoint=event.endpoint,
        region=region,
        account=account,
        time=time,
        summary=summary,
        reason=event.failure_reason or "no failure reason given",
        links={"endpoint": console_url(region, f"endpoints/{event.endpoint}")},
    )


def _links(job: ProcessingJobEvent, region: str) -> dict[str, str]:
    links = {"processing_job": console_url(region, f"processing-jobs/{job.job_name}")}
    if job.endpoint:
        links["endpoint"] = console_url(region, f"endpoints/{job.endpoint}")
    if job.output_uri:
        links["output"] = s3_console_url(job.output_uri)
    return links


def render_alert_text(alert: Alert) -> str:
    lines = [f"[{alert.severity.upper()}] {alert.summary}", ""]
    for label, value in (
        ("Endpoint", alert.endpoint),
        ("Monitoring schedule", alert.schedule),
        ("Monitoring type", alert.monitoring_type),
        ("Processing job", alert.job),
        ("Reason", alert.reason),
        ("Output", alert.output_uri),
    ):
        if value:
            lines.append(f"{label}: {value}")
    if alert.violations:
        lines += ["", f"Violations ({len(alert.violations)}, worst first):"]
        for v in alert.violations[:MAX_LISTED_VIOLATIONS]:
            lines.append(f"  - {v.name}: {v.check}: {v.description}")
        if len(alert.violations) > MAX_LISTED_VIOLATIONS:
            lines.append(f"  ... and {len(alert.violations) - MAX_LISTED_VIOLATIONS} more in {VIOLATIONS_FILE}")
    if alert.links:
        lines += ["", "In the console:"] + [f"  {k.replace('_', ' ')}: {v}" for k, v in alert.links.items()]
    return "\n".join(lines)


def alert_subject(alert: Alert) -> str:
    """Short enough for SNS's 100 characters without cutting a word: the summary says the rest."""
    endpoint, kind = alert.endpoint or "?", alert.monitoring_type or "monitoring"
    what = {
        AlertKind.VIOLATIONS: f"{len(alert.violations)} {kind} violations on {endpoint}",
        AlertKind.MONITORING_FAILED: f"monitoring broken for {endpoint}",
        AlertKind.MONITORING_UNREADABLE: f"monitoring results unreadable for {endpoint}",
        AlertKind.ENDPOINT_FAILED: f"endpoint {endpoint} failed",
        AlertKind.DEPLOYMENT_ROLLBACK: f"deployment to {endpoint} rolling back",
    }[alert.kind]
    subject = f"sagewatch {alert.account or '?'}/{alert.region}: {what}"
    return subject if len(subject) <= 100 else f"sagewatch: {what}"[:100]


# --- channels: alerts render from their JSON form, which is also what subscribers receive -------


def render_alert_slack(doc: Mapping[str, Any]) -> dict[str, Any]:
    """One Block Kit webhook payload for an alert document (schema sagewatch.alert/1)."""
    icon = ":rotating_light:" if doc.get("severity") == "high" else ":warning:"
    fields = [
        f"*{label}:* {doc[key]}"
        for label, key in (
            ("Endpoint", "endpoint"),
            ("Schedule", "monitoring_schedule"),
            ("Type", "monitoring_type"),
            ("Job", "processing_job"),
            ("Reason", "reason"),
        )
        if doc.get(key)
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"sagewatch: {doc.get('kind')}"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {doc.get('summary', '')}"[:3000]}},
    ]
    if fields:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(fields)[:3000]}})
    violations = doc.get("violations") or []
    if violations:
        text = "\n".join(f"• `{v['name']}` {v['check']}: {v['description']}" for v in violations)
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Worst violations of {doc.get('violation_count')}:*\n{text}"[:3000],
                },
            }
        )
    links = doc.get("links") or {}
    if links:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": " · ".join(f"<{url}|{name.replace('_', ' ')}>" for name, url in links.items())[:3000],
                    }
                ],
            }
        )
    return {"text": str(doc.get("summary", ""))[:150], "blocks": blocks}


def render_alert_chatbot(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": str(doc.get("summary", ""))[:250],
            "description": render_alert_markdown(doc),
            "nextSteps": [
                f"Open the {name.replace('_', ' ')}: {url}" for name, url in (doc.get("links") or {}).items()
            ],
            "keywords": ["sagewatch", str(doc.get("kind")), str(doc.get("region"))],
        },
        "metadata": {
            "threadId": f"sagewatch-{doc.get('kind')}-{doc.get('endpoint')}",
            "summary": str(doc.get("summary", ""))[:250],
            "eventType": str(doc.get("kind")),
            "relatedResources": [str(doc.get("endpoint"))] if doc.get("endpoint") else [],
            "additionalContext": {"account": str(doc.get("account") or ""), "region": str(doc.get("region"))},
        },
    }


def render_alert_markdown(doc: Mapping[str, Any]) -> str:
    lines = [
        f"*{label}:* {doc[key]}"
        for label, key in (
            ("Endpoint", "endpoint"),
            ("Schedule", "monitoring_schedule"),
            ("Type", "monitoring_type"),
            ("Reason", "reason"),
        )
        if doc.get(key)
    ]
    lines += [f"• `{v['name']}` {v['check']}" for v in (doc.get("violations") or [])[:5]]
    return "\n".join(lines)[:3500]


def alert_sns_body(alert: Alert, *, chatbot: bool) -> dict[str, str]:
    doc = alert.to_dict()
    machine = json.dumps(doc)
    text = render_alert_text(alert)
    return {
        "default": text,
        "email": text,
        "email-json": machine,
        "sqs": machine,
        "lambda": machine,
        "https": json.dumps(render_alert_chatbot(doc)) if chatbot else machine,
    }
