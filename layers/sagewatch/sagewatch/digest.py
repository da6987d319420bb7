"""One scan's announcements as a digest: email text, JSON, Slack Block Kit and Chatbot (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sagewatch.commands import command_for
from sagewatch.lifecycle import Announcement, Reason

DIGEST_SCHEMA = "sagewatch.digest/1"
SEVERITIES = ("high", "medium", "low")
# Slack limits (Block Kit): header text 150, section text 3,000, 50 blocks per message.
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_BLOCKS_MAX = 50
SNS_MAX_BYTES = 256 * 1024
CHATBOT_DESCRIPTION_MAX = 3500


@dataclass(frozen=True)
class Digest:
    account: str | None
    region: str
    generated_at: datetime
    announcements: list[Announcement]
    unchanged: int = 0
    snoozed: dict[str, str] = field(default_factory=dict)  # endpoint -> silent until (ISO date)
    open_savings_usd: float = 0.0
    state_available: bool = True
    part: tuple[int, int] = (1, 1)

    def count(self, reason: Reason) -> int:
        return sum(1 for a in self.announcements if a.reason is reason)

    def active(self) -> list[Announcement]:
        order = {s: i for i, s in enumerate(SEVERITIES)}
        live = [a for a in self.announcements if a.reason is not Reason.RESOLVED]
        return sorted(
            live,
            key=lambda a: (
                order.get(a.severity, 9),
                -(a.finding.get("monthly_savings_usd") or 0),
                a.finding["endpoint"],
            ),
        )

    def resolved(self) -> list[Announcement]:
        return [a for a in self.announcements if a.reason is Reason.RESOLVED]

    def command(self, a: Announcement) -> str | None:
        return None if a.reason is Reason.RESOLVED else command_for(a.finding, self.region)


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.0f}"


def where(finding: Mapping[str, Any]) -> str:
    text = str(finding["endpoint"])
    if finding.get("variant"):
        text += f" / {finding['variant']}"
    if finding.get("inference_component"):
        text += f" / component {finding['inference_component']}"
    return text


def size(finding: Mapping[str, Any]) -> str:
    if finding.get("instance_type"):
        return f"{finding['instance_count']} x {finding['instance_type']}"
    return "serverless" if finding.get("instance_count") == 0 else f"{finding.get('instance_count')} instances"


def evidence_sentence(finding: Mapping[str, Any]) -> str:
    ev, kind = finding.get("evidence", {}), finding["kind"]
    if kind == "idle":
        hours = ev.get("idle_hours")
        if ev.get("metric") == "InvocationsProcesssed":
            return f"No requests processed and an empty queue in the last {hours} h."
        if "inference_components" in ev:
            comps = ev["inference_components"]
            if not comps:
                return "Hosts no inference components."
            return f"None of its inference components ({', '.join(comps)}) was invoked in the last {hours} h."
        return f"No invocations in the last {hours} h."
    if kind in ("oversized", "saturated"):
        peaks = ", ".join(f"{k} {v:.0f}%" for k, v in ev.get("peak_pct", {}).items())
        return f"Peak hourly utilization over {ev.get('hours_observed', '?')} h: {peaks}."
    if kind == "imbalanced":
        return (
            f"Mean {str(ev.get('resource', '')).upper()} over {ev.get('hours_observed', '?')} h: {ev.get('unit')} "
            f"{ev.get('busiest')} at {ev.get('busiest_pct')}%, its siblings' median {ev.get('siblings_median_pct')}%."
        )
    if kind == "errors":
        return (
            f"{ev.get('error_rate_pct')}% of {ev.get('invocations', 0):,} requests failed with server errors "
            f"(threshold {ev.get('threshold_pct')}%)."
        )
    return ""


def subject(d: Digest) -> str:
    parts = [
        f"{d.count(r)} {r.value}" for r in (Reason.NEW, Reason.CHANGED, Reason.REMINDER, Reason.RESOLVED) if d.count(r)
    ]
    text = f"sagewatch {d.account or '?'}/{d.region}: {', '.join(parts) or 'no changes'}"
    if d.part[1] > 1:
        text += f" (part {d.part[0]}/{d.part[1]})"
    return text[:100]  # SNS subject limit


def render_email(d: Digest) -> str:
    lines = [
        f"sagewatch digest for {d.account or 'unknown account'} / {d.region}, "
        f"{d.generated_at:%Y-%m-%d %H:%M} UTC" + (f" (part {d.part[0]}/{d.part[1]})" if d.part[1] > 1 else "")
    ]
    lines.append(
        subject(d).split(": ", 1)[1].split(" (part")[0].capitalize() + ". "
        f"Open findings could save {_money(d.open_savings_usd)}/month."
    )
    if not d.state_available:
        lines.append("The state table could not be read: this digest lists every current finding.")
    active = d.active()
    for severity in SEVERITIES:
        group = [a for a in active if a.severity == severity]
        if not group:
            continue
        title = f"{severity.upper()} ({len(group)})"
        lines += ["", title, "-" * len(title)]
        for a in group:
            f = a.finding
            lines.append(f"[{a.reason.value.upper()}] {f['kind']}: {where(f)} ({size(f)})")
            lines.append(f"  {evidence_sentence(f)}")
            lines.append(
                f"  Costs {_money(f.get('monthly_cost_usd'))}/month; saves "
                f"{_money(f.get('monthly_savings_usd'))}/month."
            )
            if a.previous:
                p = a.previous["recommendation"]
                lines.append(
                    f"  Was: {p['action']}"
                    + (f" -> {p['instance_count']} x {p['instance_type']}" if p.get("instance_type") else "")
                    + f", saving {_money(a.previous.get('monthly_savings_usd'))}/month."
                )
            lines.append(f"  Do: {f['recommendation']['summary']}")
            command = d.command(a)
            if command:
                lines.append(f"  Dry run (add --execute --confirm {f['endpoint']} to carry it out):")
                lines.append(f"    {command}")
            lines.append(f"  Finding {f['id']}")
    if d.resolved():
        lines += ["", f"RESOLVED ({len(d.resolved())})", "-" * len(f"RESOLVED ({len(d.resolved())})")]
        lines += [
            f"  {a.finding['kind']}: {where(a.finding)} is no longer {a.finding['kind']} (finding {a.finding['id']})"
            for a in d.resolved()
        ]
    if d.snoozed:
        lines += ["", "Snoozed: " + ", ".join(f"{e} until {u}" for e, u in sorted(d.snoozed.items()))]
    lines += ["", "Silence an endpoint: tag it sagewatch:snooze-until=YYYY-MM-DD, or sagewatch:ignore=true."]
    return "\n".join(lines)


def render_json(d: Digest) -> dict[str, Any]:
    return {
        "schema": DIGEST_SCHEMA,
        "account": d.account,
        "region": d.region,
        "generated_at": d.generated_at.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "part": {"index": d.part[0], "of": d.part[1]},
        "summary": {r.value: d.count(r) for r in Reason} | {"unchanged": d.unchanged, "snoozed": len(d.snoozed)},
        "state_available": d.state_available,
        "open_savings_usd": d.open_savings_usd,
        "snoozed": d.snoozed,
        "announcements": [
            {"reason": a.reason.value, "finding": a.finding, "previous": a.previous, "command": d.command(a)}
            for a in d.active() + d.resolved()
        ],
    }


def digest_from_json(doc: Mapping[str, Any]) -> Digest:
    """The Digest a render_json document describes (what subscribers of the topic receive)."""
    if doc.get("schema") != DIGEST_SCHEMA:
        raise ValueError(f"not a sagewatch digest: schema is {doc.get('schema')!r}, expected {DIGEST_SCHEMA!r}")
    try:
        announcements = [
            Announcement(Reason(a["reason"]), dict(a["finding"]), a.get("previous")) for a in doc["announcements"]
        ]
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
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed sagewatch digest: {exc!r}") from exc


# --- Slack ---------------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_block(d: Digest, a: Announcement) -> dict[str, Any]:
    f = a.finding
    icon = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":white_circle:"}.get(a.severity, "")
    if a.reason is Reason.RESOLVED:
        text = f":white_check_mark: *resolved* {f['kind']}: `{where(f)}`"
    else:
        text = (
            f"{icon} *{a.reason.value}* {f['kind']} · *{f['severity']}*: `{where(f)}` ({size(f)})\n"
            f"{evidence_sentence(f)} Costs {_money(f.get('monthly_cost_usd'))}/month, saves "
            f"*{_money(f.get('monthly_savings_usd'))}/month*.\n{f['recommendation']['summary']}"
        )
        command = d.command(a)
        if command:
            text += f"\n```{command}```"
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SLACK_SECTION_MAX)}}


def render_slack(d: Digest) -> list[dict[str, Any]]:
    """Incoming-webhook payloads: as many messages as Slack's 50-block limit needs."""
    items = [_slack_block(d, a) for a in d.active() + d.resolved()]
    per_message = SLACK_BLOCKS_MAX - 2  # header and summary context
    chunks = [items[i : i + per_message] for i in range(0, len(items), per_message)] or [[]]
    title = subject(d)
    summary = f"{d.account or '?'} / {d.region} · open findings could save {_money(d.open_savings_usd)}/month" + (
        "" if d.state_available else " · state table unavailable: every finding listed"
    )
    payloads = []
    for n, chunk in enumerate(chunks, 1):
        header = title if len(chunks) == 1 else f"{title} ({n}/{len(chunks)})"
        payloads.append(
            {
                "text": _clip(header, SLACK_HEADER_MAX),
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": _clip(header, SLACK_HEADER_MAX)}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": summary}]},
                    *chunk,
                ],
            }
        )
    return payloads


