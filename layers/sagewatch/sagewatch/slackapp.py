"""A Slack app's buttons (pure): what arrives from Slack, whether it is Slack, who may click, what is answered.

Slack signs every interaction request: `X-Slack-Signature` is `v0=` and the hex HMAC-SHA256, keyed with the app's
signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw body}`; a timestamp more than five minutes away is a
replay. The body is `application/x-www-form-urlencoded` with one field, `payload`, a JSON `block_actions` object.
Everything read from it is bounded; nothing in it is trusted but what the signature vouches for, and even then a
button's value is only a request to plan (the Dry run button) or an opaque token (Apply) that sagewatch keeps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagewatch.bounds import bounded
from sagewatch.chat import SLACK_DRY_RUN, SLACK_VALUE_MAX
from sagewatch.formats import iso_z, money
from sagewatch.notify.limits import chat
from sagewatch.settings import SLACK_CHANNEL_ID, SLACK_USER_ID

MAX_SKEW_SECONDS = 300  # Slack's advice: a request more than five minutes away is refused
BODY_MAX = 64 * 1024  # an interaction payload is a few KB; more is not Slack
DRY_RUN = SLACK_DRY_RUN
APPLY = "sagewatch_apply"
VALUE_MAX = SLACK_VALUE_MAX
USER_ID = re.compile(f"^{SLACK_USER_ID}$")
CHANNEL_ID = re.compile(f"^{SLACK_CHANNEL_ID}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class SlackRequestError(ValueError):
    """A request that is not a Slack interaction sagewatch answers: `status` is the HTTP answer (nothing done)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The body exactly as Slack sent it (a function URL may hand it over base64-encoded): what is signed."""
    body = event.get("body")
    if not isinstance(body, str):
        raise SlackRequestError(400, "no body")
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body.encode(), validate=True)
        except (binascii.Error, ValueError):
            raise SlackRequestError(400, "the body is not base64") from None
    return body.encode()


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """A header's value, whatever its case (function URLs lower-case them; other callers may not)."""
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None


def signing_secret(value: object) -> str:
    """The app's signing secret from its Secrets Manager value: JSON {"signing_secret": "..."}."""
    try:
        doc = json.loads(value) if isinstance(value, str | bytes) else value
    except ValueError:
        doc = None
    secret = doc.get("signing_secret") if isinstance(doc, dict) else None
    if not isinstance(secret, str) or len(secret) < 16:
        raise ValueError('the signing secret must be JSON {"signing_secret": "..."} (the app\'s Signing Secret)')
    return secret


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, headers: Mapping[str, Any], body: bytes, now: float) -> None:
    """Raises SlackRequestError(401) unless Slack signed this body within five minutes of `now`."""
    if len(body) > BODY_MAX:
        raise SlackRequestError(413, "the body is larger than any Slack interaction")
    timestamp = header(headers, "x-slack-request-timestamp") or ""
    given = header(headers, "x-slack-signature") or ""
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses (a 500 instead of a 401)
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or not given:
        raise SlackRequestError(401, "not signed by Slack")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SlackRequestError(401, "the request timestamp is more than five minutes away (a replay?)")
    if not hmac.compare_digest(signature(secret, timestamp, body).encode(), given.encode()):
        raise SlackRequestError(401, "the signature does not match")


@dataclass(frozen=True)
class Person:
    id: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})"


@dataclass(frozen=True)
class Click:
    """One button click, as far as sagewatch reads it."""

    user: Person
    channel: str | None
    response_url: str
    action: str  # DRY_RUN or APPLY
    value: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user.to_dict(),
            "channel": self.channel,
            "response_url": self.response_url,
            "action": self.action,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Click:
        user = doc["user"]
        return cls(
            Person(str(user["id"]), str(user["name"])),
            doc.get("channel"),
            str(doc["response_url"]),
            str(doc["action"]),
            str(doc["value"]),
        )


def signed_job(headers: Mapping[str, Any], body: bytes) -> dict[str, Any]:
    """The work queued for this function's own asynchronous invocation: the request as Slack signed it (body,
    timestamp, signature), so that the work verifies Slack's signature again (no unsigned path to an Apply)."""
    return {
        "body": base64.b64encode(body).decode(),
        "timestamp": header(headers, "x-slack-request-timestamp") or "",
        "signature": header(headers, "x-slack-signature") or "",
    }


