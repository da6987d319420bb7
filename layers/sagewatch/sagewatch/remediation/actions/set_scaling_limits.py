"""set-scaling-limits: RegisterScalableTarget on the variant with a new minimum and maximum (its scaling policies
and scheduled actions are kept). A maximum never grows past today's or what the finding recommends; a real-time
variant never gets a minimum of 0."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import VARIANT_DIMENSION, variant_resource
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import SCALING, ActionSpec
from sagewatch.remediation.scaling import check_growth, limits_text, register

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


def check(request: RemediationRequest) -> str | None:
    if not request.variant:
        return "set-scaling-limits needs variant"
    if request.min_capacity is None or request.max_capacity is None:
        return "set-scaling-limits needs min_capacity and max_capacity"
    if request.min_capacity > request.max_capacity:
        return f"min_capacity {request.min_capacity} is above max_capacity {request.max_capacity}"
    return None


def plan(ctx: PlanContext) -> Draft:
    request, live, variant = ctx.request, ctx.endpoint, ctx.instance_variant()
    low, high = int(request.min_capacity or 0), int(request.max_capacity or 1)
    where = f"{live.name}/{variant}"
    if low == 0 and not live.is_async:
        raise RemediationError(
            f"{live.name} is not asynchronous: a real-time variant cannot scale to a minimum of 0 instances"
        )
    target = live.scaling_target(variant)
    current = int(live.variants()[variant]["instance_count"])
    today = int(target["MaxCapacity"]) if target else current
    check_growth(where, high, today, request.expect.max_capacity if request.expect else None)
    resource = variant_resource(live.name, variant)
    if target is not None and (int(target["MinCapacity"]), int(target["MaxCapacity"])) == (low, high):
        raise RemediationError(f"{where} is auto scaled with {limits_text(target)} already")
    said = f"{limits_text(target)} -> " if target else ""
    notes = []
    if target is None:
        notes.append(
            f"{where} had no auto scaling: a scalable target without a scaling policy only keeps the count within "
            "its limits, it never scales on load"
        )
    call = register(
        resource,
        VARIANT_DIMENSION,
        low,
        high,
        f"RegisterScalableTarget {resource}: {said}minimum {low}, maximum {high} (its scaling policies "
        "are kept; a count outside the limits moves into them at once)",
    )
    return Draft([call], variant=variant, notes=notes)


SPEC = ActionSpec(
    name="set-scaling-limits",
    summary="new auto scaling minimum and maximum for a variant (policies kept)",
    fields=frozenset({"variant", "min_capacity", "max_capacity", "snapshot", "resume_from"}),
    check=check,
    plan=plan,
    iam=SCALING,
)
