"""set-instance-count: UpdateEndpointWeightsAndCapacities on a variant without auto scaling (an auto scaled one
would be moved back by its autoscaler: set-scaling-limits changes its limits instead)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.remediation.calls import SAGEMAKER, Call
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import ActionSpec
from sagewatch.remediation.scaling import limits_text

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


def check(request: RemediationRequest) -> str | None:
    if not request.variant:
        return "set-instance-count needs variant"
    return None if request.instance_count is not None else "set-instance-count needs instance_count"


def plan(ctx: PlanContext) -> Draft:
    live, variant = ctx.endpoint, ctx.instance_variant()
    target = live.scaling_target(variant)
    if target is not None:
        raise RemediationError(
            f"{live.name}/{variant} is auto scaled ({limits_text(target)}): the autoscaler would undo a new instance "
            "count; use set-scaling-limits to change the limits instead"
        )
    count, current = int(ctx.request.instance_count or 0), live.variants()[variant]["instance_count"]
    if count == current:
        raise RemediationError(f"{live.name}/{variant} already runs {count} instances")
    call = Call(
        SAGEMAKER,
        "UpdateEndpointWeightsAndCapacities",
        {
            "EndpointName": live.name,
            "DesiredWeightsAndCapacities": [{"VariantName": variant, "DesiredInstanceCount": count}],
        },
        f"{live.name}/{variant}: {current} -> {count} instances",
    )
    return Draft(
        [call],
        variant=variant,
        rollback=f"set-instance-count back to {current} (or restore-endpoint with the snapshot key this run returns)",
    )


SPEC = ActionSpec(
    name="set-instance-count",
    summary="set the instance count of a variant without auto scaling",
    fields=frozenset({"variant", "instance_count", "snapshot", "resume_from"}),
    check=check,
    plan=plan,
    iam=("sagemaker:UpdateEndpointWeightsAndCapacities",),
)
