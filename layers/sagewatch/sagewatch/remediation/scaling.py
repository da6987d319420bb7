"""Application Auto Scaling and CloudWatch calls as plans write them (pure): a scalable target taken down with its
policies and put back with them, the alarms of step scaling policies pointed at the policy that replaces them,
and the way back up from zero."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagewatch.remediation.calls import AUTOSCALING, CLOUDWATCH, Call, Ref, Step
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import policy_key, policy_of_arn
from sagewatch.remediation.model import State

NAMESPACE = "sagemaker"


def register(resource: str, dimension: str, low: int, high: int, why: str) -> Call:
    return Call(
        AUTOSCALING,
        "RegisterScalableTarget",
        {
            "ServiceNamespace": NAMESPACE,
            "ResourceId": resource,
            "ScalableDimension": dimension,
            "MinCapacity": low,
            "MaxCapacity": high,
        },
        why,
    )


def deregister(resource: str, dimension: str, why: str) -> Call:
    return Call(
        AUTOSCALING,
        "DeregisterScalableTarget",
        {"ServiceNamespace": NAMESPACE, "ResourceId": resource, "ScalableDimension": dimension},
        why,
    )


def delete_policy(policy: Mapping[str, Any], why: str) -> Call:
    return Call(
        AUTOSCALING,
        "DeleteScalingPolicy",
        {k: policy[k] for k in ("PolicyName", "ServiceNamespace", "ResourceId", "ScalableDimension")},
        why,
    )


def put_policy(policy: Mapping[str, Any], why: str) -> Call:
    return Call(
        AUTOSCALING,
        "PutScalingPolicy",
        dict(policy),
        why,
        key=policy_key(str(policy["ResourceId"]), str(policy["PolicyName"])),
    )


def put_scheduled(action: Mapping[str, Any], why: str) -> Call:
    return Call(AUTOSCALING, "PutScheduledAction", dict(action), why)


def delete_scheduled(action: Mapping[str, Any], why: str) -> Call:
    return Call(
        AUTOSCALING,
        "DeleteScheduledAction",
        {k: action[k] for k in ("ServiceNamespace", "ScheduledActionName", "ResourceId", "ScalableDimension")},
        why,
    )


def repoint_alarms(state: State, recreated: set[tuple[str, str]], why: str) -> list[Call]:
    """PutMetricAlarm for each alarm whose actions name a policy that is deleted and made again (a new policy has a
    new ARN: an alarm left naming the old one would never scale anything again)."""
    out = []
    for name, alarm in sorted(state.alarms.items()):
        actions = list(alarm.get("AlarmActions") or [])
        new_actions: list[Any] = []
        for action in actions:
            policy = policy_of_arn(str(action))
            new_actions.append(Ref(policy_key(*policy), "PolicyARN") if policy in recreated and policy else action)
        if new_actions != actions:
            out.append(Call(CLOUDWATCH, "PutMetricAlarm", {**alarm, "AlarmActions": new_actions}, f"{why}: {name}"))
    return out


def take_down(state: State, resource: str, why: str) -> list[Call]:
    """A scalable target's policies deleted, then the target deregistered (which deletes its scheduled actions)."""
    target = state.targets[resource]
    calls = [
        delete_policy(p, f"delete scaling policy {n} of {resource} ({why})")
        for (r, n), p in sorted(state.policies.items())
        if r == resource
    ]
    kept = [n for (r, n) in sorted(state.scheduled) if r == resource]
    calls.append(
        deregister(
            resource,
            str(target["ScalableDimension"]),
            f"deregister the scalable target {resource} ({why})"
            + (f"; its scheduled actions {', '.join(kept)} go with it" if kept else ""),
        )
    )
    return calls


def put_back(state: State, resource: str, limits: tuple[int, int] | None, why: str) -> list[Call]:
    """What take_down removed, as `state` had it: the target (with `limits` instead of its own, when given), its
    policies and scheduled actions, and the alarms of its step scaling policies pointed at the new policies."""
    target = state.targets[resource]
    low, high = limits or (int(target["MinCapacity"]), int(target["MaxCapacity"]))
    calls = [
        register(
            resource,
            str(target["ScalableDimension"]),
            low,
            high,
            f"register {resource} again: minimum {low}, maximum {high} ({why})",
        )
    ]
    policies = [(n, p) for (r, n), p in sorted(state.policies.items()) if r == resource]
    calls += [put_policy(p, f"put scaling policy {n} on {resource} back") for n, p in policies]
    calls += [
        put_scheduled(a, f"put scheduled action {n} on {resource} back")
        for (r, n), a in sorted(state.scheduled.items())
        if r == resource
    ]
    calls += repoint_alarms(state, {(resource, n) for n, _ in policies}, "point its alarm at the new policy")
    return calls


@dataclass(frozen=True)
class ZeroScaling:
    """How one resource comes back from zero: a step scaling policy adding one unit, driven by an alarm on the
    metric that says requests arrived with nothing to serve them."""

    resource: str
    dimension: str
    policy: str
    aggregation: str
    cooldown: int
    alarm: str
    metric: str
    dimensions: Mapping[str, str]
    statistic: str
    period: int
    evaluations: int
    missing: str


def back_from_zero(z: ZeroScaling) -> list[Step]:
    name = z.policy[:256]
    policy: dict[str, Any] = {
        "PolicyName": name,
        "ServiceNamespace": NAMESPACE,
        "ResourceId": z.resource,
        "ScalableDimension": z.dimension,
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": z.aggregation,
            "Cooldown": z.cooldown,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
        },
    }
    alarm = {
        "AlarmName": z.alarm[:255],
        "Namespace": "AWS/SageMaker",
        "MetricName": z.metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in z.dimensions.items()],
        "Statistic": z.statistic,
        "Period": z.period,
        "EvaluationPeriods": z.evaluations,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": z.missing,
        "AlarmActions": [Ref(policy_key(z.resource, name), "PolicyARN")],
    }
    return [
        put_policy(policy, f"step scaling policy {name}: one more when {z.metric} says requests wait"),
        Call(CLOUDWATCH, "PutMetricAlarm", alarm, f"alarm {alarm['AlarmName']} on {z.metric} drives that policy"),
    ]


def limits_text(target: Mapping[str, Any]) -> str:
    return f"minimum {target.get('MinCapacity')}, maximum {target.get('MaxCapacity')}"


def check_growth(where: str, maximum: int, today: int, recommended: int | None) -> None:
    """Capacity never grows by surprise: an auto scaling maximum above both today's (the target's maximum, or the
    count it runs without one) and the finding's recommendation (expect.max_capacity) is refused."""
    bound = max(today, recommended or 0)
    if maximum > bound:
        raise RemediationError(
            f"a maximum of {maximum} on {where} is above its maximum today ({today})"
            + (f" and the finding's recommendation ({recommended})" if recommended is not None else "")
            + ": sagewatch never lets capacity grow past what the endpoint has or the finding recommends "
            "(a finding's command carries its recommendation as expect.max_capacity)"
        )
