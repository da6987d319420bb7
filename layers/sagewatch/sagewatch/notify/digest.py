"""A scan's digest in every form: email text, JSON, Slack Block Kit and Chatbot; split into as few SNS
messages as the 256 KiB limit allows (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sagewatch.bounds import bounded
from sagewatch.chat import SLACK_DRY_RUN, SLACK_VALUE_MAX, chatbot_context, encode
from sagewatch.commands import request_for
from sagewatch.digest import DIGEST_SCHEMA, SEVERITIES, Digest
from sagewatch.formats import duration, iso_z, money
from sagewatch.hidden import LISTED_MAX, Hidden, summary_line, total
from sagewatch.lifecycle import Announcement, Reason
from sagewatch.models import Finding, Kind
from sagewatch.notify.core import (
    Chatbot,
    Rendering,
    SnsMessage,
    lines_fitting,
    paged_payloads,
    section,
    sns_message,
    sns_parts,
)
from sagewatch.notify.limits import CHATBOT_DESCRIPTION_MAX, SNS_MAX_BYTES, chat, code
from sagewatch.owners import describe
from sagewatch.serving import label


def size(finding: Finding) -> str:
    return finding.size


def _idle(ev: Mapping[str, Any]) -> str:
    hours = ev.get("idle_hours")
    if ev.get("metric") == "InvocationsProcesssed":
        return f"No requests processed and an empty queue in the last {hours} h."
    if "inference_components" in ev:
        comps = ev["inference_components"]
        if not comps:
            return "Hosts no inference components."
        return f"None of its inference components ({', '.join(comps)}) was invoked in the last {hours} h."
    return f"No invocations in the last {hours} h."


def _sizing(ev: Mapping[str, Any]) -> str:
    peaks = ", ".join(f"{k} {v:.0f}%" for k, v in ev.get("peak_pct", {}).items())
    return f"Peak hourly utilization over {ev.get('hours_observed', '?')} h: {peaks}."


def _slow(ev: Mapping[str, Any]) -> str:
    raw = ev.get("latency")
    lat: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return (
        f"p99 latency {lat.get('p99_ms')} ms against a target of {lat.get('slo_p99_ms')} ms (p50 "
        f"{lat.get('p50_ms')} ms) over {lat.get('requests', 0):,} requests."
    )


def _regression(ev: Mapping[str, Any]) -> str:
    return (
        f"p99 latency went from {ev.get('before_p99_ms')} ms to {ev.get('after_p99_ms')} ms after the endpoint "
        f"changed at {ev.get('changed_at')}."
    )


def _cache(ev: Mapping[str, Any]) -> str:
    return (
        f"The model cache serves {ev.get('cache_hit_pct')}% of requests while {ev.get('unloads_per_hour')} models "
        f"are unloaded an hour (loading wait {ev.get('loading_wait_avg_ms')} ms average)."
    )


def _cold_starts(ev: Mapping[str, Any]) -> str:
    return (
        f"{ev.get('cold_start_pct')}% of {ev.get('invocations', 0):,} requests waited for a cold start "
        f"(p99 {ev.get('cold_start_p99_ms')} ms)."
    )


def _imbalanced(ev: Mapping[str, Any]) -> str:
    return (
        f"Mean {str(ev.get('resource', '')).upper()} over {ev.get('hours_observed', '?')} h: {ev.get('unit')} "
        f"{ev.get('busiest')} at {ev.get('busiest_pct')}%, its siblings' median {ev.get('siblings_median_pct')}%."
    )


def _errors(ev: Mapping[str, Any]) -> str:
    causes = [s for s in ev.get("log_signatures") or [] if isinstance(s, Mapping)]
    said = ", ".join(f"{label(str(s.get('signature')))} ({_number(s.get('count'))} lines)" for s in causes[:3])
    return (
        f"{ev.get('error_rate_pct')}% of {ev.get('invocations', 0):,} requests failed with server errors "
        f"(threshold {ev.get('threshold_pct')}%)." + (f" Its log shows {bounded(said, 300)}." if said else "")
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _names(value: object, most: int = 7) -> str:
    items = [bounded(str(v), 64) for v in value] if isinstance(value, list) else []
    return ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")


def _off_hours(ev: Mapping[str, Any]) -> str:
    quiet = _mapping(ev.get("off_hours"))
    night = _mapping(quiet.get("nightly"))
    profile = _mapping(ev.get("profile"))
    when = []
    if night:
        when.append(f"{bounded(str(night.get('start')), 5)}-{bounded(str(night.get('end')), 5)} on working days")
    if quiet.get("off_days"):
        when.append(f"all day {_names(quiet.get('off_days'))}")
    return (
        f"Serves under 1% of its busy-hour traffic {' and '.join(when) or 'off-hours'} "
        f"({bounded(str(profile.get('timezone')), 64)}), every week of the last {ev.get('schedule_days')} days: "
        f"{quiet.get('down_hours_per_week')} h a week it could run smaller."
    )


def _batch(ev: Mapping[str, Any]) -> str:
    busy = _mapping(ev.get("busy_window"))
    return (
        f"Serves {ev.get('share_pct')}% of its traffic between {bounded(str(busy.get('start')), 5)} and "
        f"{bounded(str(busy.get('end')), 5)} ({bounded(str(ev.get('timezone')), 64)}), yet runs all day: its busy "
        f"hours cost {money(ev.get('cost_of_busy_hours_usd'))} of {money(ev.get('monthly_cost_usd'))} a month."
    )


def _consolidate(ev: Mapping[str, Any]) -> str:
    members = [e for e in ev.get("endpoints") or [] if isinstance(e, Mapping)]
    need = _mapping(ev.get("summed_peak"))
    return (
        f"{len(members)} small endpoints ({_names([e.get('endpoint') for e in members])}), each under "
        f"{ev.get('threshold_pct')}% of its instances at its peak; together they need {need.get('vcpu')} vCPUs and "
        f"{need.get('memory_gib')} GiB of memory at their peaks."
    )


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else "?"


def _quota(ev: Mapping[str, Any]) -> str:
    q = _mapping(ev.get("quota"))
    source = "the account's" if q.get("quota_source") == "applied" else "AWS's default"
    return (
        f"{_number(q.get('in_use'))} {bounded(str(q.get('instance_type')), 32)} instances in use, up to "
        f"{_number(q.get('can_reach'))} with auto scaling, against a quota of {_number(q.get('quota'))} ({source})."
    )


def _stuck(ev: Mapping[str, Any]) -> str:
    since = f" since {bounded(str(ev.get('since')), 40)}" if ev.get("since") else ""
    said = str(ev.get("failure_reason") or "").rstrip(". ")
    reason = f": {bounded(said, 300)}" if said else ""
    minutes = ev.get("minutes")
    how_long = f" ({duration(minutes)})" if isinstance(minutes, int) and not isinstance(minutes, bool) else ""
    return f"{bounded(str(ev.get('status')), 32)}{since}{how_long}{reason}."


def _broken(ev: Mapping[str, Any]) -> str:
    missing = [m for m in ev.get("missing") or [] if isinstance(m, Mapping)]
    names = "; ".join(f"{bounded(str(m.get('what')), 20)} {bounded(str(m.get('ref')), 120)}" for m in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return f"Missing: {names}{more} (checked {bounded(str(ev.get('checked_at')), 40)})."


def _zero(ev: Mapping[str, Any]) -> str:
    scaling = _mapping(ev.get("autoscaling"))
    return (
        f"Auto scaling {scaling.get('min_capacity')}-{scaling.get('max_capacity')}, and no "
        f"{bounded(str(ev.get('missing')), 200)}."
    )


def _capture(ev: Mapping[str, Any]) -> str:
    rule = ev.get("lifecycle_rule")
    expiry = ""
    if rule is True:
        expiry = "; its bucket expires them"
    elif rule is False:
        expiry = "; its bucket keeps them forever (no lifecycle rule)"
    return (
        f"Captures {_count(ev.get('sampling_pct'))}% of {_count(ev.get('requests_per_day'))} requests a day "
        f"({_count(ev.get('captured_per_day'))} records) to {bounded(str(ev.get('destination') or 'S3'), 200)}"
        f"{expiry}; {_count(ev.get('recommended_sampling_pct'))}% would keep "
        f"{_count(ev.get('samples_per_day_target'))} a day."
    )


def _provisioned(ev: Mapping[str, Any]) -> str:
    slots, keep = ev.get("provisioned_concurrency"), ev.get("recommended_provisioned_concurrency")
    unused = ev.get("unused_monthly_cost_usd")
    paid = f"; the unused share costs {money(unused)}/month" if isinstance(unused, int | float) else ""
    advice = f"{_count(keep)} would have served its busiest minute" if keep != slots else "its busiest minute used all"
    return (
        f"{_count(slots)} provisioned slots busy {_count(ev.get('utilization_pct'))}% of the time over "
        f"{_count(ev.get('days'))} days{paid}; {advice}."
    )


def _shadow(ev: Mapping[str, Any]) -> str:
    size = f"{_count(ev.get('instance_count'))} x {bounded(str(ev.get('instance_type') or 'serverless'), 40)}"
    return (
        f"Shadow variant {bounded(str(ev.get('shadow_variant')), 63)} ({size}) has copied production's traffic "
        f"for at least {_count(ev.get('days_running'))} days."
    )


def _count(value: object) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) and not isinstance(value, bool) else "?"


# What each kind's evidence says, in one sentence (every kind has one: a test holds each kind to it).
_SENTENCES: dict[Kind, Callable[[Mapping[str, Any]], str]] = {
    Kind.IDLE: _idle,
    Kind.OVERSIZED: _sizing,
    Kind.SATURATED: _sizing,
    Kind.SLOW: _slow,
    Kind.LATENCY_REGRESSION: _regression,
    Kind.CACHE_THRASHING: _cache,
    Kind.COLD_STARTS: _cold_starts,
    Kind.IMBALANCED: _imbalanced,
    Kind.ERRORS: _errors,
    Kind.OFF_HOURS: _off_hours,
    Kind.BATCH_CANDIDATE: _batch,
    Kind.CONSOLIDATE: _consolidate,
    Kind.QUOTA_RISK: _quota,
    Kind.STUCK_DEPLOYMENT: _stuck,
    Kind.BROKEN_DEPENDENCY: _broken,
    Kind.SCALE_FROM_ZERO: _zero,
    Kind.DATA_CAPTURE: _capture,
    Kind.PROVISIONED_CONCURRENCY: _provisioned,
    Kind.SHADOW_VARIANT: _shadow,
}


def evidence_sentence(finding: Finding) -> str:
    """What the evidence says; for a finding an hourly scan carries, when the deep scan concluded it."""
    said = _SENTENCES[finding.kind](finding.evidence)
    return f"{said} (as of the deep scan of {finding.as_of:%Y-%m-%d %H:%M} UTC)" if finding.as_of else said


def subject(d: Digest) -> str:
    parts = [
        f"{d.count(r)} {r.value}" for r in (Reason.NEW, Reason.CHANGED, Reason.REMINDER, Reason.RESOLVED) if d.count(r)
    ]
    route = f" [{d.route}]" if d.route else ""
    text = f"sagewatch {d.account or '?'}/{d.region}{route}: {', '.join(parts) or 'no changes'}"
    if d.part[1] > 1:
        text += f" (part {d.part[0]}/{d.part[1]})"
    return text[:100]  # SNS subject limit


def render_email(d: Digest) -> str:
    lines = [
        f"sagewatch digest for {d.account or 'unknown account'} / {d.region}, "
        f"{d.generated_at:%Y-%m-%d %H:%M} UTC"
        + (f" (part {d.part[0]}/{d.part[1]})" if d.part[1] > 1 else "")
        + (f", the findings routing rule {d.route!r} sends here" if d.route else "")
    ]
    lines.append(
        subject(d).split(": ", 1)[1].split(" (part")[0].capitalize() + ". "
        f"Open findings could save {money(d.open_savings_usd)}/month."
    )
    if not d.state_available:
        lines.append("The state table could not be read: this digest lists every current finding.")
    lines += [f"Note: {w}" for w in d.warnings]
    active = d.active()
    for severity in SEVERITIES:
        group = [a for a in active if a.severity == severity]
        if not group:
            continue
        title = f"{severity.upper()} ({len(group)})"
        lines += ["", title, "-" * len(title)]
        for a in group:
            lines += _email_finding(d, a)
    if d.resolved():
        lines += ["", f"RESOLVED ({len(d.resolved())})", "-" * len(f"RESOLVED ({len(d.resolved())})")]
        lines += [
            f"  {a.finding.kind}: {a.finding.where} is no longer {a.finding.kind} (finding {a.finding.id})"
            for a in d.resolved()
        ]
    lines += hidden_lines(d.hidden)
    lines += ["", "Silence an endpoint: tag it sagewatch:snooze-until=YYYY-MM-DD, or sagewatch:ignore=true."]
    return "\n".join(lines)


def hidden_lines(hidden: Sequence[Hidden]) -> list[str]:
    """The endpoints tags keep out of the findings, with their cost (every digest says what it does not watch)."""
    head = summary_line(list(hidden))
    if head is None:
        return []
    lines = ["", head.upper().split(":", 1)[0] + ":" + head.split(":", 1)[1]]
    lines += [f"  {bounded(h.line(), 400)}" for h in hidden[:LISTED_MAX]]
    if len(hidden) > LISTED_MAX:
        lines.append(f"  …and {len(hidden) - LISTED_MAX} more")
    return lines


def _email_finding(d: Digest, a: Announcement) -> list[str]:
    f = a.finding
    lines = [
        f"[{a.reason.value.upper()}] {f.kind}: {f.where}" + (f" ({size(f)})" if size(f) != "-" else ""),
        f"  {evidence_sentence(f)}",
        *([f"  {f.cost_text()}"] if f.cost_text() else []),
        f"  {bounded(describe(f.owner, d.generated_at), 600)}",
    ]
    if a.previous:
        p = a.previous.recommendation
        lines.append(
            f"  Was: {p.action}"
            + (f" -> {p.instance_count} x {p.instance_type}" if p.instance_type else "")
            + f", saving {money(a.previous.monthly_savings_usd)}/month."
        )
    lines.append(f"  Do: {f.recommendation.summary}")
    command = d.command(a)
    if command:
        lines.append(f"  Dry run (add --execute --confirm {f.endpoint} to carry it out):")
        lines.append(f"    {command}")
    lines.append(f"  Finding {f.id}")
    return lines


def render_json(d: Digest) -> dict[str, Any]:
    return {
        "schema": DIGEST_SCHEMA,
        "account": d.account,
        "region": d.region,
        "generated_at": iso_z(d.generated_at, seconds=True),
        "route": d.route,
        "part": {"index": d.part[0], "of": d.part[1]},
        "summary": {r.value: d.count(r) for r in Reason} | {"unchanged": d.unchanged, "snoozed": len(d.snoozed)},
        "state_available": d.state_available,
        "remediation": d.remediation,
        "warnings": list(d.warnings),
        "open_savings_usd": d.open_savings_usd,
        "snoozed": d.snoozed,
        "hidden": [h.to_dict() for h in d.hidden[:LISTED_MAX]],
        "hidden_count": len(d.hidden),
        "hidden_monthly_cost_usd": total(d.hidden),
        "announcements": [
            {
                "reason": a.reason.value,
                "finding": a.finding.to_dict(),
                "previous": a.previous.to_dict() if a.previous else None,
                "command": d.command(a),
            }
            for a in d.active() + d.resolved()
        ],
    }


def announcement_from(doc: Mapping[str, Any]) -> Announcement:
    """One announcement of a render_json document (the scan's and the organization's digests alike)."""
    return Announcement(
        Reason(doc["reason"]),
        Finding.from_dict(doc["finding"]),
        Finding.from_dict(doc["previous"]) if doc.get("previous") else None,
    )


def digest_from_json(doc: Mapping[str, Any]) -> Digest:
    """The Digest a render_json document describes (what subscribers of the topic receive)."""
    if doc.get("schema") != DIGEST_SCHEMA:
        raise ValueError(f"not a sagewatch digest: schema is {doc.get('schema')!r:.80}, expected {DIGEST_SCHEMA!r}")
    try:
        announcements = [announcement_from(a) for a in doc["announcements"]]
        generated = datetime.fromisoformat(str(doc["generated_at"]).replace("Z", "+00:00"))
        part = doc.get("part", {"index": 1, "of": 1})
        return Digest(
            account=doc.get("account"),
            region=str(doc["region"]),
            generated_at=generated,
            announcements=announcements,
            unchanged=int(doc.get("summary", {}).get("unchanged", 0)),
            snoozed=dict(doc.get("snoozed", {})),
            open_savings_usd=float(doc.get("open_savings_usd", 0.0)),
            state_available=bool(doc.get("state_available", True)),
            part=(int(part["index"]), int(part["of"])),
            warnings=tuple(str(w)[:1000] for w in doc.get("warnings") or [])[:10],
            route=str(doc["route"])[:64] if doc.get("route") else None,
            hidden=tuple(Hidden.from_dict(h) for h in (doc.get("hidden") or [])[:LISTED_MAX]),
            remediation=doc.get("remediation") is not False,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"malformed sagewatch digest: {exc!r:.300}") from exc


# --- Slack ---------------------------------------------------------------------------------------


def _dry_run_button(d: Digest, a: Announcement) -> dict[str, Any] | None:
    """The Slack app's Dry run button for an announced finding with a remediation action (its value: the request
    the email's command sends, base64url), when the stack deploys remediation; None otherwise."""
    request = request_for(a.finding) if d.remediation and a.reason is not Reason.RESOLVED else None
    value = encode(request) if request else ""
    if not request or len(value) > SLACK_VALUE_MAX:
        return None
    return {
        "type": "button",
        "action_id": SLACK_DRY_RUN,
        "text": {"type": "plain_text", "text": "Dry run"},
        "value": value,
    }


