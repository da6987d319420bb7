"""scale-to-zero: an idle endpoint that can run no instance while it has nothing to do, and comes back when
requests arrive.

- Asynchronous: its scalable target with a minimum of 0 (the maximum it has, or its count without auto scaling);
  where it has no scaling policy, target tracking on ApproximateBacklogSizePerInstance takes it down when the queue
  is empty; and a step scaling policy on an alarm on HasBacklogWithoutCapacity brings an instance back (target
  tracking alone cannot leave 0).
- Hosting inference components: managed instance scaling with a minimum of 0 instances (a new config, every
  variant keeping its count), then each component's copies scalable to 0 (the maximum its target has, or its copies)
  with a step scaling policy on an alarm on NoCapacityInvocationFailures to bring a copy back.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from sagewatch.catalog import Catalog
from sagewatch.remediation.calls import Step
from sagewatch.remediation.configs import derived_config, monthly_cost
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import COMPONENT_DIMENSION, VARIANT_DIMENSION, component_resource, variant_resource
from sagewatch.remediation.model import State
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import SCALING, ActionSpec
from sagewatch.remediation.scaling import NAMESPACE, ZeroScaling, back_from_zero, put_policy, register
from sagewatch.remediation.updates import update_to

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest

BACKLOG_TARGET = 5.0  # requests queued per instance that target tracking aims for (AWS's async example value)


def check(request: RemediationRequest) -> str | None:
    return None


def _async(ctx: PlanContext, variant: str) -> Draft:
    live = ctx.endpoint
    resource = variant_resource(live.name, variant)
    target = live.scaling_target(variant)
    count = int(live.variants()[variant]["instance_count"])
    high = int(target["MaxCapacity"]) if target else max(1, count)
    calls: list[Step] = [
        register(
            resource,
            VARIANT_DIMENSION,
            0,
            high,
            f"auto scaling of {resource}: minimum 0, maximum {high}"
            + (" (the maximum it has)" if target else " (the count it runs)"),
        )
    ]
    notes = []
    if not live.policies_of(resource):
        policy: dict[str, Any] = {
            "PolicyName": f"sagewatch-backlog-per-instance-{live.name}"[:256],
            "ServiceNamespace": NAMESPACE,
            "ResourceId": resource,
            "ScalableDimension": VARIANT_DIMENSION,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": BACKLOG_TARGET,
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateBacklogSizePerInstance",
                    "Namespace": "AWS/SageMaker",
                    "Dimensions": [{"Name": "EndpointName", "Value": live.name}],
                    "Statistic": "Average",
                },
                "ScaleInCooldown": 600,
                "ScaleOutCooldown": 300,
            },
        }
        calls.append(
            put_policy(
                policy,
                f"target tracking of {BACKLOG_TARGET:g} queued requests per instance: "
                "down to 0 when the queue is empty",
            )
        )
    else:
        notes.append(f"the scaling policies of {resource} are kept: they decide when it goes down to 0")
    calls += back_from_zero(
        ZeroScaling(
            resource=resource,
            dimension=VARIANT_DIMENSION,
            policy=f"sagewatch-scale-up-from-zero-{live.name}",
            aggregation="Average",
            cooldown=300,
            alarm=f"sagewatch-{live.name}-backlog-without-capacity",
            metric="HasBacklogWithoutCapacity",
            dimensions={"EndpointName": live.name},
            statistic="Average",
            period=60,
            evaluations=2,
            missing="notBreaching",
        )
    )
    return Draft(calls, variant=variant, notes=notes, priced=_idle(variant))


def _components(ctx: PlanContext, variant: str) -> Draft:
    live = ctx.endpoint
    count = int(live.variants()[variant]["instance_count"])
    managed = live.config_variant(variant).get("ManagedInstanceScaling") or {}
    high = int(managed.get("MaxInstanceCount") or count or 1)
    config = derived_config(live.config, variant, managed_minimum=0, managed_maximum=high)
    state = State.of(live, configs=ctx.configs)
    update = update_to(
        state, config, retain=True, why=f"managed instance scaling of {variant}: minimum 0, maximum {high}"
    )
    calls: list[Step] = list(update.steps)
    for c in live.components_of(variant):
        name = str(c["InferenceComponentName"])
        resource = component_resource(name)
        target = live.target(resource)
        copies = int((c.get("RuntimeConfig") or {}).get("DesiredCopyCount") or 1)
        top = int(target["MaxCapacity"]) if target else max(1, copies)
        calls.append(
            register(
                resource, COMPONENT_DIMENSION, 0, top, f"copies of inference component {name}: minimum 0, maximum {top}"
            )
        )
        calls += back_from_zero(
            ZeroScaling(
                resource=resource,
                dimension=COMPONENT_DIMENSION,
                policy=f"sagewatch-scale-up-from-zero-{name}",
                aggregation="Maximum",
                cooldown=60,
                alarm=f"sagewatch-{name}-no-capacity",
                metric="NoCapacityInvocationFailures",
                dimensions={"InferenceComponentName": name},
                statistic="Maximum",
                period=30,
                evaluations=1,
                missing="missing",
            )
        )
    return Draft(calls, variant=variant, notes=update.notes, known_configs=update.configs, priced=_idle(variant))


def _idle(variant: str) -> Any:
    """Priced as it runs while idle: no instance once auto scaling has taken it down (the finding is of an idle
    endpoint; requests bring instances back, and their hours are billed again)."""

    def priced(after: dict[str, dict[str, Any]], state: State, catalog: Catalog) -> float | None:
        idle = copy.deepcopy(after)
        if variant in idle:
            idle[variant]["instance_count"] = 0
        return monthly_cost(idle, catalog)

    return priced


def plan(ctx: PlanContext) -> Draft:
    live, variant = ctx.endpoint, ctx.instance_variant()
    if live.is_async:
        return _async(ctx, variant)
    if live.components_of(variant) and not live.config_variant(variant).get("ModelName"):
        return _components(ctx, variant)
    raise RemediationError(f"{live.name} can scale to zero only when it is asynchronous or hosts inference components")


SPEC = ActionSpec(
    name="scale-to-zero",
    summary="no instance while idle, back when requests arrive (asynchronous or inference-component endpoints)",
    fields=frozenset({"variant", "snapshot", "resume_from"}),
    check=check,
    plan=plan,
    iam=("sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint", "iam:PassRole", *SCALING),
)
