"""Off-hours: a variant with more than one instance (or an inference-component endpoint that may scale to zero)
that is quiet at night or on whole weekdays, every week read; recommended: Application Auto Scaling scheduled
actions that scale it down then and back up after (pure)."""

from __future__ import annotations

from typing import Any

from sagewatch.catalog import InstanceSpec
from sagewatch.formats import iso_z, money
from sagewatch.models import Action, Finding, Kind, Recommendation, Variant
from sagewatch.rules.common import Judge, savings_severity
from sagewatch.schedule import DAYS, OffHours, Profile, ScheduledAction, monthly, off_hours

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
# An inference component's copies are forced to 0 at the window's start, then allowed back (maximum restored)
# a few minutes later, so that the NoCapacityInvocationFailures alarm can bring a copy back for a stray request.
RELEASE_MINUTES = 10


def analyse(ctx: Judge, variant: Variant) -> tuple[Profile, OffHours] | None:
    profile = ctx.profiles.get(variant.name)
    if profile is None:
        return None
    found = off_hours(profile)
    return None if found is None else (profile, found)


def unstable_note(analysed: tuple[Profile, OffHours] | None) -> str | None:
    """Why a variant with a quiet pattern gets no off-hours schedule: its weeks disagree (said in the evidence of
    its other findings, so a person who expected one learns why)."""
    if analysed is None or analysed[1].stable:
        return None
    return analysed[1].note


def off_hours_finding(ctx: Judge, variant: Variant, analysed: tuple[Profile, OffHours] | None) -> list[Finding]:
    """`analysed`: the variant's profile and quiet hours (analyse)."""
    spec = ctx.spec(variant)
    if spec is None or variant.instance_count == 0 or analysed is None:
        return []
    profile, found = analysed
    if not found.found:
        return []
    down = len(found.down_hours())
    if variant.uses_inference_components:
        planned = _components(ctx, variant, spec, found, down)
    else:
        planned = _instances(ctx, variant, spec, found, down)
    if planned is None:
        return []
    schedule, savings, summary = planned
    if savings < max(ctx.thresholds.min_monthly_savings_usd, 0.01):
        return []
    evidence: dict[str, Any] = {
        "window_start": iso_z(ctx.profile_start),
        "window_end": iso_z(ctx.windows.end),
        "schedule_days": ctx.thresholds.schedule_days,
        "profile": profile.to_evidence(),
        "off_hours": found.to_evidence(),
        "traffic_in_off_hours_pct": _traffic_share(profile, found),
    }
    cost = ctx.variant_cost(variant)
    rec = Recommendation(
        Action.SCHEDULE_SCALING,
        variant.instance_type,
        variant.instance_count,
        summary,
        None if cost is None else round(cost - savings, 2),
        schedule=schedule,
    )
    return [ctx.finding(Kind.OFF_HOURS, savings_severity(savings), variant, evidence, rec, cost, savings)]


def _when(found: OffHours) -> str:
    parts = []
    if found.nightly_start is not None:
        end = (found.nightly_start + found.nightly_hours) % 24
        parts.append(f"{found.nightly_start:02d}:00-{end:02d}:00 on working days")
    if found.off_days:
        parts.append("all day " + ", ".join(DAYS[d] for d in found.off_days))
    return " and ".join(parts)