def _slack_block(d: Digest, a: Announcement, buttons: bool = False) -> dict[str, Any]:
    f = a.finding
    icon = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":white_circle:"}.get(a.severity, "")
    if a.reason is Reason.RESOLVED:
        text = f":white_check_mark: *resolved* {f.kind}: {code(f.where, 400)}"
    else:
        text = (
            f"{icon} *{a.reason.value}* {f.kind} · *{f.severity}*: {code(f.where, 400)} "
            f"({chat(size(f), 80)})\n{chat(evidence_sentence(f), 800)} {f.cost_text(bold='*', sep=', ')}\n"
            f"{chat(f.recommendation.summary, 800)}\n_{chat(describe(f.owner, d.generated_at), 400)}_"
        )
        command = d.command(a)
        if command:
            text += f"\n```{chat(command.replace('`', ''), 1200)}```"
    block = section(text)
    button = _dry_run_button(d, a) if buttons else None
    if button:
        block["accessory"] = button  # beside the finding: no extra block against Slack's 50
    return block


def render_slack(d: Digest, *, buttons: bool = False) -> list[dict[str, Any]]:
    """Incoming-webhook payloads: as many messages as Slack's 50-block limit needs. `buttons`: the stack has the
    Slack app (SlackSigningSecretArn): findings with an action get a Dry run button."""
    items = [_slack_block(d, a, buttons) for a in d.active() + d.resolved()]
    summary = chat(f"{d.account or '?'} / {d.region}", 120) + (
        f" · open findings could save {money(d.open_savings_usd)}/month"
    )
    if not d.state_available:
        summary += " · state table unavailable: every finding listed"
    summary += "".join(f"\n:warning: {chat(w, 600)}" for w in d.warnings)
    hidden = summary_line(list(d.hidden))
    if hidden:
        summary += f"\n:see_no_evil: {chat(hidden, 300)} " + chat(
            ", ".join(h.endpoint for h in d.hidden[:10]) + ("…" if len(d.hidden) > 10 else ""), 600
        )
    return paged_payloads(subject(d), summary, items)


