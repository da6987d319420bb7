"""Application Auto Scaling on SageMaker variants and inference components, read once per scan (two paginated
calls, never one per endpoint): every scalable target on `sagemaker:variant:DesiredInstanceCount` and
`sagemaker:inference-component:DesiredCopyCount`, every policy, and the metrics of the alarms that drive the step
scaling policies (what brings a resource back from zero: one DescribeAlarms per 100 of them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagewatch.models import Autoscaling, ScalingPolicy

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
DIMENSIONS = (VARIANT_DIMENSION, COMPONENT_DIMENSION)
ALARMS_PER_CALL = 100  # DescribeAlarms AlarmNames


def variant_resource(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def component_resource(component: str) -> str:
    return f"inference-component/{component}"


def _policy(doc: dict[str, Any], alarm_metrics: dict[str, str]) -> ScalingPolicy:
    tracking = doc.get("TargetTrackingScalingPolicyConfiguration") or {}
    predefined = (tracking.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    custom = (tracking.get("CustomizedMetricSpecification") or {}).get("MetricName")
    target = tracking.get("TargetValue")
    names = [str(a.get("AlarmName")) for a in doc.get("Alarms", [])]
    return ScalingPolicy(
        name=str(doc.get("PolicyName", "")),
        type=str(doc.get("PolicyType", "")),
        target_value=float(target) if isinstance(target, int | float) else None,
        metric=predefined or custom,
        alarm_metrics=tuple(sorted({alarm_metrics[n] for n in names if n in alarm_metrics})),
    )


class ScalingReader:
    def __init__(self, client: ApplicationAutoScalingClient, cloudwatch: CloudWatchClient | None = None):
        self.client = client
        self.cloudwatch = cloudwatch  # None: step policies' alarms are not read (no alarm_metrics)

    def variant_scaling(self) -> dict[str, Autoscaling]:
        """ResourceId (endpoint/E/variant/V, inference-component/C) -> its scalable target and policies. Raises
        ClientError."""
        targets: dict[str, dict[str, Any]] = {}
        for page in self.client.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="sagemaker"):
            for t in page["ScalableTargets"]:
                if t["ScalableDimension"] in DIMENSIONS:
                    targets[t["ResourceId"]] = dict(t)
        raw: list[dict[str, Any]] = []
        for policy_page in self.client.get_paginator("describe_scaling_policies").paginate(
            ServiceNamespace="sagemaker"
        ):
            raw += [dict(p) for p in policy_page["ScalingPolicies"] if p["ScalableDimension"] in DIMENSIONS]
        alarms = self._alarm_metrics(raw)
        policies: dict[str, list[ScalingPolicy]] = {}
        for p in raw:
            policies.setdefault(p["ResourceId"], []).append(_policy(p, alarms))
        return {
            resource: Autoscaling(
                int(t["MinCapacity"]),
                int(t["MaxCapacity"]),
                tuple(sorted(policies.get(resource, []), key=lambda p: p.name)),
            )
            for resource, t in targets.items()
        }

    def _alarm_metrics(self, policies: list[dict[str, Any]]) -> dict[str, str]:
        """Alarm name -> the metric it watches, for the alarms of step scaling policies."""
        names = sorted(
            {
                str(a["AlarmName"])
                for p in policies
                if p.get("PolicyType") == "StepScaling"
                for a in p.get("Alarms", [])
                if a.get("AlarmName")
            }
        )
        if self.cloudwatch is None or not names:
            return {}
        out: dict[str, str] = {}
        for i in range(0, len(names), ALARMS_PER_CALL):
            for page in self.cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNames=names[i : i + ALARMS_PER_CALL], AlarmTypes=["MetricAlarm"]
            ):
                out |= {str(a["AlarmName"]): str(a.get("MetricName") or "") for a in page.get("MetricAlarms", [])}
        return out
