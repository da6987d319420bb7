"""Off-hours schedules: a request's scheduled actions resolved on an endpoint, and what they add up to (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import COMPONENT_DIMENSION, VARIANT_DIMENSION, LiveEndpoint, variant_resource
from sagewatch.remediation.scaling import check_growth

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest, ScheduledActionSpec

_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class ScheduledChange:
    """One scheduled action as it will be put: on which resource, when, with which limits (resolved)."""

    name: str
    resource: str
    dimension: str
    cron: str
    timezone: str
    minimum: int
    maximum: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resource_id": self.resource,
            "scalable_dimension": self.dimension,
            "schedule": self.cron,
            "timezone": self.timezone,
            "min_capacity": self.minimum,
            "max_capacity": self.maximum,
        }

    def put_args(self) -> dict[str, Any]:
        """PutScheduledAction's parameters."""
        return {
            "ServiceNamespace": "sagemaker",
            "ScheduledActionName": self.name,
            "ResourceId": self.resource,
            "ScalableDimension": self.dimension,
            "Schedule": self.cron,
            "Timezone": self.timezone,
            "ScalableTargetAction": {"MinCapacity": self.minimum, "MaxCapacity": self.maximum},
        }

    @classmethod
    def of_args(cls, args: Mapping[str, Any]) -> ScheduledChange:
        """The change a PutScheduledAction call makes (what a plan is priced from)."""
        limits = args["ScalableTargetAction"]
        return cls(
            str(args["ScheduledActionName"]),
            str(args["ResourceId"]),
            str(args["ScalableDimension"]),
            str(args["Schedule"]),
            str(args.get("Timezone") or "UTC"),
            int(limits["MinCapacity"]),
            int(limits["MaxCapacity"]),
        )


def schedule_changes(request: RemediationRequest, live: LiveEndpoint, variant: str) -> list[ScheduledChange]:
    """The request's scheduled actions on `live`, each on a resource of this endpoint's variant, its limits
    resolved (-1: the scalable target's now, else the variant's count or the component's copies). Raises
    RemediationError naming what is wrong: a resource not of this variant, limits the wrong way round, below
    what the resource allows, above what the finding recommends, or two actions of one resource at one minute."""
    assert request.schedule is not None
    spec = request.schedule
    out = []
    for action in spec.scheduled_actions:
        if action.timezone is not None and action.timezone != spec.timezone:
            raise RemediationError(
                f"scheduled action {action.name} has timezone {action.timezone}, the schedule {spec.timezone}"
            )
        resource, dimension, now, target = _resource_of(action, live, variant)
        low = int(target["MinCapacity"]) if target else now
        high = int(target["MaxCapacity"]) if target else now
        change = ScheduledChange(
            action.name,
            resource,
            dimension,
            action.schedule,
            spec.timezone,
            low if action.min_capacity == -1 else action.min_capacity,
            high if action.max_capacity == -1 else action.max_capacity,
        )
        _check_limits(change, live, variant)
        check_growth(f"scheduled action {change.name} ({change.resource})", change.maximum, high, spec.max_capacity)
        out.append(change)
    names = [(c.resource, c.name) for c in out]
    if len(set(names)) != len(names):
        raise RemediationError("the schedule names one scheduled action twice on the same resource")
    _check_same_minute(out)
    return out


def _resource_of(
    action: ScheduledActionSpec, live: LiveEndpoint, variant: str
) -> tuple[str, str, int, dict[str, Any] | None]:
    """(resource id, dimension, capacity now, its scalable target) of an action: the variant or a component."""
    ours = variant_resource(live.name, variant)
    resource = action.resource_id or ours
    components = {str(c["InferenceComponentName"]): c for c in live.components_of(variant)}
    if resource.startswith("inference-component/"):
        component = resource.split("/", 1)[1]
        if component not in components:
            raise RemediationError(
                f"{resource} is not an inference component of {live.name}/{variant}"
                + (f" (it has {', '.join(sorted(components))})" if components else " (it hosts none)")
            )
        dimension = COMPONENT_DIMENSION
        runtime = components[component].get("RuntimeConfig") or {}
        now = int(runtime.get("DesiredCopyCount") or runtime.get("CurrentCopyCount") or 1)
        target = live.target(resource)
    elif resource == ours:
        dimension, now, target = (
            VARIANT_DIMENSION,
            int(live.variants()[variant]["instance_count"]),
            live.scaling_target(variant),
        )
    else:
        raise RemediationError(f"scheduled action {action.name} names {resource}: not {ours} or one of its components")
    if action.scalable_dimension not in (None, dimension):
        raise RemediationError(
            f"scheduled action {action.name}: {resource} scales {dimension}, not {action.scalable_dimension}"
        )
    return resource, dimension, now, target


