"""Model Monitor and endpoint-health alerts in every form (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sagewatch.bounds import NAME_MAX, TEXT_MAX, URI_MAX, bounded, clip, optional
from sagewatch.monitoring import (
    VIOLATIONS_FILE,
    Alert,
    AlertKind,
    Measure,
    Violation,
)
from sagewatch.notify.core import (
    Chatbot,
    Rendering,
    as_mapping,
    context,
    header,
    lines_fitting,
    link,
    payload,
    section,
    text_of,
)
from sagewatch.notify.limits import SLACK_SECTION_MAX, chat, code
from sagewatch.owners import Owner, describe

ALERT_SCHEMA = "sagewatch.alert/1"
# Detail levels, most detailed first: (violations listed, characters of each description, of the reason).
# A notice that does not fit its budget at one level is rendered at the next; the last fits whatever the data.
LEVELS = ((10, 1000, 1000), (5, 300, 600), (3, 120, 300), (1, 80, 200), (0, 0, 120))


def _measure_dict(m: Measure | None) -> dict[str, Any]:
    if m is None:
        return {"observed": None, "required": None, "gap": None}
    return {"observed": m.observed, "required": m.required, "gap": m.gap}


def _violation_dict(v: Violation, description_max: int) -> dict[str, Any]:
    return {
        "name": v.name,
        "check": v.check,
        "facet": v.facet,
        "facet_value": v.facet_value,
        "label": v.label,
        "description": clip(v.description, description_max),
        "distance": v.distance,
        "threshold": v.threshold,
        **_measure_dict(v.measure),
    }


def subject(alert: Alert) -> str:
    """Short enough for SNS's 100 characters without cutting a word: the summary says the rest."""
    endpoint, kind = clip(alert.endpoint or "?", 40), alert.monitoring_type or "monitoring"
    what = {
        AlertKind.VIOLATIONS: f"{alert.violation_count} {kind} violations on {endpoint}",
        AlertKind.MONITORING_FAILED: f"monitoring broken for {endpoint}",
        AlertKind.MONITORING_UNREADABLE: f"monitoring results unreadable for {endpoint}",
        AlertKind.ENDPOINT_FAILED: f"endpoint {endpoint} failed",
        AlertKind.DEPLOYMENT_ROLLBACK: (
            f"update of {endpoint} rolled back"
            if (alert.status or "").replace("_", "").lower() == "inservice"
            else f"deployment to {endpoint} rolling back"
        ),
        AlertKind.AWS_HEALTH: f"AWS Health {clip(alert.health_event or '?', 40)} for {endpoint}",
    }[alert.kind]
    text = f"sagewatch {alert.account or '?'}/{alert.region}: {what}"
    return text if len(text) <= 100 else f"sagewatch: {what}"


def document(alert: Alert, level: int = 0) -> dict[str, Any]:
    listed, description_max, reason_max = LEVELS[level]
    shown = alert.violations[:listed]
    return {
        "schema": ALERT_SCHEMA,
        "kind": alert.kind.value,
        "severity": alert.severity,
        "account": alert.account,
        "region": alert.region,
        "time": alert.time,
        "endpoint": alert.endpoint,
        "summary": alert.summary,
        "reason": clip(alert.reason, reason_max) if alert.reason else None,
        "monitoring_schedule": alert.schedule,
        "monitoring_type": alert.monitoring_type,
        "processing_job": alert.job,
        "violation_count": alert.violation_count,
        "violations": [_violation_dict(v, description_max) for v in shown],
        "violations_left_out": alert.violation_count - len(shown),
        "unreadable_entries": alert.unreadable_entries,
        "violations_uri": alert.violations_uri,
        "output_uri": alert.output_uri,
        "links": alert.links,
        "owner": alert.owner.to_dict(),
        "status": alert.status,
        "since": alert.since,
        "health_event": alert.health_event,
        "affected_endpoints": alert.affected,
    }


def _left_out(alert: Alert, shown: int) -> str | None:
    left = alert.violation_count - shown
    if left <= 0:
        return None
    where = alert.violations_uri or VIOLATIONS_FILE
    return f"... and {left} more in {where}"


