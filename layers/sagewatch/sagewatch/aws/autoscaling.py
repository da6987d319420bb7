"""Application Auto Scaling on SageMaker variants, read once per scan (two paginated calls, never one per
endpoint): every scalable target on `sagemaker:variant:DesiredInstanceCount`, and every policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagewatch.models import Autoscaling, ScalingPolicy

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def variant_resource(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def _policy(doc: dict[str, Any]) -> ScalingPolicy:
    tracking = doc.get("TargetTrackingScalingPolicyConfiguration") or {}
    predefined = (tracking.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    custom = (tracking.get("CustomizedMetricSpecification") or {}).get("MetricName")
    target = tracking.get("TargetValue")
    return ScalingPolicy(
        name=str(doc.get("PolicyName", "")),
        type=str(doc.get("PolicyType", "")),
        target_value=float(target) if isinstance(target, int | float) else None,
        metric=predefined or custom,
    )


class ScalingReader:
    def __init__(self, client: ApplicationAutoScalingClient):
        self.client = client

    def variant_scaling(self) -> dict[str, Autoscaling]:
        """ResourceId (endpoint/E/variant/V) -> its scalable target and policies. Raises ClientError."""
        targets: dict[str, dict[str, Any]] = {}
        for page in self.client.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="sagemaker"):
            for t in page["ScalableTargets"]:
                if t["ScalableDimension"] == VARIANT_DIMENSION:
                    targets[t["ResourceId"]] = dict(t)
        policies: dict[str, list[ScalingPolicy]] = {}
        for policy_page in self.client.get_paginator("describe_scaling_policies").paginate(
            ServiceNamespace="sagemaker"
        ):
            for p in policy_page["ScalingPolicies"]:
                if p["ScalableDimension"] == VARIANT_DIMENSION:
                    policies.setdefault(p["ResourceId"], []).append(_policy(dict(p)))
        return {
            resource: Autoscaling(
                int(t["MinCapacity"]),
                int(t["MaxCapacity"]),
                tuple(sorted(policies.get(resource, []), key=lambda p: p.name)),
            )
            for resource, t in targets.items()
        }