# --- Amazon Q Developer in chat applications (AWS Chatbot) ----------------------------------------


def render_chatbot(d: Digest) -> dict[str, Any]:
    lines = []
    for a in d.active():
        f = a.finding
        lines.append(
            f"• *{a.reason.value}* {f['kind']} ({f['severity']}) `{where(f)}` saves "
            f"{_money(f.get('monthly_savings_usd'))}/month: {f['recommendation']['summary']}"
        )
    lines += [f"• *resolved* {a.finding['kind']} `{where(a.finding)}`" for a in d.resolved()]
    description = ""
    for i, line in enumerate(lines):
        more = f"\n…and {len(lines) - i} more in the email digest."
        if len(description) + len(line) + len(more) + 1 > CHATBOT_DESCRIPTION_MAX:
            description += more
            break
        description += ("\n" if description else "") + line
    endpoints = sorted({a.finding["endpoint"] for a in d.announcements})
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"sagewatch-{d.generated_at:%Y%m%dT%H%M}-{d.part[0]}",
        "content": {
            "textType": "client-markdown",
            "title": subject(d),
            "description": description or "No findings to announce.",
            "nextSteps": [
                "Read the email digest for the exact command of each recommendation.",
                "Silence an endpoint with the tag sagewatch:snooze-until=YYYY-MM-DD.",
            ],
            "keywords": ["sagewatch", d.region, *sorted({a.finding["kind"] for a in d.announcements})],
        },
        "metadata": {
            "threadId": f"sagewatch-{d.account}-{d.region}",
            "summary": subject(d),
            "eventType": "SageMakerEndpointFindings",
            "relatedResources": endpoints[:20],
            "additionalContext": {"account": d.account or "", "region": d.region},
        },
    }


