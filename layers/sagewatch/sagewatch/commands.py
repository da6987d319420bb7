"""The ready-to-run command that carries out a finding's recommendation (pure).

It is a dry run of `python -m sagewatch remediate`: it prints the plan and changes nothing. Adding
`--execute --confirm ENDPOINT` carries it out, after the remediation function re-checks the endpoint
against what the finding saw (the --expect-* flags).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

# scale-out keeps the type and adds instances: that is set-instance-count
_ACTIONS = {
    "delete-endpoint": "delete-endpoint",
    "remove-variant": "remove-variant",
    "resize-variant": "resize-variant",
    "scale-out": "set-instance-count",
    "scale-to-zero": "scale-to-zero",
}


def command_for(finding: Mapping[str, Any], region: str) -> str | None:
    """`python -m sagewatch remediate ...` for `finding`, or None when the recommendation is to investigate."""
    rec = finding["recommendation"]
    action = _ACTIONS.get(rec["action"])
    if action is None:
        return None
    if rec["action"] == "scale-out" and rec.get("instance_type") != finding.get("instance_type"):
        action = "resize-variant"
    args = ["python", "-m", "sagewatch", "remediate", action, "--region", region, "--endpoint", finding["endpoint"]]
    if finding.get("variant"):
        args += ["--variant", finding["variant"]]
    if action == "resize-variant":
        if rec.get("instance_type") != finding.get("instance_type"):
            args += ["--instance-type", rec["instance_type"]]
        args += ["--instance-count", str(rec["instance_count"])]
    if action == "set-instance-count":
        args += ["--instance-count", str(rec["instance_count"])]
    if finding.get("instance_type"):
        args += ["--expect-instance-type", finding["instance_type"]]
    if finding.get("instance_count") is not None and (finding.get("variant") or finding.get("instance_type")):
        args += ["--expect-instance-count", str(finding["instance_count"])]
    if finding.get("kind") == "idle":
        args.append("--expect-idle")
    if finding.get("id"):
        args += ["--finding-id", finding["id"]]
    return shlex.join(args)
