"""Model Monitor runs, endpoint state changes and AWS Health events -> alerts (pure).

There is no "violations" event: a monitoring run is a processing job whose completion event says
Completed whether or not it found violations. The violations file in its output folder decides.

Everything read here comes from other systems (EventBridge, DescribeProcessingJob, a file a monitoring
container wrote): each value is type-checked where it is read and every string is bounded
(sagewatch.notify.limits) the moment it enters, so no shape of input can crash the handler or grow a message.
How alerts look is sagewatch.notify's business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from sagewatch.bounds import TEXT_MAX, URI_MAX, bounded, optional
from sagewatch.owners import Owner

PROCESSING_JOB_CHANGE = "SageMaker Processing Job State Change"
ENDPOINT_CHANGE = "SageMaker Endpoint State Change"
DEPLOYMENT_CHANGE = "SageMaker Endpoint Deployment State Change"
HEALTH_EVENT = "AWS Health Event"
HEALTH_ENDPOINTS_MAX = 20  # one alert per affected endpoint (to its owner), at most this many per event
VIOLATIONS_FILE = "constraint_violations.json"

MONITORING_TYPES = {
    "DataQuality": "data quality",
    "ModelQuality": "model quality",
    "ModelBias": "bias drift",
    "ModelExplainability": "feature attribution",
}
DATA_QUALITY_CHECKS = {
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
}


def mapping(value: object) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one: documents from other systems may hold anything."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


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
    AWS_HEALTH = "aws-health"


def _status(value: object) -> str:
    """IN_SERVICE, InService and in-service are one status: compare them normalized."""
    return re.sub(r"[^a-z]", "", bounded(value, 64).lower())


@dataclass(frozen=True)
class ProcessingJobEvent:
    job_name: str
    job_arn: str
    status: str  # Completed | Failed | Stopped ...
    detail: Mapping[str, Any]

    @property
    def environment(self) -> Mapping[str, Any]:
        return mapping(self.detail.get("Environment"))

    @property
    def schedule_name(self) -> str | None:
        name = optional(self.environment.get("sagemaker_monitoring_schedule_name"))
        if name:
            return name
        arn = optional(self.detail.get("MonitoringScheduleArn"), URI_MAX)
        return bounded(arn.rsplit("/", 1)[-1]) if arn else None

    @property
    def endpoint(self) -> str | None:
        return optional(self.environment.get("sagemaker_endpoint_name"))

    @property
    def output_uri(self) -> str | None:
        """The run's S3 output folder. A URI longer than S3 allows is no URI: it is not cut, it is refused."""
        outputs = sequence(mapping(self.detail.get("ProcessingOutputConfig")).get("Outputs"))
        for output in outputs:
            uri = mapping(mapping(output).get("S3Output")).get("S3Uri")
            if isinstance(uri, str) and uri.startswith("s3://") and len(uri) <= URI_MAX:
                return uri.rstrip("/")
        return None

    @property
    def exit_message(self) -> str:
        return optional(self.detail.get("ExitMessage"), TEXT_MAX) or ""

    @property
    def failure_reason(self) -> str:
        return (
            optional(self.detail.get("FailureReason"), TEXT_MAX)
            or optional(self.detail.get("ExitMessage"), TEXT_MAX)
            or "no failure reason given"
        )


@dataclass(frozen=True)
class EndpointEvent:
    kind: AlertKind
    endpoint: str
    status: str
    failure_reason: str | None
    detail: Mapping[str, Any]

    @property
    def since(self) -> str | None:
        """When the endpoint entered this state (LastModifiedTime, epoch milliseconds in these events)."""
        return _instant(self.detail.get("LastModifiedTime"))


@dataclass(frozen=True)
class HealthEvent:
    """An AWS Health event about SageMaker (detail-type "AWS Health Event", detail.service SAGEMAKER)."""

    arn: str
    type_code: str
    category: str  # issue | accountNotification | scheduledChange | investigation
    status: str  # open | upcoming (closed ones are not alerted)
    description: str
    endpoints: tuple[str, ...]  # the affected endpoints, by name
    others: int  # affected entities that are not endpoints (notebooks, jobs...)
    start: str | None
    region: str | None


@dataclass(frozen=True)
class Ignored:
    reason: str


Incoming = ProcessingJobEvent | EndpointEvent | HealthEvent | Ignored


