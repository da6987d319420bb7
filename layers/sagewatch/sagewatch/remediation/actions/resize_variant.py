"""resize-variant: another instance type and/or count for one variant, through a new endpoint config.

Without auto scaling: the new config, the endpoint updated to it. With auto scaling, the limits travel in the
request (a finding's "4-8 become 2-4": min_capacity, max_capacity; without them the variant keeps its limits and
the new count must fit them):
- a new instance type: its policies deleted and it deregistered (SageMaker refuses to change the type of an auto
  scaling target), the update, then, once InService, registered again with the new limits and its policies and
  scheduled actions put back;
- the same type: the new limits registered first (so that the autoscaler does not take the count straight back),
  then the update.
Every other variant keeps its live instance count: the new config names their current counts when this one's
count changes, else the update retains every variant's properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sagewatch.catalog import Catalog
from sagewatch.remediation.calls import Step
from sagewatch.remediation.configs import accelerator_change, derived_config
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import LiveEndpoint, variant_resource
from sagewatch.remediation.model import State
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import SCALING, ActionSpec
from sagewatch.remediation.scaling import check_growth, limits_text, register
from sagewatch.remediation.updates import update_to

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


def check(request: RemediationRequest) -> str | None:
    if not request.variant:
        return "resize-variant needs variant"
    if not (request.instance_type or request.instance_count):
        return "resize-variant needs instance_type and/or instance_count"
    if (request.min_capacity is None) != (request.max_capacity is None):
        return "resize-variant takes min_capacity and max_capacity together (the new auto scaling limits), or neither"
    if (
        request.min_capacity is not None
        and request.max_capacity is not None
        and request.min_capacity > request.max_capacity
    ):
        return f"min_capacity {request.min_capacity} is above max_capacity {request.max_capacity}"
    return None


def resize_target(
    request: RemediationRequest, where: str, current: Mapping[str, Any], catalog: Catalog
) -> tuple[str, int]:
    """The (type, count) a resize goes to; refused when it is no change, not a hosting type, or crosses
    accelerator kinds without allow_accelerator_change."""
    instance_type = request.instance_type or current["instance_type"]
    if request.instance_type and catalog.get(request.instance_type) is None:
        raise RemediationError(f"instance type {request.instance_type} is not in the catalog of hosting types")
    count = request.instance_count or current["instance_count"]
    if (instance_type, count) == (current["instance_type"], current["instance_count"]):
        raise RemediationError(f"{where} already runs {count} x {instance_type}")
    change = accelerator_change(current["instance_type"], instance_type, catalog)
    if change and not request.allow_accelerator_change:
        raise RemediationError(
            f"resizing {where} from {current['instance_type']} to {instance_type} changes its accelerator "
            f"({change}): a model built for one rarely runs on the other. To do it anyway, send "
            "allow_accelerator_change true (and force true for a real run)"
        )
    return instance_type, count


def _limits(request: RemediationRequest, live: LiveEndpoint, variant: str, count: int) -> tuple[int, int] | None:
    """The auto scaling limits the variant has after the resize (None: it has no auto scaling)."""
    target = live.scaling_target(variant)
    asked = (
        (int(request.min_capacity), int(request.max_capacity))
        if request.min_capacity is not None and request.max_capacity is not None
        else None
    )
    where = f"{live.name}/{variant}"
    if target is None:
        if asked:
            raise RemediationError(
                f"{where} has no auto scaling: min_capacity and max_capacity apply to an auto scaled variant "
                "(set-scaling-limits registers one)"
            )
        return None
    now = (int(target["MinCapacity"]), int(target["MaxCapacity"]))
    low, high = asked or now
    if asked is None and not low <= count <= high:
        raise RemediationError(
            f"{where} is auto scaled ({limits_text(target)}): {count} instances is outside those limits, and the "
            "autoscaler would move it straight back; send the new limits as min_capacity and max_capacity (a "
            "finding's command carries them)"
        )
    if not low <= count <= high:
        raise RemediationError(f"{count} instances is outside the new limits {low}-{high} of {where}")
    if low < 1:
        raise RemediationError(f"{where} is a real-time variant: its auto scaling minimum is at least 1")
    expect = request.expect
    check_growth(where, high, now[1], expect.max_capacity if expect else None)
    scheduled = [str(a.get("ScheduledActionName")) for a in live.scheduled_of(variant_resource(live.name, variant))]
    if scheduled and (low, high) != now:
        raise RemediationError(
            f"{where} has scheduled actions ({', '.join(sorted(scheduled)[:10])}) that set its limits at their "
            f"times: new limits {low}-{high} would be overwritten by them; change or remove them first"
        )
    return low, high


def plan(ctx: PlanContext) -> Draft:
    request, live, variant = ctx.request, ctx.endpoint, ctx.instance_variant()
    variants = live.variants()
    current = variants[variant]
    where = f"{live.name}/{variant}"
    instance_type, count = resize_target(request, where, current, ctx.catalog)
    limits = _limits(request, live, variant, count)
    type_changes = instance_type != current["instance_type"]
    count_changes = count != current["instance_count"]
    others = {v: a["instance_count"] for v, a in variants.items() if v != variant and not a["serverless"]}
    config = derived_config(live.config, variant, instance_type=instance_type, instance_count=count, counts=others)
    state = State.of(live, configs=ctx.configs)
    calls: list[Step] = []
    target = live.scaling_target(variant)
    if target is not None and not type_changes and limits != (int(target["MinCapacity"]), int(target["MaxCapacity"])):
        assert limits is not None
        resource = variant_resource(live.name, variant)
        calls.append(
            register(
                resource,
                str(target["ScalableDimension"]),
                *limits,
                f"auto scaling of {resource}: {limits_text(target)} -> minimum {limits[0]}, maximum "
                f"{limits[1]} first (its policies are kept), so that the new count is inside them",
            )
        )
    change = f"{count} x {instance_type}"
    update = update_to(
        state,
        config,
        retain=not count_changes,
        why=f"{variant} as {change}",
        limits={variant: limits} if limits else None,
    )
    calls += update.steps
    return Draft(
        calls,
        variant=variant,
        notes=update.notes,
        known_configs=update.configs,
        accelerator_change=accelerator_change(current["instance_type"], instance_type, ctx.catalog),
        rollback=f"restore-endpoint with the snapshot key this run returns (UpdateEndpoint back to {live.config_name}, "
        "which is kept, with its auto scaling as it was)",
    )


SPEC = ActionSpec(
    name="resize-variant",
    summary="another instance type and/or count for one variant (new auto scaling limits with min/max capacity)",
    fields=frozenset(
        {"variant", "instance_type", "instance_count", "min_capacity", "max_capacity", "snapshot", "resume_from"}
    ),
    check=check,
    plan=plan,
    iam=("sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint", "iam:PassRole", *SCALING),
)