def text(alert: Alert, level: int = 0) -> str:
    listed, description_max, reason_max = LEVELS[level]
    lines = [f"[{alert.severity.upper()}] {alert.summary}", ""]
    for label, value in (
        ("Endpoint", alert.endpoint),
        ("AWS Health event", alert.health_event),
        ("Status", f"{alert.status} since {alert.since}" if alert.status and alert.since else alert.status),
        ("Affected endpoints", _affected(alert)),
        ("Monitoring schedule", alert.schedule),
        ("Monitoring type", alert.monitoring_type),
        ("Processing job", alert.job),
        ("Reason", clip(alert.reason, reason_max) if alert.reason else None),
        ("Output", alert.output_uri),
    ):
        if value:
            lines.append(f"{label}: {value}")
    if alert.violations:
        lines += ["", f"Violations ({alert.violation_count}, worst first):"]
        for v in alert.violations[:listed]:
            detail = f": {clip(v.description, description_max)}" if description_max and v.description else ""
            lines.append(f"  - {v.subject}: {v.check}{detail}")
        more = _left_out(alert, min(listed, len(alert.violations)))
        if more:
            lines.append(f"  {more}")
    if alert.unreadable_entries:
        lines.append(f"{alert.unreadable_entries} entries of {VIOLATIONS_FILE} could not be read.")
    if alert.owner.known or alert.owner.team:
        lines.append(describe(alert.owner, _when(alert)).replace("owner:", "Owner:", 1))
    if alert.links:
        lines += ["", "In the console:"] + [f"  {k.replace('_', ' ')}: {v}" for k, v in alert.links.items()]
    return "\n".join(lines)


def _affected(alert: Alert) -> str | None:
    """The endpoints an AWS Health event names, beside the one this alert is for."""
    if len(alert.affected) <= 1:
        return None
    return clip(", ".join(alert.affected), 600)


def _markdown_fields(alert: Alert, reason_max: int) -> list[str]:
    status = f"{alert.status} since {alert.since}" if alert.status and alert.since else alert.status
    fields = [
        f"*{label}:* {code(value) if label in ('Endpoint', 'Job', 'Event') else chat(value, NAME_MAX)}"
        for label, value in (
            ("Endpoint", alert.endpoint),
            ("Event", alert.health_event),
            ("Status", status),
            ("Also affected", _affected(alert)),
            ("Schedule", alert.schedule),
            ("Type", alert.monitoring_type),
            ("Job", alert.job),
        )
        if value
    ]
    if alert.reason:
        fields.append(f"*Reason:* {chat(alert.reason, reason_max)}")
    if alert.owner.known or alert.owner.team:
        fields.append(f"_{chat(describe(alert.owner, _when(alert)), 300)}_")
    return fields