def classify(event: object) -> Incoming:
    """What an EventBridge event is to sagewatch. Raises EventShapeError for malformed events."""
    if not isinstance(event, Mapping):
        raise EventShapeError(f"event is a {type(event).__name__}, not a JSON object")
    detail_type, detail = event.get("detail-type"), event.get("detail")
    if event.get("source") == "aws.health":
        if detail_type != HEALTH_EVENT:
            return Ignored(f"detail-type {bounded(repr(detail_type))} of aws.health is not handled")
        if not isinstance(detail, Mapping):
            raise EventShapeError("AWS Health event has no detail object")
        return _health(detail)
    if event.get("source") != "aws.sagemaker":
        return Ignored(f"source is {bounded(repr(event.get('source')))}, not aws.sagemaker or aws.health")
    if not isinstance(detail, Mapping):
        raise EventShapeError(f"{bounded(repr(detail_type))} event has no detail object")
    if detail_type == PROCESSING_JOB_CHANGE:
        return _processing_job(detail)
    if detail_type in (ENDPOINT_CHANGE, DEPLOYMENT_CHANGE):
        return _endpoint_change(str(detail_type), detail)
    return Ignored(f"detail-type {bounded(repr(detail_type))} is not handled")


def _processing_job(detail: Mapping[str, Any]) -> Incoming:
    missing = [k for k in ("ProcessingJobName", "ProcessingJobStatus") if not isinstance(detail.get(k), str)]
    if missing:
        raise EventShapeError(f"processing job event lacks {', '.join(missing)}")
    status = bounded(detail["ProcessingJobStatus"], 64)
    if _status(status) not in ("completed", "failed"):
        return Ignored(f"processing job is {status}, not finished")
    arn = optional(detail.get("ProcessingJobArn"), URI_MAX) or ""
    return ProcessingJobEvent(bounded(detail["ProcessingJobName"]), arn, status, detail)


def _endpoint_change(detail_type: str, detail: Mapping[str, Any]) -> Incoming:
    name = detail.get("EndpointName")
    if not isinstance(name, str) or not name:
        raise EventShapeError(f"{detail_type!r} event lacks EndpointName")
    name, shown = bounded(name), bounded(detail.get("EndpointStatus", ""), 64)
    status = _status(shown)
    reason = optional(detail.get("FailureReason"), TEXT_MAX)
    if detail_type == ENDPOINT_CHANGE and status == "failed":
        return EndpointEvent(AlertKind.ENDPOINT_FAILED, name, shown, reason, detail)
    if detail_type == DEPLOYMENT_CHANGE and status in ("rollingback", "updaterollbackfailed", "failed"):
        return EndpointEvent(AlertKind.DEPLOYMENT_ROLLBACK, name, shown, reason or _variant_messages(detail), detail)
    if status == "inservice" and reason:
        # back in service after an update that failed and rolled back: it serves the previous config
        return EndpointEvent(AlertKind.DEPLOYMENT_ROLLBACK, name, shown, reason, detail)
    return Ignored(f"endpoint {name} is {shown}: nothing to report")


ENDPOINT_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:endpoint/([A-Za-z0-9-]{1,63})$")
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$")


def _health(detail: Mapping[str, Any]) -> Incoming:
    service = bounded(detail.get("service", ""), 64)
    if service.upper() != "SAGEMAKER":
        return Ignored(f"AWS Health event for {service or '?'}, not SageMaker")
    arn, code = optional(detail.get("eventArn"), URI_MAX), optional(detail.get("eventTypeCode"))
    if not arn or not code:
        raise EventShapeError("AWS Health event lacks eventArn or eventTypeCode")
    status = bounded(detail.get("statusCode") or "open", 32)
    if status.lower() == "closed":
        return Ignored(f"AWS Health event {code} is closed")
    endpoints: list[str] = []
    others = 0
    for entity in sequence(detail.get("affectedEntities")):
        value = optional(mapping(entity).get("entityValue"), URI_MAX) or ""
        found = ENDPOINT_ARN.match(value)
        name = found.group(1) if found else (value if ENDPOINT_NAME.match(value) else None)
        if name and name not in endpoints:
            endpoints.append(name)
        elif not name:
            others += 1
    descriptions = [mapping(d) for d in sequence(detail.get("eventDescription"))]
    english = next((d for d in descriptions if d.get("language") == "en_US"), descriptions[0] if descriptions else {})
    return HealthEvent(
        arn=arn,
        type_code=code,
        category=bounded(detail.get("eventTypeCategory") or "?", 32),
        status=status,
        description=optional(english.get("latestDescription"), TEXT_MAX) or "",
        endpoints=tuple(endpoints),
        others=others,
        start=optional(detail.get("startTime"), 64),
        region=optional(detail.get("eventRegion"), 32),
    )