def verified_click(secret: str, job: object, now: float) -> Click:
    """The click of a queued job, after Slack's signature and five-minute window are checked again; raises
    SlackRequestError for a job that is not exactly what Slack signed."""
    if not isinstance(job, Mapping) or not all(isinstance(job.get(k), str) for k in ("body", "timestamp", "signature")):
        raise SlackRequestError(401, "the job does not carry a signed Slack request")
    try:
        body = base64.b64decode(str(job["body"]).encode(), validate=True)
    except (binascii.Error, ValueError):
        raise SlackRequestError(401, "the job's body is not base64") from None
    headers = {"x-slack-request-timestamp": job["timestamp"], "x-slack-signature": job["signature"]}
    verify(secret, headers, body, now)
    return parse(body)


def parse(body: bytes) -> Click:
    """The click in a signed body; SlackRequestError(400) for anything sagewatch does not answer."""
    try:
        form = urllib.parse.parse_qs(body.decode(), strict_parsing=True, max_num_fields=10)
        [text] = form["payload"]
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError, KeyError):
        raise SlackRequestError(400, "not a Slack interaction (a form with one payload field)") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise SlackRequestError(400, "not a block_actions interaction")
    user, channel, actions = payload.get("user"), payload.get("channel"), payload.get("actions")
    if not isinstance(user, dict) or not isinstance(actions, list) or len(actions) != 1:
        raise SlackRequestError(400, "an interaction needs its user and one action")
    user_id = user.get("id")
    if not isinstance(user_id, str) or not USER_ID.match(user_id):
        raise SlackRequestError(400, "the user id is not a Slack user id")
    name = user.get("username") or user.get("name") or user_id
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    if channel_id is not None and (not isinstance(channel_id, str) or not CHANNEL_ID.match(channel_id)):
        raise SlackRequestError(400, "the channel id is not a Slack channel id")
    [action] = actions
    if not isinstance(action, dict) or action.get("action_id") not in (DRY_RUN, APPLY):
        raise SlackRequestError(400, "not a sagewatch button")
    value, url = action.get("value"), payload.get("response_url")
    if not isinstance(value, str) or not value or len(value) > VALUE_MAX:
        raise SlackRequestError(400, "the button has no value sagewatch wrote")
    if not isinstance(url, str) or len(url) > 1000:
        raise SlackRequestError(400, "no response_url to answer on")
    return Click(Person(user_id, bounded(str(name), 80)), channel_id, url, str(action["action_id"]), value)


def refusal(click: Click, approvers: frozenset[str], channels: frozenset[str]) -> str | None:
    """Why this click is not acted on (said to the clicker alone), or None."""
    if click.user.id not in approvers:
        return f"{click.user.name}, you are not one of sagewatch's approvers (SlackApprovers): nothing was done."
    if channels and click.channel not in channels:
        return "sagewatch's buttons act only in the channels SlackActionChannelIds names: nothing was done."
    return None


# What a plan says will change, in words: what a refused Apply compares to say why the plan changed.
PLAN_SUBSTANCE = ("action", "endpoint", "variant", "before", "after", "monthly_cost_after_usd", "accelerator_change")