def _when(alert: Alert) -> datetime:
    """The alert's time (for "created N days ago"; alerts' owners come from tags, which carry no age)."""
    try:
        when = datetime.fromisoformat(str(alert.time).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _markdown_violations(alert: Alert, listed: int, description_max: int, limit: int) -> str:
    lines = []
    for v in alert.violations[:listed]:
        line = f"• {code(v.subject)} {chat(v.check, 64)}"
        if description_max and v.description:
            line += f": {chat(v.description, description_max)}"
        lines.append(line)
    where = chat(alert.violations_uri or VIOLATIONS_FILE, URI_MAX)
    more = lines_fitting(lines, limit - 200, "…and {n} more listed here")
    left = alert.violation_count - min(listed, len(alert.violations))
    if left > 0:
        more += f"\n…{left} more in {where}"
    return more


def chatbot(alert: Alert, level: int = 0) -> Chatbot:
    listed, description_max, reason_max = LEVELS[level]
    parts = _markdown_fields(alert, reason_max)
    if alert.violations:
        parts.append(_markdown_violations(alert, min(listed, 5), min(description_max, 200), 2500))
    return Chatbot(
        title=alert.summary,
        description="\n".join(parts),
        next_steps=[f"Open the {name.replace('_', ' ')}: {url}" for name, url in alert.links.items()],
        keywords=["sagewatch", alert.kind.value, alert.region],
        thread_id=f"sagewatch-{alert.kind.value}-{alert.endpoint}",
        event_type=alert.kind.value,
        related=[alert.endpoint] if alert.endpoint else [],
        context={"account": alert.account or "", "region": alert.region},
    )


def render(alert: Alert, level: int = 0) -> Rendering:
    return Rendering(
        subject=subject(alert),
        text=text(alert, level),
        document=document(alert, level),
        chatbot=chatbot(alert, level),
        attributes={
            "kind": [alert.kind.value],
            "severity": [alert.severity],
            "endpoint": [alert.endpoint] if alert.endpoint else [],
            "reason": ["alert"],
        },
    )


def slack(alert: Alert) -> list[dict[str, Any]]:
    """One Block Kit webhook payload; everything from data is escaped."""
    listed, _, reason_max = LEVELS[0]
    icon = ":rotating_light:" if alert.severity == "high" else ":warning:"
    blocks = [header(f"sagewatch: {alert.kind.value}"), section(f"{icon} {chat(alert.summary, 2900)}")]
    fields = _markdown_fields(alert, reason_max)
    if fields:
        blocks.append(section("\n".join(fields)))
    if alert.violations:
        title = f"*Worst violations of {alert.violation_count}:*\n"
        blocks.append(section(title + _markdown_violations(alert, listed, 400, SLACK_SECTION_MAX - len(title))))
    if alert.unreadable_entries:
        blocks.append(context(f"{alert.unreadable_entries} entries of {VIOLATIONS_FILE} could not be read."))
    if alert.links:
        blocks.append(context(" · ".join(link(url, name.replace("_", " ")) for name, url in alert.links.items())))
    return [payload(alert.summary, blocks)]


# --- the document read back (the Slack notifier receives what SNS delivered) -------------------------------


def _violation(doc: Mapping[str, Any]) -> Violation:
    observed, required, gap = doc.get("observed"), doc.get("required"), doc.get("gap")
    measure = None
    if isinstance(observed, int | float) and not isinstance(observed, bool):
        measure = Measure(
            float(observed),
            float(required) if isinstance(required, int | float) else None,
            float(gap) if isinstance(gap, int | float) else None,
        )
    return Violation(
        name=text_of(doc.get("name")) or "(unnamed)",
        check=text_of(doc.get("check")),
        description=optional(doc.get("description"), TEXT_MAX) or "",
        facet=optional(doc.get("facet")),
        facet_value=optional(doc.get("facet_value")),
        label=optional(doc.get("label")),
        measure=measure,
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def from_document(doc: Mapping[str, Any]) -> Alert:
    """The Alert a document() describes. Raises ValueError when it is not one."""
    if doc.get("schema") != ALERT_SCHEMA:
        raise ValueError(f"not a sagewatch alert: schema is {bounded(repr(doc.get('schema')))}")
    try:
        kind = AlertKind(str(doc.get("kind")))
    except ValueError as exc:
        raise ValueError(f"unknown alert kind {bounded(repr(doc.get('kind')))}") from exc
    violations = [_violation(as_mapping(v)) for v in doc.get("violations") or [] if isinstance(v, Mapping)]
    links = {bounded(k, 64): bounded(v, URI_MAX + 200) for k, v in as_mapping(doc.get("links")).items()}
    return Alert(
        kind=kind,
        endpoint=optional(doc.get("endpoint")),
        region=text_of(doc.get("region")),
        account=optional(doc.get("account")),
        summary=optional(doc.get("summary"), 2 * TEXT_MAX) or "",
        reason=optional(doc.get("reason"), TEXT_MAX),
        schedule=optional(doc.get("monitoring_schedule")),
        monitoring_type=optional(doc.get("monitoring_type")),
        job=optional(doc.get("processing_job")),
        violations=violations,
        violation_count=max(_count(doc.get("violation_count")), len(violations)),
        unreadable_entries=_count(doc.get("unreadable_entries")),
        output_uri=optional(doc.get("output_uri"), URI_MAX),
        links=links,
        time=optional(doc.get("time"), 64),
        owner=Owner.from_dict(doc.get("owner")),
        status=optional(doc.get("status"), 64),
        since=optional(doc.get("since"), 64),
        health_event=optional(doc.get("health_event")),
        affected=[bounded(a) for a in doc.get("affected_endpoints") or [] if isinstance(a, str)][:50],
        level=optional(doc.get("severity"), 16) if doc.get("severity") in ("high", "medium", "low") else None,
    )