# --- SNS -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnsMessage:
    subject: str
    message: str  # MessageStructure=json document
    attributes: dict[str, dict[str, str]]


def _sns_message(d: Digest, chatbot: bool) -> SnsMessage:
    doc = render_json(d)
    machine = json.dumps(doc, default=str)
    body = {
        "default": render_email(d),
        "email": render_email(d),
        "email-json": machine,
        "sqs": machine,
        "lambda": machine,
        # Chatbot subscribes over HTTPS and reads its custom-notification format from this key.
        "https": json.dumps(render_chatbot(d)) if chatbot else machine,
    }
    findings = [a.finding for a in d.announcements]
    attributes = {
        "kind": string_array({f["kind"] for f in findings}),
        "severity": string_array({f["severity"] for f in findings}),
        "endpoint": string_array({f["endpoint"] for f in findings}),
        "reason": string_array({a.reason.value for a in d.announcements}),
    }
    return SnsMessage(subject(d), json.dumps(body), attributes)


def string_array(values: Iterable[str]) -> dict[str, str]:
    """An SNS message attribute that subscription filter policies can match any of the values in."""
    return {"DataType": "String.Array", "StringValue": json.dumps(sorted(values))}


def _bytes(m: SnsMessage) -> int:
    return len(m.message.encode()) + sum(len(k) + len(v["StringValue"].encode()) + 12 for k, v in m.attributes.items())


def sns_messages(d: Digest, *, chatbot: bool = False, limit: int = SNS_MAX_BYTES) -> list[SnsMessage]:
    """The digest as one SNS message, or as few parts as its 256 KB limit allows."""
    ordered = d.active() + d.resolved()
    parts: list[list[Announcement]] = []
    current: list[Announcement] = []
    for a in ordered:
        trial = [*current, a]
        if current and _bytes(_sns_message(replace(d, announcements=trial), chatbot)) > limit:
            parts.append(current)
            trial = [a]
        current = trial
    parts.append(current)
    return [_sns_message(replace(d, announcements=p, part=(i, len(parts))), chatbot) for i, p in enumerate(parts, 1)]


def render_notice_slack(title: str, lines: list[str]) -> dict[str, Any]:
    """A short notice (weekly cost digest, executed remediation) as one Block Kit message."""
    text = "\n".join(lines)
    size = SLACK_SECTION_MAX - 6  # inside a code block
    chunks = [text[i : i + size] for i in range(0, len(text), size)] or [" "]
    header = {"type": "header", "text": {"type": "plain_text", "text": title[:SLACK_HEADER_MAX]}}
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": f"```{c}```"}} for c in chunks]
    return {"text": title, "blocks": [header, *sections[: SLACK_BLOCKS_MAX - 1]]}