def plan_digest(result: Mapping[str, Any]) -> str:
    """What Apply must find unchanged: the plan's own digest of its calls (every call, every parameter: config
    names come from their content, so planning again gives the same ones), with what it changes and at what cost
    (not the latency beside it)."""
    plan = result.get("plan") if isinstance(result.get("plan"), Mapping) else {}
    assert isinstance(plan, Mapping)
    substance = {key: plan.get(key) for key in (*PLAN_SUBSTANCE, "digest")}
    canonical = json.dumps(substance, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def plan_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """What the dry run showed, kept with its Apply token: what a refused Apply says changed."""
    plan = result.get("plan") if isinstance(result.get("plan"), Mapping) else {}
    assert isinstance(plan, Mapping)
    steps = plan.get("steps") if isinstance(plan.get("steps"), list) else []
    assert isinstance(steps, list)
    return {
        **{key: plan.get(key) for key in PLAN_SUBSTANCE},
        "steps": [bounded(str(s), 300) for s in steps[:30]],
        "digest": plan.get("digest"),
    }


def plan_changes(shown: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """How the plan made now differs from the one the dry run showed, in words (at most a few lines)."""
    plan = now.get("plan") if isinstance(now.get("plan"), Mapping) else {}
    assert isinstance(plan, Mapping)
    if now.get("status") != "planned":
        return [f"it is no longer planned: {bounded(str(now.get('error') or now.get('status')), 300)}"]
    out = []
    for key in ("before", "after"):
        if shown.get(key) != plan.get(key):
            out.append(f"{key}: {_short(shown.get(key))} is now {_short(plan.get(key))}")
    if shown.get("monthly_cost_after_usd") != plan.get("monthly_cost_after_usd"):
        was_cost, now_cost = shown.get("monthly_cost_after_usd"), plan.get("monthly_cost_after_usd")
        out.append(f"cost after: {money(was_cost)} is now {money(now_cost)}")
    was = [str(s) for s in shown.get("steps") or []]
    steps = [str(s) for s in plan.get("steps") or []] if isinstance(plan.get("steps"), list) else []
    out += [f"new step: {bounded(s, 200)}" for s in steps if s not in was][:3]
    out += [f"step gone: {bounded(s, 200)}" for s in was if s not in steps][:3]
    return out or ["its calls differ (digest)"]


def _short(value: object) -> str:
    return bounded(json.dumps(value, default=str, sort_keys=True), 200)


def token_key(token: str) -> str:
    """Where a token is kept: its hash (the table never holds a usable token)."""
    return "slack-token#" + hashlib.sha256(token.encode()).hexdigest()


def apply_request_id(token: str) -> str:
    """The remediation request id of an Apply: one per token, so that a retried apply acts once."""
    return "slack-" + hashlib.sha256(("apply:" + token).encode()).hexdigest()[:40]


# --- what is posted back (response_url) --------------------------------------------------------------------


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": chat(text, 2900)}


def _plan_lines(result: Mapping[str, Any]) -> list[str]:
    """The plan as a person reads it: what, where, its steps, the cost before and after, the p99 now."""
    plan = result.get("plan")
    if not isinstance(plan, Mapping):
        return []
    where = str(plan.get("endpoint")) + (f" / {plan.get('variant')}" if plan.get("variant") else "")
    lines = [f"`{chat(str(plan.get('action')), 40)}` on `{chat(where.replace('`', ''), 200)}`"]
    steps = plan.get("steps") if isinstance(plan.get("steps"), list) else []
    assert isinstance(steps, list)
    lines += [f"• {chat(str(s), 300)}" for s in steps[:8]]
    if len(steps) > 8:
        lines.append(f"• …and {len(steps) - 8} more steps")
    before, after = plan.get("monthly_cost_before_usd"), plan.get("monthly_cost_after_usd")
    if before is not None or after is not None:
        lines.append(f"Cost: {money(before)}/month -> {money(after)}/month")
    latency = result.get("latency")
    if isinstance(latency, Mapping):
        p99 = [f"{chat(str(v), 63)} {d['p99_ms']:.0f} ms" for v, d in latency.items()
               if isinstance(d, Mapping) and isinstance(d.get("p99_ms"), int | float)]  # fmt: skip
        if p99:
            lines.append("p99 now: " + ", ".join(p99))
    return lines


def plan_message(
    result: Mapping[str, Any], token: str, asked_by: Person, expires: datetime, *, four_eyes: bool
) -> dict[str, Any]:
    """The dry run's plan, with an Apply button bound to it (a new message; the digest stays)."""
    who = "another approver" if four_eyes else "an approver"
    lines = [
        f"*Dry run* asked by {chat(asked_by.label, 120)}:",
        *_plan_lines(result),
        f"_Apply carries out exactly this plan once, if {who} clicks it before {iso_z(expires, seconds=True)};"
        " every check is made again first._",
    ]
    text = "\n".join(lines)
    button = {
        "type": "button",
        "action_id": APPLY,
        "text": {"type": "plain_text", "text": "Apply"},
        "style": "danger",
        "value": token,
        "confirm": {
            "title": {"type": "plain_text", "text": "Carry it out?"},
            "text": {"type": "plain_text", "text": "This changes the endpoint. Snapshots are taken first."},
            "confirm": {"type": "plain_text", "text": "Apply"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        },
    }
    return {
        "replace_original": False,
        "text": f"sagewatch dry run: {chat(str(result.get('status')), 40)}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
            {"type": "actions", "elements": [button]},
        ],
    }


def answer_message(result: Mapping[str, Any], clicked_by: Person, what: str) -> dict[str, Any]:
    """A plan that is not applicable, or a real run's outcome: it replaces the message whose button was clicked
    (so that no Apply stays clickable)."""
    status = str(result.get("status"))
    lines = [f"*{chat(what, 80)}* ({chat(status, 40)}), by {chat(clicked_by.label, 120)}"]
    if result.get("plan"):
        lines += _plan_lines(result)
    if result.get("error"):
        lines.append(chat(str(result["error"]), 1500))
    return {"replace_original": True, "text": f"sagewatch: {chat(status, 40)}", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}}
    ]}  # fmt: skip
