"""schedule-scaling: an off-hours schedule as Application Auto Scaling scheduled actions on the variant (or its
inference components): the scalable target registered first where there is none (the working-hours limits;
existing targets, their limits and policies kept), the sagewatch-offhours-* actions put, sagewatch's earlier ones
no longer in the schedule deleted. Refused where other scheduled actions exist on those resources (they would
fight), where two actions of one resource run at one minute, and where a maximum would grow past today's or the
finding's. The saving is worked out from the very scheduled actions the run puts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagewatch.catalog import Catalog
from sagewatch.remediation.calls import Step
from sagewatch.remediation.configs import monthly_cost
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import OFFHOURS_PREFIX, variant_resource
from sagewatch.remediation.model import State
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import SCALING, ActionSpec
from sagewatch.remediation.scaling import delete_scheduled, limits_text, put_scheduled, register
from sagewatch.remediation.schedules import (
    ScheduledChange,
    hours_any_up_per_week,
    instance_hours_per_week,
    schedule_changes,
)

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


def check(request: RemediationRequest) -> str | None:
    return (
        None
        if request.schedule is not None
        else "schedule-scaling needs schedule (a finding's recommendation.schedule)"
    )


def plan(ctx: PlanContext) -> Draft:
    request, live, variant = ctx.request, ctx.endpoint, ctx.instance_variant()
    changes = schedule_changes(request, live, variant)
    resources = sorted({c.resource for c in changes})
    foreign = [
        f"{a.get('ScheduledActionName')} on {a.get('ResourceId')}"
        for a in live.scheduled_actions
        if a.get("ResourceId") in resources and not str(a.get("ScheduledActionName", "")).startswith(OFFHOURS_PREFIX)
    ]
    if foreign:
        raise RemediationError(
            "the off-hours schedule would conflict with scheduled actions that exist: "
            + ", ".join(sorted(foreign)[:10])
            + ". Remove them, or fold them into one schedule, first"
        )
    calls: list[Step] = []
    notes = []
    for resource in resources:
        mine = [c for c in changes if c.resource == resource]
        target = live.target(resource)
        if target is not None:
            notes.append(f"the scalable target of {resource} keeps its limits ({limits_text(target)}) and its policies")
        else:
            day = max(mine, key=lambda c: (c.minimum, c.maximum))
            calls.append(
                register(
                    resource,
                    day.dimension,
                    day.minimum,
                    day.maximum,
                    f"register {resource}: minimum {day.minimum}, maximum {day.maximum} (the "
                    "working-hours limits; it had no auto scaling)",
                )
            )
        calls += [
            put_scheduled(
                c.put_args(),
                f"scheduled action {c.name} on {resource}: {c.cron} {c.timezone} -> "
                f"minimum {c.minimum}, maximum {c.maximum}",
            )
            for c in mine
        ]
    wanted = {(c.resource, c.name) for c in changes}
    calls += [
        delete_scheduled(a, f"delete {a['ScheduledActionName']} on {a['ResourceId']} (an earlier sagewatch schedule)")
        for a in live.scheduled_actions
        if a.get("ResourceId") in resources and (a.get("ResourceId"), a.get("ScheduledActionName")) not in wanted
    ]
    zone = request.schedule.timezone if request.schedule else "UTC"
    shown: dict[str, Any] = {"schedule": f"{len(changes)} scheduled actions ({zone})"}
    ours = variant_resource(live.name, variant)
    if any(c.resource == ours for c in changes):
        count = int(live.variants()[variant]["instance_count"])
        shown["instance_hours_per_week"] = round(instance_hours_per_week(changes, ours, count), 1)
    return Draft(
        calls,
        variant=variant,
        notes=notes,
        priced=_priced(variant),
        shown={variant: shown},
        rollback="restore-endpoint with the snapshot key this run returns: it removes the sagewatch-offhours-* "
        "actions and puts the auto scaling and instance count back",
    )


def _priced(variant: str) -> Any:
    """The variant's cost once the scheduled actions in the state the calls leave run: its instances' hours a
    week (or, where its components may go to 0 copies and managed instance scaling to 0 instances, the hours some
    component has a copy)."""

    def priced(after: dict[str, dict[str, Any]], state: State, catalog: Catalog) -> float | None:
        total = monthly_cost(after, catalog)
        spec = catalog.get(after[variant]["instance_type"]) if variant in after else None
        if total is None or spec is None:
            return total
        ours = variant_resource(state.name, variant)
        changes = [ScheduledChange.of_args(a) for a in state.scheduled.values()]
        count = int(after[variant]["instance_count"])
        if any(c.resource == ours for c in changes):
            hours = instance_hours_per_week(changes, ours, count)
            return round(total - spec.monthly_cost(count) + spec.price_per_hour_usd * hours * 730 / 168, 2)
        managed = state.config_variants().get(variant, {}).get("ManagedInstanceScaling") or {}
        components = [f"inference-component/{n}" for n, c in state.components.items() if c.variant == variant]
        if managed.get("MinInstanceCount") == 0 and components:
            # every component at 0 copies releases the instances: they run the hours some component has a copy
            copies = {r: max([c.maximum for c in changes if c.resource == r], default=1) for r in components}
            up = hours_any_up_per_week(changes, components, {r: max(1, copies[r]) for r in components})
            return round(total - spec.monthly_cost(count) + spec.monthly_cost(count) * up / 168, 2)
        return total

    return priced


SPEC = ActionSpec(
    name="schedule-scaling",
    summary="an off-hours schedule: scheduled actions that lower the limits at night or on off days",
    fields=frozenset({"variant", "schedule", "snapshot", "resume_from"}),
    check=check,
    plan=plan,
    iam=SCALING,
)