def _instances(
    ctx: Judge, variant: Variant, spec: InstanceSpec, found: OffHours, down: int
) -> tuple[dict[str, Any], float, str] | None:
    """An instance variant is never below 1 instance. Without auto scaling the off-hours limits are 1-1 (a
    scheduled action moves capacity only when it falls outside the new limits), and the working hours' are its
    count; with auto scaling the floor drops to 1 and the ceiling stays, so a stray burst is still served."""
    scaling = variant.autoscaling
    day = (scaling.min_capacity, scaling.max_capacity) if scaling else (variant.instance_count,) * 2
    night = (1, day[1]) if scaling else (1, 1)
    saved = day[0] - night[0]
    if saved < 1:
        return None  # already at one instance (or auto scaling's floor is 1): nothing to take away at night
    savings = monthly(down, saved * spec.price_per_hour_usd)
    actions = found.actions(night, day)
    resource = f"endpoint/{ctx.endpoint.name}/variant/{variant.name}"
    schedule = _schedule(ctx, [(resource, VARIANT_DIMENSION, a) for a in actions], night, down, savings)
    summary = (
        f"Scale {ctx.endpoint.name}/{variant.name} to {night[0]} instance outside its working hours "
        f"({_when(found)}, {ctx.thresholds.schedule_timezone}) and back to {day[0]} after: it serves almost nothing "
        f"then. Saves {money(savings)}/month ({down} h a week)."
    )
    return schedule, savings, summary


def _components(
    ctx: Judge, variant: Variant, spec: InstanceSpec, found: OffHours, down: int
) -> tuple[dict[str, Any], float, str] | None:
    """Inference components go to 0 copies off-hours only when managed instance scaling may take the instances
    to 0 (MinInstanceCount 0): otherwise fewer copies free no instance."""
    managed = variant.managed_scaling
    if managed is None or not managed.enabled or managed.min_instances != 0 or not variant.inference_components:
        return None
    savings = monthly(down, variant.instance_count * spec.price_per_hour_usd)
    actions: list[tuple[str, str, ScheduledAction]] = []
    for ic in variant.inference_components:
        resource = f"inference-component/{ic}"
        tail = ic[-40:]
        down_action, up_action = found.actions((0, 0), (-1, -1), tail)
        release = ScheduledAction(
            f"sagewatch-offhours-release-{tail}",
            down_action.cron.replace("cron(0 ", f"cron({RELEASE_MINUTES} ", 1),
            0,
            -1,
        )
        actions += [
            (resource, COMPONENT_DIMENSION, down_action),
            (resource, COMPONENT_DIMENSION, release),
            (resource, COMPONENT_DIMENSION, up_action),
        ]
    schedule = _schedule(ctx, actions, (0, 0), down, savings)
    schedule["note"] = (
        "-1 means the limits the component's scalable target has now (read when the schedule is created). A "
        "request that arrives while a component has 0 copies fails until a copy is back: scaling up from zero "
        "needs the step scaling policy and its NoCapacityInvocationFailures alarm (scale-to-zero puts them in "
        "place), and provisioning takes minutes."
    )
    summary = (
        f"Scale the inference components of {ctx.endpoint.name}/{variant.name} to 0 copies outside their working "
        f"hours ({_when(found)}, {ctx.thresholds.schedule_timezone}); managed instance scaling then releases its "
        f"{variant.instance_count} instances. Saves {money(savings)}/month ({down} h a week). Requests then wait "
        "minutes for a copy (NoCapacityInvocationFailures step scaling)."
    )
    return schedule, savings, summary


def _schedule(
    ctx: Judge,
    actions: list[tuple[str, str, ScheduledAction]],
    night: tuple[int, int],
    down: int,
    savings: float,
) -> dict[str, Any]:
    timezone = ctx.thresholds.schedule_timezone
    return {
        "timezone": timezone,
        "scheduled_actions": [
            {"resource_id": r, "scalable_dimension": d, **a.to_dict(), "timezone": timezone} for r, d, a in actions
        ],
        "min_capacity": night[0],
        "max_capacity": night[1],
        "hours_per_week": down,
        "monthly_savings_usd": savings,
    }


def _traffic_share(profile: Profile, found: OffHours) -> float | None:
    """The share of the week's average traffic that falls in the hours the schedule keeps the variant down."""
    week = profile.hour_of_week()
    total = sum(v for v in week if v is not None)
    if total <= 0:
        return None
    quiet = sum(v for h in found.down_hours() if (v := week[h]) is not None)
    return round(100 * quiet / total, 2)
