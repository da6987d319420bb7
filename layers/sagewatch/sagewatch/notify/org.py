"""The organization digest in every form: email text, JSON, Slack Block Kit and Chatbot; split into as few SNS
messages as the 256 KiB limit allows (pure). Every account, region and finding string came from a member:
it is bounded and escaped here like any other data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sagewatch.bounds import bounded, optional
from sagewatch.commands import command_for
from sagewatch.formats import iso_z, money
from sagewatch.hidden import Hidden
from sagewatch.lifecycle import Announcement, Reason
from sagewatch.notify.core import (
    Chatbot,
    Rendering,
    SnsMessage,
    as_mapping,
    lines_fitting,
    paged_payloads,
    section,
    sns_message,
    sns_parts,
)
from sagewatch.notify.digest import announcement_from, evidence_sentence, size
from sagewatch.notify.limits import CHATBOT_DESCRIPTION_MAX, SNS_MAX_BYTES, chat, code
from sagewatch.org import (
    ORG_DIGEST_SCHEMA,
    MemberLine,
    OrgAnnouncement,
    OrgDigest,
    OrgFinding,
    SilenceNews,
    org_digest,
)
from sagewatch.owners import describe

_REASONS = (Reason.NEW, Reason.CHANGED, Reason.REMINDER, Reason.RESOLVED)


def _age(d: OrgDigest, when: datetime) -> str:
    minutes = int((d.generated_at - when).total_seconds() // 60)
    if minutes < 120:
        return f"{max(minutes, 0)} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} days ago"


def subject(d: OrgDigest) -> str:
    parts = [f"{d.count(r)} {r.value}" for r in _REASONS if d.count(r)]
    silent = len(d.silent)
    if silent:
        parts.insert(0, f"{silent} silent member{'s' if silent > 1 else ''}")
    t = d.totals
    text = (
        f"sagewatch organization ({t['accounts']} accounts, {t['regions']} regions): {', '.join(parts) or 'no changes'}"
    )
    if d.part[1] > 1:
        text += f" (part {d.part[0]}/{d.part[1]})"
    return text


def _member_heading(d: OrgDigest, m: MemberLine) -> str:
    state = f"SILENT, last report {_age(d, m.scanned_at)}" if m.silent else f"scanned {_age(d, m.scanned_at)}"
    if m.silence == "back":
        state += ", reporting again"
    return (
        f"{bounded(m.label, 300)} / {m.region}: {state}; {m.endpoints} endpoints, {m.findings} open findings, "
        f"{money(m.monthly_cost_usd)}/month, could save {money(m.monthly_savings_usd)}/month"
        + (f"; {m.errors} endpoints not judged" if m.errors else "")
        + (
            f"; not watched (ignored or snoozed): {m.hidden_count} endpoints, {money(m.hidden_monthly_cost_usd)}/month"
            if m.hidden_count
            else ""
        )
    )


def _email_announcement(member: MemberLine, a: Announcement, now: datetime) -> list[str]:
    f = a.finding
    if a.reason is Reason.RESOLVED:
        return [f"  [RESOLVED] {f.kind}: {bounded(f.where, 600)} is no longer {f.kind} (finding {bounded(f.id)})"]
    lines = [
        f"  [{a.reason.value.upper()}] {f.kind} ({f.severity}): {bounded(f.where, 600)} ({bounded(size(f), 120)})",
        f"    {bounded(evidence_sentence(f), 1000)}",
        *([f"    {f.cost_text()}"] if f.cost_text() else []),
        f"    {bounded(describe(f.owner, now), 600)}",
        f"    Do: {bounded(f.recommendation.summary, 1000)}",
    ]
    command = command_for(f, member.region, local=not member.remediation_function)
    if command:
        lines.append(f"    In that account: {bounded(command, 1500)}")
    return lines


def render_email(d: OrgDigest) -> str:
    t = d.totals
    lines = [
        f"sagewatch organization digest, {d.generated_at:%Y-%m-%d %H:%M} UTC"
        + (f" (part {d.part[0]}/{d.part[1]})" if d.part[1] > 1 else ""),
        f"{t['members']} member stacks in {t['accounts']} accounts and {t['regions']} regions: {t['endpoints']} "
        f"endpoints costing {money(t['fleet_monthly_cost_usd'])}/month, {t['open_findings']} open findings that "
        f"could save {money(t['monthly_savings_usd'])}/month."
        + (
            f" Not watched (ignored or snoozed): {t['hidden_endpoints']} endpoints costing "
            f"{money(t['hidden_monthly_cost_usd'])}/month."
            if t.get("hidden_endpoints")
            else ""
        ),
    ]
    silent = d.silent
    if silent:
        title = (
            f"SILENT MEMBERS ({len(silent)}): not reported for two scan intervals; a broken member is not a clean one"
        )
        lines += ["", title, "-" * min(len(title), 100)]
        lines += [
            f"  {bounded(m.label, 300)} / {m.region}: last report {m.scanned_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
            f"({_age(d, m.scanned_at)})"
            for m in silent
        ]
    for m, news in d.groups():
        lines += ["", _member_heading(d, m)]
        lines += [f"  Note: {bounded(w, 300)}" for w in m.warnings]
        lines += [f"  Not watched: {bounded(h.line(), 400)}" for h in m.hidden[:10]]
        for a in news:
            lines += _email_announcement(m, a, d.generated_at)
        if not news and not m.silent:
            lines.append("  nothing new")
    if d.unlisted:
        lines += ["", f"{d.unlisted} other members reported nothing new."]
    lines += _held_and_skipped(d)
    lines += [
        "",
        "Commands run in the member account (its credentials, its region). "
        "Silence an endpoint there: tag it sagewatch:snooze-until=YYYY-MM-DD.",
    ]
    return "\n".join(lines)


def _held_and_skipped(d: OrgDigest) -> list[str]:
    lines = []
    if d.held:
        lines += ["", "ALERTS HELD BACK (over the per-member hourly limit; see the member's own topic or logs)"]
        lines += [f"  {h.account} / {h.region}: {h.count} alerts in the hour from {h.hour}:00 UTC" for h in d.held[:50]]
    if d.skipped:
        lines += ["", f"LEFT OUT ({len(d.skipped)} records that could not be read or rendered; dropped):"]
        lines += [f"  {bounded(s, 400)}" for s in d.skipped[:20]]
    return lines


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def unrenderable(f: OrgFinding, now: datetime) -> str | None:
    """Why one stored record cannot be rendered in every form, or None: the digest renders each record on its
    own first, so one bad record is left out and named instead of failing the whole digest."""
    probe = org_digest([], [f], SilenceNews(), now=now, names={})
    try:
        render_slack(probe)
        for message in sns_messages(probe, chatbot=True):
            json.loads(message.message, parse_constant=_not_json)
    except Exception as exc:  # anything: the record is data from another account
        return bounded(f"{type(exc).__name__}: {exc}", 300)
    return None


def _member_doc(m: MemberLine) -> dict[str, Any]:
    return {
        "account": m.account,
        "account_name": m.name,
        "region": m.region,
        "scanned_at": iso_z(m.scanned_at, seconds=True),
        "silent": m.silent,
        "silence": m.silence,
        "endpoints": m.endpoints,
        "findings": m.findings,
        "fleet_monthly_cost_usd": m.monthly_cost_usd,
        "monthly_savings_usd": m.monthly_savings_usd,
        "errors": m.errors,
        "warnings": list(m.warnings),
        "hidden": [h.to_dict() for h in m.hidden],
        "hidden_count": m.hidden_count,
        "hidden_monthly_cost_usd": m.hidden_monthly_cost_usd,
    }


def render_json(d: OrgDigest) -> dict[str, Any]:
    remediation = {(m.account, m.region): m.remediation_function for m in d.members}
    return {
        "schema": ORG_DIGEST_SCHEMA,
        "organization": d.organization,
        "generated_at": iso_z(d.generated_at, seconds=True),
        "part": {"index": d.part[0], "of": d.part[1]},
        "totals": dict(d.totals),
        "unlisted_members": d.unlisted,
        "skipped_records": list(d.skipped[:50]),
        "held_alerts": [
            {"account": h.account, "region": h.region, "hour": h.hour, "count": h.count} for h in d.held[:50]
        ],
        "summary": {r.value: d.count(r) for r in Reason},
        "members": [_member_doc(m) for m in d.members],
        "announcements": [
            {
                "account": a.account,
                "region": a.region,
                "reason": a.announcement.reason.value,
                "finding": a.announcement.finding.to_dict(),
                "previous": a.announcement.previous.to_dict() if a.announcement.previous else None,
                "command": None
                if a.announcement.reason is Reason.RESOLVED
                else command_for(a.announcement.finding, a.region, local=not remediation.get((a.account, a.region))),
            }
            for a in d.announcements
        ],
    }


def _member_from(doc: Mapping[str, Any]) -> MemberLine:
    return MemberLine(
        account=bounded(doc["account"], 12),
        region=bounded(doc["region"], 32),
        name=optional(doc.get("account_name")),
        scanned_at=datetime.fromisoformat(str(doc["scanned_at"]).replace("Z", "+00:00")),
        silent=doc.get("silent") is True,
        endpoints=int(doc.get("endpoints", 0)),
        findings=int(doc.get("findings", 0)),
        monthly_cost_usd=float(doc.get("fleet_monthly_cost_usd", 0.0)),
        monthly_savings_usd=float(doc.get("monthly_savings_usd", 0.0)),
        errors=int(doc.get("errors", 0)),
        silence=optional(doc.get("silence"), 16),
        warnings=tuple(bounded(w, 300) for w in (doc.get("warnings") or [])[:3]),
        hidden=tuple(Hidden.from_dict(h) for h in (doc.get("hidden") or [])[:50]),
        hidden_count=int(doc.get("hidden_count") or 0),
        hidden_monthly_cost_usd=float(doc.get("hidden_monthly_cost_usd") or 0.0),
    )


def org_digest_from_json(doc: Mapping[str, Any]) -> OrgDigest:
    """The OrgDigest a render_json document describes (what the Slack notifier reads back)."""
    if doc.get("schema") != ORG_DIGEST_SCHEMA:
        raise ValueError(f"not a sagewatch organization digest: schema is {doc.get('schema')!r:.80}")
    try:
        announcements = [
            OrgAnnouncement(bounded(a["account"], 12), bounded(a["region"], 32), announcement_from(a))
            for a in doc["announcements"]
        ]
        part = as_mapping(doc.get("part")) or {"index": 1, "of": 1}
        return OrgDigest(
            generated_at=datetime.fromisoformat(str(doc["generated_at"]).replace("Z", "+00:00")),
            members=[_member_from(m) for m in doc["members"]],
            announcements=announcements,
            totals={bounded(k, 32): v for k, v in as_mapping(doc.get("totals")).items() if isinstance(v, int | float)},
            part=(int(part["index"]), int(part["of"])),
            organization=optional(doc.get("organization"), 64),
            unlisted=int(doc.get("unlisted_members") or 0),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"malformed sagewatch organization digest: {exc!r:.300}") from exc


# --- Slack ---------------------------------------------------------------------------------------


def _slack_member(d: OrgDigest, m: MemberLine, news: list[Announcement]) -> dict[str, Any]:
    icon = ":rotating_light:" if m.silent else (":large_orange_circle:" if news else ":white_check_mark:")
    lines = [
        f"{icon} *{chat(m.label, 200)}* / {code(m.region, 32)}: {chat(_member_heading(d, m).split(': ', 1)[1], 400)}"
    ]
    for a in news:
        f = a.finding
        if a.reason is Reason.RESOLVED:
            lines.append(f"• *resolved* {f.kind}: {code(f.where, 300)}")
        else:
            lines.append(
                f"• *{a.reason.value}* {f.kind} · *{f.severity}*: {code(f.where, 300)} ({chat(size(f), 80)}), "
                f"{f.effect(bold='*')}: {chat(f.recommendation.summary, 300)} "
                f"_{chat(describe(f.owner, d.generated_at), 200)}_"
            )
    return section(lines_fitting(lines, 2900, "…and {n} more in the email digest."))


def render_slack(d: OrgDigest) -> list[dict[str, Any]]:
    items = [_slack_member(d, m, news) for m, news in d.groups()]
    t = d.totals
    summary = (
        f"{t['members']} members · {t['endpoints']} endpoints · {money(t['fleet_monthly_cost_usd'])}/month · "
        f"{t['open_findings']} open findings could save {money(t['monthly_savings_usd'])}/month"
    )
    if d.silent:
        summary += "\n:rotating_light: silent: " + ", ".join(
            f"{chat(m.label, 80)}/{chat(m.region, 32)}" for m in d.silent[:20]
        )
    if d.held:
        summary += f"\n{sum(h.count for h in d.held)} alerts held back over the per-member hourly limit"
    if d.skipped:
        summary += f"\n{len(d.skipped)} records left out (unreadable; named in the email digest)"
    return paged_payloads(subject(d), summary, items)


# --- Chatbot ---------------------------------------------------------------------------------------


def render_chatbot(d: OrgDigest) -> Chatbot:
    lines = [
        f":rotating_light: *silent* {chat(m.label, 120)} / {code(m.region, 32)} "
        f"since {iso_z(m.scanned_at, seconds=True)}"
        for m in d.silent
    ]
    for a in d.announcements:
        f = a.announcement.finding
        where = f"{chat(a.account, 12)}/{chat(a.region, 32)} {code(f.where, 200)}"
        if a.announcement.reason is Reason.RESOLVED:
            lines.append(f"• *resolved* {f.kind} {where}")
        else:
            lines.append(f"• *{a.announcement.reason.value}* {f.kind} ({f.severity}) {where} {f.effect()}")
    t = d.totals
    return Chatbot(
        title=subject(d),
        description=lines_fitting(lines, CHATBOT_DESCRIPTION_MAX, "…and {n} more in the email digest.")
        or f"No changes; {t['members']} members reporting.",
        next_steps=[
            "Read the email digest for each finding's command (run it in the member account).",
            "A silent member: check its ScanFunction's errors and its forwarding rule.",
        ],
        keywords=["sagewatch", "organization"],
        thread_id="sagewatch-organization",
        event_type="SageMakerOrganizationDigest",
        related=sorted({a.account for a in d.announcements})[:20],
        context={"accounts": str(t["accounts"]), "regions": str(t["regions"])},
        id=f"sagewatch-org-{d.generated_at:%Y%m%dT%H%M}-{d.part[0]}",
    )


# --- SNS -----------------------------------------------------------------------------------------


def render(d: OrgDigest) -> Rendering:
    findings = [a.announcement.finding for a in d.announcements]
    return Rendering(
        subject=subject(d),
        text=render_email(d),
        document=render_json(d),
        chatbot=render_chatbot(d),
        attributes={
            "kind": [f.kind.value for f in findings] + (["silent-member"] if d.silent else []),
            "severity": [f.severity.value for f in findings],
            "account": sorted({a.account for a in d.announcements} | {m.account for m in d.silent}),
            "reason": [a.announcement.reason.value for a in d.announcements],
        },
    )


LIST_ALL_MEMBERS_UP_TO = 60  # beyond, a part lists the members with news in it and the silent ones


def _part(d: OrgDigest, announcements: list[OrgAnnouncement], index: tuple[int, int]) -> OrgDigest:
    members = d.members
    if len(members) > LIST_ALL_MEMBERS_UP_TO:
        news = {(a.account, a.region) for a in announcements}
        members = [m for m in d.members if m.silent or (m.account, m.region) in news]
    return replace(d, announcements=announcements, members=members, part=index, unlisted=len(d.members) - len(members))


def sns_messages(d: OrgDigest, *, chatbot: bool = False, limit: int = SNS_MAX_BYTES) -> list[SnsMessage]:
    """One SNS message, or as few parts as the limit allows. Every part carries the organization's totals and
    every silent member (they must never be in part 2 only)."""
    return sns_parts(
        d.announcements, lambda part, label: sns_message(render(_part(d, part, label)), chatbot=chatbot), limit
    )
