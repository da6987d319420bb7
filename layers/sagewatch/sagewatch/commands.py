"""The ready-to-run command that carries out a finding's recommendation (pure).

It is a dry run of `sagewatch remediate` (the console script the package installs): it prints the plan and
changes nothing. Adding
`--execute --confirm ENDPOINT` carries it out, after the remediation function re-checks the endpoint
against what the finding saw (the --expect-* flags).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from sagewatch.models import Action, Finding, Kind

# scale-out keeps the type and adds instances: that is set-instance-count
_ACTIONS = {
    "delete-endpoint": "delete-endpoint",
    "remove-variant": "remove-variant",
    "resize-variant": "resize-variant",
    "scale-out": "set-instance-count",
    "scale-to-zero": "scale-to-zero",
    "set-scaling-limits": "set-scaling-limits",
    "schedule-scaling": "schedule-scaling",
}
FINDING_ACTIONS = frozenset(_ACTIONS.values())  # what a finding's command may ask of the remediation function


def request_for(finding: Finding) -> dict[str, Any] | None:
    """The remediation request (a dry run) that carries out `finding`'s recommendation, as the remediation
    function takes it; None when the recommendation is to investigate. The endpoint is re-checked against what
    the finding saw (`expect`)."""
    rec = finding.recommendation
    action = _ACTIONS.get(rec.action.value)
    if action is None:
        return None
    if rec.action is Action.SCALE_OUT and rec.instance_type != finding.instance_type:
        action = "resize-variant"
    request: dict[str, Any] = {"action": action, "endpoint": finding.endpoint}
    if finding.variant:
        request["variant"] = finding.variant
    request |= _target(finding, action)
    expect: dict[str, Any] = {}
    if finding.instance_type:
        expect["instance_type"] = finding.instance_type
    if finding.instance_count is not None and (finding.variant or finding.instance_type):
        expect["instance_count"] = finding.instance_count
    if finding.kind is Kind.IDLE:
        expect["idle"] = True
    if rec.max_capacity is not None and action in ("set-scaling-limits", "resize-variant"):
        expect["max_capacity"] = rec.max_capacity  # the largest maximum the finding allows the request to set
    if finding.id:
        expect["finding_id"] = finding.id
    if expect:
        request["expect"] = expect
    request["dry_run"] = True
    return request


def command_for(finding: Finding, region: str, *, local: bool = False) -> str | None:
    """`sagewatch remediate ...` for `finding`, or None when the recommendation is to investigate.
    `local`: the stack deploys no remediation function (Remediation disabled): the dry run reads the endpoint
    with the reader's own credentials (--local) instead of invoking the function."""
    request = request_for(finding)
    return None if request is None else command_of(request, region, local=local)


_FLAGS = (
    "variant",
    "instance_type",
    "instance_count",
    "min_capacity",
    "max_capacity",
    "schedule",
    "snapshot",
    "resume_from",
)
_EXPECT_FLAGS = {
    "instance_type": "--expect-instance-type",
    "instance_count": "--expect-instance-count",
    "max_capacity": "--expect-max-capacity",
    "plan_digest": "--expect-plan-digest",
}


def command_of(request: Mapping[str, Any], region: str, *, local: bool = False, function: str | None = None) -> str:
    """A remediation request as the `sagewatch remediate` command that sends it: a dry run, or with
    `dry_run` false the real run (`--execute --confirm ENDPOINT --request-id ID`); `function` names the
    remediation function to invoke (else the CLI finds it through the stack)."""
    args = ["sagewatch", "remediate", str(request["action"]), "--region", region]
    args += ["--endpoint", str(request["endpoint"])]
    for key in _FLAGS:
        value = request.get(key)
        if value is None:
            continue
        text = json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else str(value)
        args += [f"--{key.replace('_', '-')}", text]
    args += _expect_flags(request.get("expect") or {})
    if request.get("force"):
        args.append("--force")
    if request.get("allow_accelerator_change"):
        args.append("--allow-accelerator-change")
    if request.get("dry_run") is False:
        args += ["--execute", "--confirm", str(request.get("confirm") or request["endpoint"])]
        if request.get("request_id"):
            args += ["--request-id", str(request["request_id"])]
    if function:
        args += ["--function-name", function]
    if local:
        args.append("--local")
    return shlex.join(args)


def _expect_flags(expect: Mapping[str, Any]) -> list[str]:
    args = []
    for key, flag in _EXPECT_FLAGS.items():
        if expect.get(key) is not None:
            args += [flag, str(expect[key])]
    if expect.get("idle"):
        args.append("--expect-idle")
    if expect.get("finding_id"):
        args += ["--finding-id", str(expect["finding_id"])]
    return args


def _target(finding: Finding, action: str) -> dict[str, Any]:
    """The size a resize or a new count goes to, the limits, or the schedule."""
    rec = finding.recommendation
    out: dict[str, Any] = {}
    if action == "resize-variant" and rec.instance_type and rec.instance_type != finding.instance_type:
        out["instance_type"] = rec.instance_type
    if action in ("resize-variant", "set-instance-count"):
        out["instance_count"] = rec.instance_count
    # the new auto scaling limits travel with the change (a resize of an auto scaled variant: "4-8 become 2-4")
    if action in ("set-scaling-limits", "resize-variant") and rec.min_capacity is not None and rec.max_capacity:
        out |= {"min_capacity": rec.min_capacity, "max_capacity": rec.max_capacity}
    if action == "schedule-scaling" and rec.schedule is not None:
        out["schedule"] = {
            "timezone": rec.schedule.get("timezone"),
            "scheduled_actions": rec.schedule.get("scheduled_actions"),
        }
    return out
