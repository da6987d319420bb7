"""The ready-to-run command that carries out a finding's recommendation (pure).

It is a dry run of `python -m sagewatch remediate`: it prints the plan and changes nothing. Adding
`--execute --confirm ENDPOINT` carries it out, after the remediation function re-checks the endpoint
against what the finding saw (the --expect-* flags).
"""

from __future__ import annotations

import json
import shlex

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


def command_for(finding: Finding, region: str, *, local: bool = False) -> str | None:
    """`python -m sagewatch remediate ...` for `finding`, or None when the recommendation is to investigate.
    `local`: the stack deploys no remediation function (Remediation disabled): the dry run reads the endpoint
    with the reader's own credentials (--local) instead of invoking the function."""
    rec = finding.recommendation
    action = _ACTIONS.get(rec.action.value)
    if action is None:
        return None
    if rec.action is Action.SCALE_OUT and rec.instance_type != finding.instance_type:
        action = "resize-variant"
    args = ["python", "-m", "sagewatch", "remediate", action, "--region", region, "--endpoint", finding.endpoint]
    if finding.variant:
        args += ["--variant", finding.variant]
    args += _target(finding, action)
    if finding.instance_type:
        args += ["--expect-instance-type", finding.instance_type]
    if finding.instance_count is not None and (finding.variant or finding.instance_type):
        args += ["--expect-instance-count", str(finding.instance_count)]
    if finding.kind is Kind.IDLE:
        args.append("--expect-idle")
    if finding.id:
        args += ["--finding-id", finding.id]
    if local:
        args.append("--local")
    return shlex.join(args)


def _target(finding: Finding, action: str) -> list[str]:
    """The size a resize or a new count goes to."""
    rec = finding.recommendation
    args = []
    if action == "resize-variant" and rec.instance_type and rec.instance_type != finding.instance_type:
        args += ["--instance-type", rec.instance_type]
    if action in ("resize-variant", "set-instance-count"):
        args += ["--instance-count", str(rec.instance_count)]
    if action == "set-scaling-limits":
        args += ["--min-capacity", str(rec.min_capacity), "--max-capacity", str(rec.max_capacity)]
    if action == "schedule-scaling" and rec.schedule is not None:
        wanted = {"timezone": rec.schedule.get("timezone"), "scheduled_actions": rec.schedule.get("scheduled_actions")}
        args += ["--schedule", json.dumps(wanted, separators=(",", ":"))]
    return args