def _check_limits(change: ScheduledChange, live: LiveEndpoint, variant: str) -> None:
    if change.minimum > change.maximum:
        raise RemediationError(
            f"scheduled action {change.name}: minimum {change.minimum} is above maximum {change.maximum}"
        )
    if change.dimension == VARIANT_DIMENSION and change.minimum < 1 and not live.is_async:
        raise RemediationError(
            f"scheduled action {change.name} would take {change.resource} below 1 instance: a real-time variant "
            "never goes below 1 (inference components can go to 0 copies)"
        )
    managed = live.config_variant(variant).get("ManagedInstanceScaling") or {}
    if change.dimension == COMPONENT_DIMENSION and change.minimum == 0 and managed.get("MinInstanceCount") != 0:
        raise RemediationError(
            f"scheduled action {change.name} takes {change.resource} to 0 copies, but {live.name}/{variant} has no "
            "managed instance scaling with MinInstanceCount 0: no instance would be released (scale-to-zero sets "
            "it, with the alarm that brings copies back)"
        )


def _check_same_minute(changes: list[ScheduledChange]) -> None:
    """Two actions of one resource at the same minute of the week: AWS would run one of them, and which one is
    not said; refused rather than guessed."""
    seen: dict[tuple[str, int], str] = {}
    for c in changes:
        for t in cron_times(c.cron):
            other = seen.get((c.resource, t))
            if other is not None and other != c.name:
                day, minute = divmod(t, 1440)
                raise RemediationError(
                    f"scheduled actions {other} and {c.name} both run on {c.resource} at {_WEEKDAYS[day]} "
                    f"{minute // 60:02d}:{minute % 60:02d}: which one AWS applies is not defined; give each its "
                    "own minute"
                )
            seen[(c.resource, t)] = c.name


def cron_times(cron: str) -> list[int]:
    """Minutes of the week (Monday 00:00 = 0) a cron written by sagewatch fires at (CRON's shape)."""
    fields_ = cron[len("cron(") : -1].split()
    minute, hour, dow = int(fields_[0]), int(fields_[1]), fields_[4]
    days = range(7) if dow == "?" else [_WEEKDAYS.index(d) for d in dow.split(",")]
    return [d * 1440 + hour * 60 + minute for d in days]


def _capacity_by_minute(changes: list[ScheduledChange], resource: str, start: int) -> list[int]:
    """A resource's capacity each minute of a week (Monday 00:00 first) once its scheduled actions run, each
    moving the capacity into its limits: simulated over two weeks, the second kept."""
    at: dict[int, tuple[int, int]] = {}
    for c in changes:
        if c.resource == resource:
            for t in cron_times(c.cron):
                at[t] = (c.minimum, c.maximum)
    capacity, week = start, []
    for lap in range(2):
        for minute in range(10080):
            if minute in at:
                low, high = at[minute]
                capacity = min(max(capacity, low), high)
            if lap == 1:
                week.append(capacity)
    return week


def instance_hours_per_week(changes: list[ScheduledChange], resource: str, start: int) -> float:
    """What a resource's capacity adds up to over a week (capacity x hours) once its scheduled actions run."""
    return sum(_capacity_by_minute(changes, resource, start)) / 60


def hours_any_up_per_week(changes: list[ScheduledChange], resources: list[str], starts: Mapping[str, int]) -> float:
    """Hours a week at least one of `resources` has capacity: a variant's instances are released (managed instance
    scaling to 0) only while every one of its inference components is at 0 copies."""
    weeks = [_capacity_by_minute(changes, r, starts[r]) for r in resources]
    return sum(1 for minute in range(10080) if any(w[minute] > 0 for w in weeks)) / 60
