"""Every remediation action, declared once (one module each in sagewatch.remediation.actions).

An action says its name, the request fields it takes (and what it needs of them), whether it is destructive (a
real run needs a finding to re-check against, or force) and snapshots first, the IAM actions its calls need,
and its planner. The CLI's choices, the request's accepted actions, the JSON schema of a request, the
snapshot-first set and the IAM contract test all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagewatch.remediation.plan import Draft, PlanContext
    from sagewatch.remediation.request import RemediationRequest

# The request fields only some actions take (every action takes the rest: endpoint, expect, dry_run, ...).
OPTIONAL_FIELDS = (
    "variant",
    "instance_type",
    "instance_count",
    "min_capacity",
    "max_capacity",
    "schedule",
    "snapshot",
    "resume_from",
)
# What every action reads, whatever it changes (the remediation function's read grants).
READS = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListEndpointConfigs",
    "sagemaker:ListTags",
    "sagemaker:ListInferenceComponents",
    "sagemaker:DescribeInferenceComponent",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
)
# Any action may have to take an auto scaled variant down and put it back (a resize, a restore), or undo another.
SCALING = (
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:PutScheduledAction",
    "application-autoscaling:DeleteScheduledAction",
    "cloudwatch:PutMetricAlarm",
)


@dataclass(frozen=True)
class ActionSpec:
    name: str
    summary: str  # what it does, in one line (CLI help, docs)
    fields: frozenset[str]  # of OPTIONAL_FIELDS, those it takes
    check: Callable[[RemediationRequest], str | None]  # what it needs of them: None, or why the request is wrong
    plan: Callable[[PlanContext], Draft]
    iam: tuple[str, ...]  # the IAM actions its calls may need (besides READS)
    destructive: bool = True  # a real run needs expect (a finding's command carries it) or force
    snapshot_first: bool = True  # a real run first takes the sealed snapshot its undo restores from


def _load() -> dict[str, ActionSpec]:
    from sagewatch.remediation.actions import (
        delete_endpoint,
        remove_provisioned_concurrency,
        remove_variant,
        resize_variant,
        restore_endpoint,
        scale_to_zero,
        schedule_scaling,
        set_instance_count,
        set_scaling_limits,
    )

    specs = [
        delete_endpoint.SPEC,
        restore_endpoint.SPEC,
        remove_variant.SPEC,
        resize_variant.SPEC,
        set_instance_count.SPEC,
        set_scaling_limits.SPEC,
        scale_to_zero.SPEC,
        remove_provisioned_concurrency.SPEC,
        schedule_scaling.SPEC,
    ]
    return {s.name: s for s in specs}


ACTIONS: dict[str, ActionSpec] = _load()
NAMES: tuple[str, ...] = tuple(ACTIONS)
DESTRUCTIVE = frozenset(n for n, s in ACTIONS.items() if s.destructive)
SNAPSHOT_FIRST = frozenset(n for n, s in ACTIONS.items() if s.snapshot_first)
