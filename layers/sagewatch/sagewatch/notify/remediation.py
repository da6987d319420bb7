"""An executed remediation's announcement in every form (pure). It goes to the same topic, Slack and Chatbot
as every other notice, in the Chatbot format when the stack uses Chatbot."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sagewatch.bounds import NAME_MAX, TEXT_MAX, bounded, clip, optional
from sagewatch.formats import money
from sagewatch.notify.core import Chatbot, Rendering, as_mapping, bounded_tree, payload
from sagewatch.notify.limits import chat
from sagewatch.notify.weekly import notice_blocks
from sagewatch.owners import Owner, describe, display_name

REMEDIATION_SCHEMA = "sagewatch.remediation/1"
# Detail levels: characters kept of each request value and of each step; the last keeps only what identifies
# the action (the audit record in the bucket holds everything).
LEVELS = ((TEXT_MAX, TEXT_MAX), (NAME_MAX, 300), (64, 120))


@dataclass(frozen=True)
class RemediationNotice:
    """The record of an executed remediation (what sagewatch.app.remediate announces and audits)."""

    record: Mapping[str, Any]

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> RemediationNotice:
        if doc.get("schema") != REMEDIATION_SCHEMA or not isinstance(doc.get("request"), Mapping):
            raise ValueError("not a sagewatch remediation notice")
        return cls(doc)

    @property
    def request(self) -> Mapping[str, Any]:
        return as_mapping(self.record.get("request"))

    @property
    def plan(self) -> Mapping[str, Any]:
        return as_mapping(self.record.get("plan"))


def title(n: RemediationNotice) -> str:
    verb = "stopped half way through" if n.record.get("status") == "partial" else "carried out"
    text = f"sagewatch {verb} {bounded(n.request.get('action'), 32)} on {bounded(n.request.get('endpoint'))}"
    if n.record.get("region"):  # forwarded to the organization: say whose
        text += f" in {bounded(n.record.get('account'), 12)}/{bounded(n.record.get('region'), 32)}"
    return text


def lines(n: RemediationNotice, level: int = 0) -> list[str]:
    _, step_max = LEVELS[level]
    change = n.plan.get("monthly_cost_change_usd")
    out = [f"- {clip(str(step), step_max)}" for step in (n.record.get("done") or [])[:50]]
    left = n.record.get("left") or []
    if left:
        out += ["", "LEFT TO DO (partial: it stopped half way):"]
        out += [f"- {clip(str(step), step_max)}" for step in left[:20]]
    out += ["", f"Monthly cost change: {money(change, cents=True)}"]
    out += [f"Roll back: {clip(str(n.plan.get('rollback')), step_max)}", f"Audit record: {n.record.get('audit')}"]
    if n.record.get("snapshot"):
        out.append(f"Snapshot: {n.record['snapshot']} (SHA-256 {bounded(n.record.get('snapshot_sha256'), 64)})")
    out.append(requested_by_line(n.record.get("requested_by")))
    owner = Owner.from_dict(n.record.get("owner"))
    if owner.known or owner.team:
        out.append(describe(owner, _executed_at(n)).replace("owner:", "Owner:", 1))
    warnings = n.record.get("warnings") or []
    out += [f"Warning: {clip(str(w), step_max)}" for w in warnings[:10]]
    out.append(f"Request id: {bounded(n.request.get('request_id'), 128)}")
    return out


def requested_by_line(who: object) -> str:
    """Who asked for the action: Lambda does not say who invoked a function, so this is what the caller's
    credentials (CLI --local) or its client context (the CLI through the function, the Slack app) claim. Each
    person is named once."""
    doc = who if isinstance(who, Mapping) else {}
    principal = optional(doc.get("principal"), 2048)
    request = optional(doc.get("lambda_request_id"), 64)
    lambda_request = f"; Lambda request {request}" if request else ""
    if doc.get("source") == "slack" and isinstance(doc.get("slack_applied_by") or doc.get("slack_asked_by"), Mapping):
        return _slack_line(doc) + lambda_request
    if not principal:
        return "Requested by: unknown (the invocation did not say; CloudTrail's Invoke data events do)"
    how = {
        "credentials": "its credentials",
        "client-context": "as the caller says",
        "cognito": "Cognito",
        "slack": "in Slack, through the sagewatch app",
    }
    source = how.get(str(doc.get("source")), "unverified")
    if doc.get("verified") is not True:
        source += ", a claim: not verified"
    return f"Requested by: {display_name(principal)} ({principal}, {source}){lambda_request}"


def _slack_line(doc: Mapping[str, Any]) -> str:
    """A Slack click: who applied (else who asked), once, and who asked for the dry run when that is someone else.
    The Slack app verified Slack's signature; to the remediation function it is the app's claim."""
    applied, asked = doc.get("slack_applied_by"), doc.get("slack_asked_by")
    person = applied if isinstance(applied, Mapping) else asked
    line = f"Requested by: {_slack_person(person)} in Slack, through the sagewatch app (a claim: not verified)"
    if isinstance(applied, Mapping) and isinstance(asked, Mapping) and asked.get("id") != applied.get("id"):
        line += f"; dry run asked by {_slack_person(asked)}"
    return line


def _slack_person(doc: object) -> str:
    person = doc if isinstance(doc, Mapping) else {}
    return f"{bounded(person.get('name') or '?', 80)} ({bounded(person.get('id') or '?', 32)})"


def _executed_at(n: RemediationNotice) -> datetime:
    try:
        when = datetime.fromisoformat(str(n.record.get("executed_at")))
    except ValueError:
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def document(n: RemediationNotice, level: int = 0) -> dict[str, Any]:
    value_max, _ = LEVELS[level]
    if level < len(LEVELS) - 1:
        return dict(bounded_tree(dict(n.record), value_max))
    keep = (
        "schema",
        "account",
        "status",
        "executed_at",
        "done",
        "left",
        "snapshot",
        "snapshot_sha256",
        "audit",
        "warnings",
        "requested_by",
        "owner",
    )
    doc = {k: bounded_tree(n.record.get(k), value_max) for k in keep}
    doc["request"] = {
        k: bounded_tree(n.request.get(k), value_max) for k in ("action", "endpoint", "variant", "request_id")
    }
    doc["plan"] = {"monthly_cost_change_usd": n.plan.get("monthly_cost_change_usd")}
    doc["truncated"] = "the audit record holds the whole request and plan"
    return doc


def fitting_record(n: RemediationNotice, limit: int) -> dict[str, Any]:
    """The record as one event carries it: whole when it fits `limit` bytes of JSON, else the first of its
    shorter documents that does (the last keeps only what identifies the action)."""
    whole = dict(n.record)
    if len(json.dumps(whole, default=str).encode()) <= limit:
        return whole
    for level in range(len(LEVELS)):
        doc = document(n, level)
        if len(json.dumps(doc, default=str).encode()) <= limit:
            return doc
    return document(n, len(LEVELS) - 1)


def render(n: RemediationNotice, level: int = 0) -> Rendering:
    heading, body = title(n), lines(n, level)
    return Rendering(
        subject=f"sagewatch: {bounded(n.request.get('action'), 32)} on {bounded(n.request.get('endpoint'), 60)}",
        text="\n".join([f"{heading} at {n.record.get('executed_at')}.", "", *body]),
        document=document(n, level),
        chatbot=Chatbot(
            title=heading,
            description=chat("\n".join(body), 3400),
            keywords=["sagewatch", "remediation", bounded(n.request.get("action"), 32)],
            thread_id=f"sagewatch-remediation-{bounded(n.request.get('endpoint'))}",
            event_type="sagewatch-remediation",
            related=[bounded(n.request.get("endpoint"))],
            context={"account": str(n.record.get("account") or "")},
        ),
        attributes={
            "kind": ["remediation"],
            "severity": ["high"],
            "endpoint": [bounded(n.request.get("endpoint"))],
            "reason": [bounded(n.request.get("action"), 32)],
        },
    )


def slack(n: RemediationNotice) -> list[dict[str, Any]]:
    return [payload(title(n), notice_blocks(title(n), lines(n, 1)))]