def _instant(value: object) -> str | None:
    """An event's time as ISO 8601 (these events carry epoch milliseconds, or ISO text)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e14:
        return datetime.fromtimestamp(value / 1000, UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return optional(value, 64)


def _variant_messages(detail: Mapping[str, Any]) -> str | None:
    messages = []
    for variant in sequence(detail.get("ProductionVariants")):
        variant = mapping(variant)
        for status in sequence(variant.get("VariantStatus")):
            message = optional(mapping(status).get("StatusMessage"), TEXT_MAX)
            if message:
                messages.append(f"{optional(variant.get('VariantName')) or '?'}: {message}")
    return bounded("; ".join(messages), TEXT_MAX) if messages else None


def is_monitoring_job(detail: Mapping[str, Any]) -> bool:
    env = mapping(detail.get("Environment"))
    return bool(
        optional(detail.get("MonitoringScheduleArn")) or optional(env.get("sagemaker_monitoring_schedule_name"))
    )


# --- violations ----------------------------------------------------------------------------------

_NUMBER = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
# data quality: "Baseline drift distance: 0.4318 exceeds threshold: 0.1",
# "Numerical distance: 0.2711598746081505 exceeds numerical threshold: 0"
_DRIFT = re.compile(rf"distance:?\s*{_NUMBER}.*?threshold:?\s*{_NUMBER}", re.IGNORECASE | re.DOTALL)
# data quality: "Expected match: 100.0%. Observed: Only 0.0% of data is Integral.",
# "Observed: Only 74.9% of data is non-null"
_EXPECTED_PCT = re.compile(rf"Expected (?:match|completeness)[^:]*:\s*{_NUMBER}\s*%", re.IGNORECASE)
_OBSERVED_PCT = re.compile(rf"(?:Observed:?\s*(?:Only\s+)?|Only\s+){_NUMBER}\s*%", re.IGNORECASE)
# model quality: "Metric gini with 0.6111 was LessThanThreshold 0.6611" (the threshold may be quoted)
_METRIC = re.compile(rf"Metric\s+\S+\s+with\s+{_NUMBER}\s+was\s+(\w+)\s+'?{_NUMBER}", re.IGNORECASE)
# feature attribution: "Feature attribution drift 0.7639720923277322 exceeds threshold 0.9" (an nDCG score
# that must stay at or above the threshold)
_ATTRIBUTION = re.compile(rf"drift\s+{_NUMBER}\s+exceeds\s+threshold\s+{_NUMBER}", re.IGNORECASE)
# bias drift: "Value 0.0751544567666083 does not meet the constraint requirement" (no requirement given)
_VALUE = re.compile(rf"Value\s+{_NUMBER}", re.IGNORECASE)


@dataclass(frozen=True)
class Measure:
    """What a violation's description says was observed against what was required, and how far apart they
    are (`gap`: comparable across checks; None when the description gives no requirement)."""

    observed: float
    required: float | None
    gap: float | None
    unit: str = ""  # "%" for match and completeness percentages


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _drift(description: str) -> Measure | None:
    m = _DRIFT.search(description)
    d, t = (_float(m.group(1)), _float(m.group(2))) if m else (None, None)
    return Measure(d, t, max(0.0, d - t)) if d is not None and t is not None else None


def _attribution(description: str) -> Measure | None:
    m = _ATTRIBUTION.search(description)
    v, t = (_float(m.group(1)), _float(m.group(2))) if m else (None, None)
    return Measure(v, t, abs(t - v)) if v is not None and t is not None else None


def _metric(description: str) -> Measure | None:
    m = _METRIC.search(description)
    v, t = (_float(m.group(1)), _float(m.group(3))) if m else (None, None)
    return Measure(v, t, abs(v - t) / max(abs(t), 0.01)) if v is not None and t is not None else None


def _percentage(description: str) -> Measure | None:
    m = _OBSERVED_PCT.search(description)
    if not m:
        return None
    observed = _float(m.group(1))
    e = _EXPECTED_PCT.search(description)
    expected = _float(e.group(1)) if e else 100.0  # "Only N% of data is ..." measures against all of it
    if observed is None or expected is None:
        return None
    return Measure(observed, expected, max(0.0, expected - observed) / 100, "%")


def _value(description: str) -> Measure | None:
    m = _VALUE.search(description)
    value = _float(m.group(1)) if m else None
    return Measure(value, None, None) if value is not None else None


_MEASURES = (_drift, _attribution, _metric, _percentage, _value)  # the first that reads the description wins


def measure(check: str, description: str) -> Measure | None:
    """The measure written in a Model Monitor description, or None. Gaps are on a 0..1 scale where the check
    has one (percentages, distances, nDCG), relative to the threshold for model-quality metrics."""
    for read in _MEASURES:
        found = read(description)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Violation:
    name: str  # feature_name, or metric_name (model quality, bias drift, feature attribution)
    check: str  # constraint_check_type
    description: str
    facet: str | None = None  # bias drift: the facet (name_or_index) ...
    facet_value: str | None = None  # ... and its value_or_threshold
    label: str | None = None  # feature attribution: which label (label_headers, or "label0")
    measure: Measure | None = None

    @property
    def gap(self) -> float:
        """How far from its requirement; violations without a measure rank after every measured one."""
        if self.measure is None or self.measure.gap is None:
            return float("-inf")
        return self.measure.gap

    @property
    def distance(self) -> float | None:  # drift checks: the distance and its threshold
        return self.measure.observed if self.measure and self.check == "baseline_drift_check" else None

    @property
    def threshold(self) -> float | None:
        return self.measure.required if self.measure and self.check == "baseline_drift_check" else None

    @property
    def subject(self) -> str:
        """What the violation is about, as a person reads it: `CI for Age=40`, `shap for label0`."""
        if self.facet is not None:
            return f"{self.name} for {self.facet}={self.facet_value if self.facet_value is not None else '?'}"
        if self.label is not None:
            return f"{self.name} for {self.label}"
        return self.name


def monitor_type_of(violations: list[Violation]) -> str | None:
    """The monitor type the violations themselves show (when the schedule could not be described)."""
    if any(v.facet is not None or v.check == "bias_drift_check" for v in violations):
        return MONITORING_TYPES["ModelBias"]
    if any(v.label is not None or v.check == "feature_attribution_drift_check" for v in violations):
        return MONITORING_TYPES["ModelExplainability"]
    if any(v.check in DATA_QUALITY_CHECKS for v in violations):
        return MONITORING_TYPES["DataQuality"]
    if any(v.check.endswith("Threshold") for v in violations):
        return MONITORING_TYPES["ModelQuality"]
    return None


@dataclass(frozen=True)
class Violations:
    """A violations file as read: its violations, worst first, and how many entries could not be read."""

    items: list[Violation]
    unreadable: int = 0


def parse_violations(text: str | bytes) -> Violations:
    """constraint_violations.json -> violations, worst (furthest from its requirement) first.

    Raises ViolationsFileError when the file is not JSON, not the documented object, or holds violations none
    of which can be read. Entries that cannot be read beside readable ones are counted, not fatal.
    """
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ViolationsFileError(f"not JSON: {bounded(str(exc))}") from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("violations"), list):
        raise ViolationsFileError('expected an object with a "violations" list')
    out, unreadable = [], 0
    for raw in doc["violations"]:
        entry = mapping(raw)
        check = optional(entry.get("constraint_check_type"))
        if check is None:
            unreadable += 1
            continue
        description = optional(entry.get("description"), TEXT_MAX) or ""
        name = optional(entry.get("feature_name")) or optional(entry.get("metric_name")) or "(unnamed)"
        out.append(
            Violation(
                name,
                check,
                description,
                facet=optional(entry.get("facet")),
                facet_value=optional(entry.get("facet_value")),
                label=optional(entry.get("label")),
                measure=measure(check, description),
            )
        )
    if unreadable and not out:
        raise ViolationsFileError(f"none of its {unreadable} violations is an object with a constraint_check_type")
    return Violations(sorted(out, key=lambda v: (-v.gap, v.subject)), unreadable)


# --- alerts --------------------------------------------------------------------------------------


def console_url(region: str, path: str) -> str:
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{quote(path)}"


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
    violations: list[Violation] = field(default_factory=list)  # worst first
    violation_count: int = 0  # every violation of the run, listed or not
    unreadable_entries: int = 0  # entries of the violations file that could not be read
    output_uri: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    time: str | None = None
    owner: Owner = field(default_factory=Owner)  # the endpoint's owner, from its tags (sagewatch.owners)
    tags: dict[str, str] = field(default_factory=dict)  # the endpoint's tags, for routing (never rendered)
    status: str | None = None  # the endpoint's status (endpoint alerts), or the Health event's
    since: str | None = None  # when it entered that status (endpoint alerts), or the Health event's start
    health_event: str | None = None  # the AWS Health event type code (aws-health)
    affected: list[str] = field(default_factory=list)  # every endpoint the Health event names
    level: str | None = None  # the severity, when the kind alone does not decide it

    @property
    def severity(self) -> str:
        if self.level:
            return self.level
        return "medium" if self.kind is AlertKind.VIOLATIONS else "high"

    @property
    def violations_uri(self) -> str | None:
        return f"{self.output_uri}/{VIOLATIONS_FILE}" if self.output_uri else None


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
    violations: Violations | None = None,
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
        violations=violations.items if violations else [],
        violation_count=len(violations.items) if violations else 0,
        unreadable_entries=violations.unreadable if violations else 0,
        output_uri=job.output_uri,
        links=_links(job, region),
    )


def violations_alert(
    job: ProcessingJobEvent,
    violations: Violations,
    *,
    region: str,
    account: str | None,
    monitoring_type: str | None,
    time: str | None,
) -> Alert:
    """`monitoring_type` is the schedule's (when it could be described); else the violations tell it."""
    monitoring_type = monitoring_type or monitor_type_of(violations.items)
    what = f"{monitoring_type} " if monitoring_type else ""
    count = len(violations.items)
    worst = violations.items[0]
    summary = (
        f"Model Monitor found {count} {what}violation{'s' if count != 1 else ''} on "
        f"endpoint {job.endpoint or '?'}; worst: {worst.subject} ({worst.check})."
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
        reason=job.failure_reason,
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
        reason=bounded(problem, TEXT_MAX),
    )


