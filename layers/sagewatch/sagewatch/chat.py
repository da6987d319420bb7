"""Acting from chat, Amazon Q Developer in chat applications (Chatbot) path (pure).

A digest's Chatbot notification carries, in `metadata.additionalContext`, the dry run of its first finding that
has a remediation action: `request` is that remediation request as compact JSON in base64url (nothing in it
needs quoting inside the custom action's command: `lambda invoke ... --payload {"chat_request":"$request"}`),
beside the plain `action`, `endpoint`, `variant` and `finding_id` a person reads. The **Dry run** button invokes
the remediation function with {"chat_request": ...}, which only ever plans it: it decodes the request, refuses
anything that is not a finding's dry run, and answers with the plan and, last, the exact command that applies it
(confirm and request_id filled in).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from sagewatch.commands import FINDING_ACTIONS, command_of, request_for
from sagewatch.digest import Digest

REQUEST_MAX = 2048  # characters of the encoded request: a schedule of 30 actions fits, a flood does not
# The Slack app's Dry run button (sagewatch.slackapp reads its clicks; the Slack digest draws it)
SLACK_DRY_RUN = "sagewatch_dry_run"
SLACK_VALUE_MAX = 2000  # Slack's limit on a button's value
TOKEN = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
CONTEXT_FIELDS = ("instance_type", "instance_count", "min_capacity", "max_capacity")
# what request_for never writes: a chat request carrying one was not written by sagewatch
WRITTEN_NEVER = frozenset({"snapshot", "confirm", "request_id", "force", "allow_accelerator_change"})


class ChatRequestError(ValueError):
    """A chat request that is not one sagewatch wrote: nothing is planned, and the answer says why."""


def encode(request: Mapping[str, Any]) -> str:
    """A remediation request as base64url of its compact JSON."""
    return base64.urlsafe_b64encode(json.dumps(request, separators=(",", ":")).encode()).decode()


def decode(text: object) -> dict[str, Any]:
    """The request `encode` wrote; ChatRequestError for anything else (too long, not base64url, not a JSON
    object, not a dry run)."""
    if not isinstance(text, str) or not text:
        raise ChatRequestError("chat_request must be the request string the notification carried")
    if len(text) > REQUEST_MAX or not TOKEN.match(text):
        raise ChatRequestError(f"chat_request is not a request sagewatch wrote (base64url, at most {REQUEST_MAX})")
    try:
        doc = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (binascii.Error, ValueError) as exc:
        raise ChatRequestError(f"chat_request does not decode to JSON: {type(exc).__name__}") from None
    if not isinstance(doc, dict):
        raise ChatRequestError("chat_request must decode to a JSON object")
    if doc.get("dry_run") is not True:
        raise ChatRequestError("a chat button only ever plans: the request must be a dry run")
    if doc.get("action") not in FINDING_ACTIONS:
        wanted = ", ".join(sorted(FINDING_ACTIONS))
        raise ChatRequestError(f"a chat button plans what a finding recommends ({wanted}), not {doc.get('action')!r}")
    written = sorted(WRITTEN_NEVER & set(doc))
    if written:  # a forged force would reach the apply command a person runs
        raise ChatRequestError(f"a chat request carries no {', '.join(written)}: sagewatch never writes them")
    return doc


def chatbot_context(d: Digest) -> dict[str, str]:
    """What a Dry run button needs, for the digest's first announced finding with a remediation action; nothing
    when the stack deploys no remediation (the button would have nothing to invoke) or no finding has one."""
    if not d.remediation:
        return {}
    for a in d.active():
        request = request_for(a.finding)
        if request is None:
            continue
        encoded = encode(request)
        if len(encoded) > REQUEST_MAX:
            continue  # too large to carry: its command is in the email
        out = {"action": str(request["action"]), "endpoint": a.finding.endpoint, "request": encoded}
        if a.finding.variant:
            out["variant"] = a.finding.variant
        if a.finding.id:
            out["finding_id"] = a.finding.id
        # the action's fields a person reads (the schedule of schedule-scaling is in `request` only)
        out |= {key: str(request[key]) for key in CONTEXT_FIELDS if request.get(key) is not None}
        return out
    return {}


def apply_command(request: Mapping[str, Any], region: str, request_id: str, function: str) -> str:
    """The command that carries out the planned `request` through the remediation `function`: the same request,
    not a dry run, confirmed, with a request id of its own (a retry with the same id never acts twice)."""
    real = {**request, "dry_run": False, "confirm": request["endpoint"], "request_id": request_id}
    return command_of(real, region, function=function)