# --- Amazon Q Developer in chat applications (AWS Chatbot) ----------------------------------------


def render_chatbot(d: Digest) -> Chatbot:
    lines = []
    for a in d.active():
        f = a.finding
        lines.append(
            f"• *{a.reason.value}* {f.kind} ({f.severity}) {code(f.where, 300)} {f.effect()}: "
            f"{chat(f.recommendation.summary, 400)} "
            f"({chat(describe(f.owner, d.generated_at), 200)})"
        )
    lines += [f"• *resolved* {a.finding.kind} {code(a.finding.where, 300)}" for a in d.resolved()]
    lines = [f":warning: {chat(w, 600)}" for w in d.warnings] + lines
    hidden = summary_line(list(d.hidden))
    if hidden:
        lines.append(f":see_no_evil: {chat(hidden, 300)}")
    description = lines_fitting(lines, CHATBOT_DESCRIPTION_MAX, "…and {n} more in the email digest.")
    endpoints = sorted({a.finding.endpoint for a in d.announcements})
    return Chatbot(
        title=subject(d),
        description=description or "No findings to announce.",
        next_steps=[
            "Read the email digest for the exact command of each recommendation.",
            "Silence an endpoint with the tag sagewatch:snooze-until=YYYY-MM-DD.",
        ],
        keywords=["sagewatch", d.region, *sorted({a.finding.kind.value for a in d.announcements})],
        thread_id=f"sagewatch-{d.account}-{d.region}",
        event_type="SageMakerEndpointFindings",
        related=endpoints,
        # with remediation deployed, what the Dry run button needs (sagewatch.chat)
        context={"account": d.account or "", "region": d.region, **chatbot_context(d)},
        id=f"sagewatch-{d.generated_at:%Y%m%dT%H%M}-{d.part[0]}",
    )


# --- SNS -----------------------------------------------------------------------------------------


def render(d: Digest) -> Rendering:
    findings = [a.finding for a in d.announcements]
    return Rendering(
        subject=subject(d),
        text=render_email(d),
        document=render_json(d),
        chatbot=render_chatbot(d),
        attributes={
            "kind": [f.kind.value for f in findings],
            "severity": [f.severity.value for f in findings],
            "endpoint": [f.endpoint for f in findings],
            "reason": [a.reason.value for a in d.announcements],
        },
    )


def sns_messages(d: Digest, *, chatbot: bool = False, limit: int = SNS_MAX_BYTES) -> list[SnsMessage]:
    """The digest as one SNS message, or as few parts as its 256 KB limit allows."""
    return sns_parts(
        d.active() + d.resolved(),
        lambda part, label: sns_message(render(replace(d, announcements=part, part=label)), chatbot=chatbot),
        limit,
    )