def endpoint_alert(event: EndpointEvent, *, region: str, account: str | None, time: str | None) -> Alert:
    """The facts a stuck-deployment finding states (status, since, failure reason), when they happen."""
    status = _status(event.status)
    if event.kind is AlertKind.ENDPOINT_FAILED:
        summary = f"Endpoint {event.endpoint} failed ({event.status})."
    elif status == "inservice":
        summary = (
            f"An update of endpoint {event.endpoint} failed and was rolled back: it serves on its previous "
            "configuration, and the change is not live."
        )
    elif status == "updaterollbackfailed":
        summary = (
            f"A deployment to endpoint {event.endpoint} failed and so did its rollback ({event.status}): it needs "
            "a person (update it to a configuration that works)."
        )
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
        status=event.status,
        since=event.since,
        level="medium" if status == "inservice" else None,
    )


def health_alerts(event: HealthEvent, *, region: str, account: str | None, time: str | None) -> list[Alert]:
    """One alert per affected endpoint (each goes to its owner), naming them all; one without an endpoint when
    the event names none. An issue or a scheduled change is high; a notification medium."""
    where = event.region or region
    level = "high" if event.category in ("issue", "scheduledChange") else "medium"
    names = list(event.endpoints)
    more = f" and {event.others} other resources" if event.others else ""

    def alert(endpoint: str | None) -> Alert:
        subject = f"endpoint {endpoint}" if endpoint else "SageMaker"
        others = [n for n in names if n != endpoint]
        also = (
            f" ({len(others)} other endpoints too{more})"
            if others
            else (f" ({event.others} other resources)" if event.others else "")
        )
        links = {
            "health_event": f"https://health.aws.amazon.com/health/home#/account/event-log?eventID={quote(event.arn)}"
        }
        if endpoint:
            links["endpoint"] = console_url(where, f"endpoints/{endpoint}")
        return Alert(
            kind=AlertKind.AWS_HEALTH,
            endpoint=endpoint,
            region=where,
            account=account,
            time=time,
            summary=f"AWS Health: {event.type_code} ({event.category}, {event.status}) for {subject}{also}.",
            reason=event.description or "AWS Health gave no description",
            links=links,
            status=event.status,
            since=event.start,
            health_event=event.type_code,
            affected=names[:50],
            level=level,
        )

    return [alert(name) for name in names[:HEALTH_ENDPOINTS_MAX]] or [alert(None)]


def _links(job: ProcessingJobEvent, region: str) -> dict[str, str]:
    links = {"processing_job": console_url(region, f"processing-jobs/{job.job_name}")}
    if job.endpoint:
        links["endpoint"] = console_url(region, f"endpoints/{job.endpoint}")
    if job.output_uri:
        links["output"] = s3_console_url(job.output_uri)
    return links
