"""The exact AWS CLI commands that carry out a recommendation (pure).

sagewatch never runs them: a person reads the finding and decides. Commands that change an endpoint's
configuration copy the live endpoint config whole (data capture, async, KMS and network settings
included), change only the variant concerned, and keep the old config for rolling back.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def _q(value: object) -> str:
    return shlex.quote(str(value))


def _new_config(endpoint: str, region: str, jq_variants: str, stamp: str) -> str:
    e, r = _q(endpoint), _q(region)
    return "\n".join(
        [
            f"CFG=$(aws sagemaker describe-endpoint --region {r} --endpoint-name {e} "
            "--query EndpointConfigName --output text)",
            f'NEW="${{CFG:0:50}}-sw{stamp}"',
            f'aws sagemaker describe-endpoint-config --region {r} --endpoint-config-name "$CFG" --output json \\',
            f'  | jq --arg n "$NEW" \'del(.EndpointConfigArn, .CreationTime) | .EndpointConfigName = $n'
            f" | .ProductionVariants |= {jq_variants}' > sagewatch-endpoint-config.json",
            f"aws sagemaker create-endpoint-config --region {r} --cli-input-json file://sagewatch-endpoint-config.json",
            f'aws sagemaker update-endpoint --region {r} --endpoint-name {e} --endpoint-config-name "$NEW"'
            '  # roll back: the same with "$CFG"',
        ]
    )


def command_for(finding: Mapping[str, Any], region: str, now: datetime) -> str | None:
    """Shell commands for `finding`'s recommendation, or None when it is to investigate."""
    rec = finding["recommendation"]
    action = rec["action"]
    endpoint, variant, r = finding["endpoint"], finding.get("variant"), _q(region)
    stamp = now.strftime("%Y%m%d%H%M")
    if action == "delete-endpoint":
        lines = [
            f"aws sagemaker delete-inference-component --region {r} --inference-component-name {_q(ic)}"
            for ic in finding.get("evidence", {}).get("inference_components", [])
        ]
        lines.append(
            f"aws sagemaker delete-endpoint --region {r} --endpoint-name {_q(endpoint)}"
            "  # the endpoint config and models are kept"
        )
        return "\n".join(lines)
    if action == "scale-to-zero":
        count = finding.get("instance_count") or 1
        resource = _q(f"endpoint/{endpoint}/variant/{variant or 'AllTraffic'}")
        return (
            f"aws application-autoscaling register-scalable-target --region {r} --service-namespace sagemaker "
            f"--resource-id {resource} --scalable-dimension sagemaker:variant:DesiredInstanceCount "
            f"--min-capacity 0 --max-capacity {count}"
        )
    if (
        action in ("scale-out", "resize-variant")
        and variant
        and rec.get("instance_type") == finding.get("instance_type")
    ):
        return (
            f"aws sagemaker update-endpoint-weights-and-capacities --region {r} --endpoint-name {_q(endpoint)} "
            f"--desired-weights-and-capacities VariantName={_q(variant)},DesiredInstanceCount={rec['instance_count']}"
        )
    if action == "resize-variant" and variant:
        jq = (
            f'map(if .VariantName == "{variant}" then .InstanceType = "{rec["instance_type"]}" '
            f"| .InitialInstanceCount = {rec['instance_count']} else . end)"
        )
        return _new_config(endpoint, region, jq, stamp)
    if action == "remove-variant" and variant:
        return _new_config(endpoint, region, f'map(select(.VariantName != "{variant}"))', stamp)
    return None
