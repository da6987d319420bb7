"""Manual remediation: the request, its validation, and the plan (pure; sagewatch.aws.remediate acts).

Nothing here runs on a schedule. A person asks for one action on one endpoint; a dry run (the default)
returns the plan with before, after and the monthly cost change; a real run needs `confirm` equal to the
endpoint name and a `request_id`, and is refused for endpoints tagged sagewatch:protect=true.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from sagewatch.catalog import Accelerator, Catalog, accelerator_of

PROTECT_TAG = "sagewatch:protect"
NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # SageMaker's pattern for endpoint and variant names
Action = Literal[
    "delete-endpoint",
    "restore-endpoint",
    "remove-variant",
    "resize-variant",
    "set-instance-count",
    "set-scaling-limits",
    "scale-to-zero",
    "remove-provisioned-concurrency",
    "schedule-scaling",
]
DESTRUCTIVE = {
    "schedule-scaling",
    "delete-endpoint",
    "remove-variant",
    "resize-variant",
    "set-instance-count",
    "set-scaling-limits",
    "scale-to-zero",
    "remove-provisioned-concurrency",
}
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
PROVISIONED_CONCURRENCY_DIMENSION = "sagemaker:variant:DesiredProvisionedConcurrency"


class RemediationError(ValueError):
    """The request cannot be carried out as asked; nothing was changed. The message says why."""


class InvalidTargetError(RemediationError):
    """The request names something that does not exist (and sagewatch never removed): status `invalid`."""


class PartialChangeError(RemediationError):
    """An action stopped after it had changed something: what was done, and what is left. Unlike a refusal
    it is audited and announced, and the answer is status `partial` with the snapshot to resume from."""

    def __init__(self, message: str, done: list[str], left: list[str]):
        super().__init__(message)
        self.done = list(done)
        self.left = list(left)


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot as sagewatch took it: its key, the S3 version it wrote and the SHA-256 of its bytes. A
    restore reads exactly that version and checks the digest: a snapshot planted or rewritten by anyone
    else is refused."""

    key: str
    version_id: str | None
    sha256: str

    def to_dict(self) -> dict[str, str | None]:
        return {"key": self.key, "version_id": self.version_id, "sha256": self.sha256}


# Every string a request carries has a maximum length, checked before anything else (SageMaker's own limits
# where it has them): an answer, an audit record or a notice can then never grow past its budget.
INSTANCE_TYPE = r"^ml\.[a-z0-9-]+\.[a-z0-9]+$"
INSTANCE_TYPE_MAX = 32
FINDING_ID = r"^[A-Za-z0-9._:-]{1,64}$"
SNAPSHOT_MAX = 1024  # an S3 key
# Endpoint states a delete may act in. A deployment in progress (Creating, Updating, SystemUpdating,
# RollingBack) or a delete already under way is refused: someone is changing the endpoint.
DELETABLE_STATES = ("InService", "Failed", "OutOfService")


class Expectation(BaseModel):
    """What the finding saw; a real run is refused (unless forced) when the endpoint no longer matches."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    finding_id: str | None = Field(default=None, max_length=64, pattern=FINDING_ID)
    instance_type: str | None = Field(default=None, max_length=INSTANCE_TYPE_MAX, pattern=INSTANCE_TYPE)
    instance_count: StrictInt | None = Field(default=None, ge=0, le=10_000)
    idle: StrictBool = False


OFFHOURS_PREFIX = "sagewatch-offhours-"
# The cron sagewatch writes (sagewatch.schedule.cron): minute, hour, every day or a list of weekdays.
CRON = (
    r"^cron\((?:[0-5]?[0-9]) (?:[01]?[0-9]|2[0-3]) "
    r"(?:\* \* \?|\? \* (?:MON|TUE|WED|THU|FRI|SAT|SUN)(?:,(?:MON|TUE|WED|THU|FRI|SAT|SUN)){0,6}) \*\)$"
)
TIMEZONE = r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,2}$"


class ScheduledActionSpec(BaseModel):
    """One scheduled action of an off-hours schedule (a finding's recommendation.schedule.scheduled_actions[])."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    name: str = Field(max_length=128, pattern=r"^sagewatch-offhours-[A-Za-z0-9-]{1,100}$")
    schedule: str = Field(max_length=80, pattern=CRON)
    # -1: the limits the scalable target has now (an inference component's working-hours copies)
    min_capacity: StrictInt = Field(ge=-1, le=1000)
    max_capacity: StrictInt = Field(ge=-1, le=1000)
    resource_id: str | None = Field(
        default=None,
        max_length=160,
        pattern=r"^(endpoint/[A-Za-z0-9-]{1,63}/variant/[A-Za-z0-9-]{1,63}|inference-component/[A-Za-z0-9-]{1,63})$",
    )
    scalable_dimension: (
        Literal["sagemaker:variant:DesiredInstanceCount", "sagemaker:inference-component:DesiredCopyCount"] | None
    ) = None
    timezone: str | None = Field(default=None, max_length=64, pattern=TIMEZONE)


class ScheduleSpec(BaseModel):
    """schedule-scaling's schedule: a finding's recommendation.schedule as it is, or its timezone and actions."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    timezone: str = Field(max_length=64, pattern=TIMEZONE)
    scheduled_actions: list[ScheduledActionSpec] = Field(min_length=2, max_length=30)
    # what the finding said; informational (the plan works the cost out from the actions themselves)
    min_capacity: StrictInt | None = Field(default=None, ge=0, le=1000)
    max_capacity: StrictInt | None = Field(default=None, ge=0, le=1000)
    hours_per_week: StrictInt | None = Field(default=None, ge=0, le=168)
    monthly_savings_usd: float | None = Field(default=None, ge=0, le=1e9)
    note: str | None = Field(default=None, max_length=1000)


class RemediationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    action: Action
    endpoint: str = Field(max_length=63, pattern=NAME)
    variant: str | None = Field(default=None, max_length=63, pattern=NAME)
    instance_type: str | None = Field(default=None, max_length=INSTANCE_TYPE_MAX, pattern=INSTANCE_TYPE)
    instance_count: StrictInt | None = Field(default=None, ge=1, le=100)
    min_capacity: StrictInt | None = Field(default=None, ge=0, le=1000)  # set-scaling-limits
    max_capacity: StrictInt | None = Field(default=None, ge=1, le=1000)
    snapshot: str | None = Field(default=None, min_length=1, max_length=SNAPSHOT_MAX)
    schedule: ScheduleSpec | None = None  # schedule-scaling
    expect: Expectation | None = None
    dry_run: StrictBool = True
    confirm: str | None = Field(default=None, max_length=63)
    force: StrictBool = False
    # resize-variant across CPU / NVIDIA GPU / Inferentia / Trainium: a model built for one rarely runs on another
    allow_accelerator_change: StrictBool = False
    request_id: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9._:-]{8,128}$")

    @model_validator(mode="after")
    def _fields_for_the_action(self) -> RemediationRequest:
        a = self.action
        if a in ("remove-variant", "resize-variant", "set-instance-count", "set-scaling-limits") and not self.variant:
            raise ValueError(f"{a} needs variant")
        if a == "set-scaling-limits":
            if self.min_capacity is None or self.max_capacity is None:
                raise ValueError("set-scaling-limits needs min_capacity and max_capacity")
            if self.min_capacity > self.max_capacity:
                raise ValueError(f"min_capacity {self.min_capacity} is above max_capacity {self.max_capacity}")
        elif self.min_capacity is not None or self.max_capacity is not None:
            raise ValueError(f"{a} takes no min_capacity or max_capacity (set-scaling-limits does)")
        if a == "resize-variant" and not (self.instance_type or self.instance_count):
            raise ValueError("resize-variant needs instance_type and/or instance_count")
        if a == "set-instance-count" and self.instance_count is None:
            raise ValueError("set-instance-count needs instance_count")
        _schedule_only_for_schedule_scaling(a, self.schedule)
        if a == "restore-endpoint" and not self.snapshot:
            raise ValueError("restore-endpoint needs snapshot (the key printed when the endpoint was deleted)")
        if a in (
            "delete-endpoint",
            "remove-variant",
            "scale-to-zero",
            "restore-endpoint",
            "remove-provisioned-concurrency",
            "schedule-scaling",
        ) and (self.instance_type or self.instance_count is not None):
            raise ValueError(f"{a} takes no instance_type or instance_count")
        return self


def _schedule_only_for_schedule_scaling(action: str, schedule: ScheduleSpec | None) -> None:
    if action == "schedule-scaling" and schedule is None:
        raise ValueError("schedule-scaling needs schedule (a finding's recommendation.schedule)")
    if action != "schedule-scaling" and schedule is not None:
        raise ValueError(f"{action} takes no schedule (schedule-scaling does)")


@dataclass(frozen=True)
class LiveEndpoint:
    """An endpoint as it is now: DescribeEndpoint, its config, tags and inference components."""

    description: dict[str, Any]
    config: dict[str, Any]
    tags: dict[str, str]
    components: list[dict[str, Any]] = field(default_factory=list)
    # Application Auto Scaling on the variants: DescribeScalableTargets / DescribeScalingPolicies items
    scalable_targets: list[dict[str, Any]] = field(default_factory=list)
    scaling_policies: list[dict[str, Any]] = field(default_factory=list)
    scheduled_actions: list[dict[str, Any]] = field(default_factory=list)  # DescribeScheduledActions items

    @property
    def name(self) -> str:
        return str(self.description["EndpointName"])

    @property
    def status(self) -> str:
        return str(self.description.get("EndpointStatus", ""))

    @property
    def is_async(self) -> bool:
        return bool(self.config.get("AsyncInferenceConfig"))

    @property
    def config_name(self) -> str:
        return str(self.description.get("EndpointConfigName", self.config.get("EndpointConfigName")))

    def config_variant(self, variant: str) -> dict[str, Any]:
        return next((v for v in self.config.get("ProductionVariants", []) if v.get("VariantName") == variant), {})

    def variants(self) -> dict[str, dict[str, Any]]:
        """variant -> {instance_type, instance_count} (current counts, config types)."""
        live = {v["VariantName"]: v for v in self.description.get("ProductionVariants", [])}
        out = {}
        for conf in self.config.get("ProductionVariants", []):
            name = conf["VariantName"]
            count = live.get(name, {}).get("CurrentInstanceCount", conf.get("InitialInstanceCount", 0))
            out[name] = {
                "instance_type": conf.get("InstanceType"),
                "instance_count": int(count or 0),
                "serverless": bool(conf.get("ServerlessConfig")),
            }
            serverless = conf.get("ServerlessConfig") or {}
            if serverless:
                # the live provisioned concurrency when DescribeEndpoint has it (auto scaling may have moved it)
                now = live.get(name, {}).get("CurrentServerlessConfig") or serverless
                out[name]["memory_mb"] = int(serverless.get("MemorySizeInMB") or 0)
                out[name]["provisioned_concurrency"] = int(now.get("ProvisionedConcurrency") or 0)
        return out

    def scaling_target(self, variant: str, dimension: str = VARIANT_DIMENSION) -> dict[str, Any] | None:
        resource = f"endpoint/{self.name}/variant/{variant}"
        dimensions: tuple[str | None, ...] = (None, dimension) if dimension == VARIANT_DIMENSION else (dimension,)
        return next(
            (
                t
                for t in self.scalable_targets
                if t.get("ResourceId") == resource and t.get("ScalableDimension") in dimensions
            ),
            None,
        )

    @property
    def protected(self) -> bool:
        return self.tags.get(PROTECT_TAG, "").strip().lower() == "true"


@dataclass(frozen=True)
class ActionPlan:
    action: str
    endpoint: str
    before: dict[str, dict[str, Any]]
    after: dict[str, dict[str, Any]]
    monthly_cost_before_usd: float | None
    monthly_cost_after_usd: float | None
    steps: list[str]
    rollback: str
    new_config: dict[str, Any] | None = None  # CreateEndpointConfig input, for resize/remove
    variant: str | None = None
    accelerator_change: str | None = None  # "NVIDIA GPU -> CPU" when a resize crosses accelerator kinds

    @property
    def monthly_cost_change_usd(self) -> float | None:
        if self.monthly_cost_before_usd is None or self.monthly_cost_after_usd is None:
            return None
        return round(self.monthly_cost_after_usd - self.monthly_cost_before_usd, 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "endpoint": self.endpoint,
            "variant": self.variant,
            "before": self.before,
            "after": self.after,
            "monthly_cost_before_usd": self.monthly_cost_before_usd,
            "monthly_cost_after_usd": self.monthly_cost_after_usd,
            "monthly_cost_change_usd": self.monthly_cost_change_usd,
            "steps": self.steps,
            "rollback": self.rollback,
            "new_endpoint_config": self.new_config.get("EndpointConfigName") if self.new_config else None,
            "accelerator_change": self.accelerator_change,
        }


def monthly_cost(variants: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> float | None:
    total = 0.0
    for v in variants.values():
        if v.get("serverless"):
            warm = catalog.provisioned_concurrency_monthly_cost(
                int(v.get("memory_mb") or 0), int(v.get("provisioned_concurrency") or 0)
            )
            if warm is None:
                return None
            total += warm
            continue
        if not v.get("instance_count"):
            continue
        spec = catalog.get(v.get("instance_type"))
        if spec is None:
            return None
        total += spec.monthly_cost(int(v["instance_count"]))
    return round(total, 2)


def derived_config(
    config: Mapping[str, Any],
    new_name: str,
    variant: str,
    *,
    remove: bool = False,
    instance_type: str | None = None,
    instance_count: int | None = None,
    managed_minimum: int | None = None,
    managed_maximum: int | None = None,
    drop_provisioned_concurrency: bool = False,
) -> dict[str, Any]:
    """CreateEndpointConfig input: the live config whole (data capture, async, KMS, network...) with one
    variant changed or removed. Configs are immutable, so the old one stays for rolling back."""
    # Read-only fields go, and so do empty structures: describe may return them, create refuses them.
    doc = {
        k: copy.deepcopy(v)
        for k, v in config.items()
        if k not in ("EndpointConfigArn", "CreationTime", "ResponseMetadata") and v not in (None, {}, [])
    }
    doc["EndpointConfigName"] = new_name
    variants = []
    for v in doc.get("ProductionVariants", []):
        if v["VariantName"] == variant:
            if remove:
                continue
            if instance_type:
                v["InstanceType"] = instance_type
            if instance_count:
                v["InitialInstanceCount"] = instance_count
            if drop_provisioned_concurrency and v.get("ServerlessConfig"):
                v["ServerlessConfig"].pop("ProvisionedConcurrency", None)
            if managed_minimum is not None:
                v["ManagedInstanceScaling"] = {
                    "Status": "ENABLED",
                    "MinInstanceCount": managed_minimum,
                    "MaxInstanceCount": max(1, managed_maximum or 1),
                }
        variants.append(v)
    doc["ProductionVariants"] = variants
    return doc


def new_config_name(current: str, now: datetime) -> str:
    return f"{current[:45]}-sw{now:%Y%m%d%H%M%S}"  # within SageMaker's 63 characters


def restore_config(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """CreateEndpointConfig input that brings back what was running when the snapshot was taken: the config
    with each variant's current instance count, weight and managed instance scaling as its initial ones. The
    snapshot's own config when nothing changed since it was created; else a derived one whose name comes from
    the snapshot's time, so that running the same restore again finds it instead of making another."""
    config = snapshot["endpoint_config"]
    running = {v.get("VariantName"): v for v in snapshot["endpoint"].get("ProductionVariants", [])}
    doc = {
        k: copy.deepcopy(v)
        for k, v in config.items()
        if k not in ("EndpointConfigArn", "CreationTime", "ResponseMetadata") and v not in (None, {}, [])
    }
    changed = False
    for v in doc.get("ProductionVariants", []):
        now = running.get(v["VariantName"], {})
        for field_now, field_config in (
            ("CurrentInstanceCount", "InitialInstanceCount"),
            ("CurrentWeight", "InitialVariantWeight"),
            ("ManagedInstanceScaling", "ManagedInstanceScaling"),
        ):
            value = now.get(field_now)
            if value is not None and not v.get("ServerlessConfig") and v.get(field_config) != value:
                v[field_config] = value
                changed = True
    if changed:
        taken = datetime.fromisoformat(str(snapshot.get("taken_at")))
        doc["EndpointConfigName"] = new_config_name(str(config["EndpointConfigName"]), taken)
    return doc


ACCELERATOR_NAMES = {
    Accelerator.CPU: "CPU",
    Accelerator.NVIDIA: "NVIDIA GPU",
    Accelerator.INFERENTIA: "AWS Inferentia",
    Accelerator.TRAINIUM: "AWS Trainium",
}


def accelerator_change(current: str | None, new: str | None, catalog: Catalog) -> str | None:
    """ "NVIDIA GPU -> CPU" when `new` runs on another accelerator kind than `current`, else None."""
    if not current or not new:
        return None
    spec_now, spec_new = catalog.get(current), catalog.get(new)
    before = spec_now.accelerator if spec_now else accelerator_of(current)
    after = spec_new.accelerator if spec_new else accelerator_of(new)
    if before is after:
        return None
    return f"{ACCELERATOR_NAMES.get(before, str(before))} -> {ACCELERATOR_NAMES.get(after, str(after))}"


def _variant(live: LiveEndpoint, request: RemediationRequest) -> str:
    variants = live.variants()
    if request.variant:
        if request.variant not in variants:
            raise RemediationError(
                f"endpoint {live.name} has no variant {request.variant!r} (it has {', '.join(sorted(variants))})"
            )
        return request.variant
    if len(variants) != 1:
        raise RemediationError(f"endpoint {live.name} has {len(variants)} variants: name one with variant")
    return next(iter(variants))


def _resize_target(
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


def plan_action(request: RemediationRequest, live: LiveEndpoint, catalog: Catalog, now: datetime) -> ActionPlan:
    """What the request would do to `live`. Raises RemediationError when it cannot be done."""
    if request.action == "delete-endpoint":
        return _plan_delete(live, catalog)
    if request.action == "remove-provisioned-concurrency":
        return _plan_remove_provisioned_concurrency(request, live, catalog, now)
    variant = _variant(live, request)
    if live.variants()[variant]["serverless"]:
        raise RemediationError(f"variant {variant} of {live.name} is serverless: nothing to resize or scale")
    planners = {
        "schedule-scaling": _plan_schedule,
        "set-instance-count": _plan_instance_count,
        "set-scaling-limits": _plan_scaling_limits,
        "scale-to-zero": _plan_scale_to_zero,
    }
    planner = planners.get(request.action, _plan_new_config)
    return planner(request, live, variant, catalog, now)


def _variant_plan(
    request: RemediationRequest,
    live: LiveEndpoint,
    variant: str,
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    catalog: Catalog,
    steps: list[str],
    rollback: str,
    *,
    new_config: dict[str, Any] | None = None,
    accelerator_change: str | None = None,
) -> ActionPlan:
    """A plan that changes one variant, with the monthly cost before and after priced by the catalog."""
    return ActionPlan(
        request.action,
        live.name,
        before,
        after,
        monthly_cost(before, catalog),
        monthly_cost(after, catalog),
        steps,
        rollback,
        new_config=new_config,
        variant=variant,
        accelerator_change=accelerator_change,
    )


def _plan_remove_provisioned_concurrency(
    request: RemediationRequest, live: LiveEndpoint, catalog: Catalog, now: datetime
) -> ActionPlan:
    """A new endpoint config without the variant's ProvisionedConcurrency: the endpoint stays, billed per request
    (with cold starts again)."""
    variants = live.variants()
    warm = sorted(n for n, v in variants.items() if v.get("provisioned_concurrency"))
    if request.variant is None and len(warm) != 1:
        raise RemediationError(
            f"endpoint {live.name} has provisioned concurrency on {len(warm)} variants"
            + (f" ({', '.join(warm)}): name one with variant" if warm else ": there is none to remove")
        )
    variant = _variant(live, request) if request.variant else warm[0]
    if not variants[variant]["serverless"]:
        raise RemediationError(f"variant {variant} of {live.name} is not serverless: it has no provisioned concurrency")
    if not variants[variant].get("provisioned_concurrency"):
        raise RemediationError(f"variant {variant} of {live.name} has no provisioned concurrency to remove")
    target = live.scaling_target(variant, PROVISIONED_CONCURRENCY_DIMENSION)
    if target is not None:
        raise RemediationError(
            f"the provisioned concurrency of {live.name}/{variant} is auto scaled ({_limits(target)}): deregister its "
            f"scalable target ({PROVISIONED_CONCURRENCY_DIMENSION}) first, or the autoscaler fights the change"
        )
    before = variants
    after = copy.deepcopy(before)
    after[variant]["provisioned_concurrency"] = 0
    config_name, new_name = live.config_name, new_config_name(live.config_name, now)
    config = derived_config(live.config, new_name, variant, drop_provisioned_concurrency=True)
    return _variant_plan(
        request,
        live,
        variant,
        before,
        after,
        catalog,
        [
            f"create endpoint config {new_name} from {config_name} with {variant} serverless without provisioned "
            f"concurrency (was {before[variant]['provisioned_concurrency']})",
            f"update endpoint {live.name} to {new_name} (SageMaker keeps serving during the update; requests "
            "may meet cold starts afterwards)",
        ],
        f"UpdateEndpoint {live.name} back to endpoint config {config_name} (kept)",
        new_config=config,
    )


def _plan_delete(live: LiveEndpoint, catalog: Catalog) -> ActionPlan:
    name, before = live.name, live.variants()
    if live.status not in DELETABLE_STATES:
        raise RemediationError(
            f"endpoint {name} is {live.status}: a deployment or delete is in progress; sagewatch deletes only "
            f"{', '.join(DELETABLE_STATES)} endpoints (try again when it is one)"
        )
    steps = [
        f"snapshot {name} (endpoint, config, tags, {len(live.components)} inference components, "
        f"{len(live.scalable_targets)} auto scaling targets) to S3"
    ]
    steps += [f"delete inference component {c['InferenceComponentName']}" for c in live.components]
    steps.append(
        f"delete endpoint {name} (endpoint config {live.description.get('EndpointConfigName')} and models are kept)"
    )
    return ActionPlan(
        "delete-endpoint",
        name,
        before,
        {},
        monthly_cost(before, catalog),
        0.0,
        steps,
        "restore-endpoint with the snapshot key this run returns",
    )


def _limits(target: Mapping[str, Any]) -> str:
    return f"minimum {target.get('MinCapacity')}, maximum {target.get('MaxCapacity')}"


def _plan_instance_count(
    request: RemediationRequest, live: LiveEndpoint, variant: str, catalog: Catalog, now: datetime
) -> ActionPlan:
    target = live.scaling_target(variant)
    if target is not None:
        raise RemediationError(
            f"{live.name}/{variant} is auto scaled ({_limits(target)}): the autoscaler would undo a new instance "
            "count; use set-scaling-limits to change the limits instead"
        )
    before = live.variants()
    after = copy.deepcopy(before)
    after[variant]["instance_count"] = request.instance_count
    current = before[variant]["instance_count"]
    return _variant_plan(
        request,
        live,
        variant,
        before,
        after,
        catalog,
        [f"UpdateEndpointWeightsAndCapacities {live.name}/{variant}: {current} -> {request.instance_count} instances"],
        f"set-instance-count back to {current}",
    )


def _plan_scaling_limits(
    request: RemediationRequest, live: LiveEndpoint, variant: str, catalog: Catalog, now: datetime
) -> ActionPlan:
    low, high = int(request.min_capacity or 0), int(request.max_capacity or 1)
    if low == 0 and not live.is_async:
        raise RemediationError(
            f"{live.name} is not asynchronous: a real-time variant cannot scale to a minimum of 0 instances"
        )
    target = live.scaling_target(variant)
    before = live.variants()
    after = copy.deepcopy(before)
    current = before[variant]["instance_count"]
    after[variant]["instance_count"] = min(max(current, low), high)  # where the autoscaler moves it at once
    before[variant]["scaling"] = _limits(target) if target else None
    after[variant]["scaling"] = f"minimum {low}, maximum {high}"
    rollback = (
        f"set-scaling-limits back to {target.get('MinCapacity')}-{target.get('MaxCapacity')}"
        if target
        else "DeregisterScalableTarget (the variant had no auto scaling)"
    )
    return _variant_plan(
        request,
        live,
        variant,
        before,
        after,
        catalog,
        [
            f"RegisterScalableTarget endpoint/{live.name}/variant/{variant}: "
            + (f"{_limits(target)} -> " if target else "")
            + f"minimum {low}, maximum {high} (its scaling policies are kept)"
        ],
        rollback,
    )


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


def schedule_changes(request: RemediationRequest, live: LiveEndpoint, variant: str) -> list[ScheduledChange]:
    """The request's scheduled actions on `live`, each on a resource of this endpoint's variant, its limits
    resolved (-1: the scalable target's now, else the variant's count or the component's copies). Raises
    RemediationError naming what is wrong."""
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
        out.append(change)
    names = [(c.resource, c.name) for c in out]
    if len(set(names)) != len(names):
        raise RemediationError("the schedule names one scheduled action twice on the same resource")
    return out


def _resource_of(
    action: ScheduledActionSpec, live: LiveEndpoint, variant: str
) -> tuple[str, str, int, dict[str, Any] | None]:
    """(resource id, dimension, capacity now, its scalable target) of an action: the variant or a component."""
    ours = f"endpoint/{live.name}/variant/{variant}"
    resource = action.resource_id or ours
    components = {str(c["InferenceComponentName"]): c for c in live.components if c.get("VariantName") == variant}
    if resource.startswith("inference-component/"):
        component = resource.split("/", 1)[1]
        if component not in components:
            raise RemediationError(
                f"{resource} is not an inference component of {live.name}/{variant}"
                + (f" (it has {', '.join(sorted(components))})" if components else " (it hosts none)")
            )
        dimension = COMPONENT_DIMENSION
        runtime = components[component].get("RuntimeConfig") or {}
        now = int(runtime.get("CurrentCopyCount") or runtime.get("DesiredCopyCount") or 1)
        target = _component_target(live, resource)
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


def _component_target(live: LiveEndpoint, resource: str) -> dict[str, Any] | None:
    return next((t for t in live.scalable_targets if t.get("ResourceId") == resource), None)


def _cron_times(cron: str) -> list[int]:
    """Minutes of the week (Monday 00:00 = 0) a cron written by sagewatch fires at (CRON's shape)."""
    fields_ = cron[len("cron(") : -1].split()
    minute, hour, dow = int(fields_[0]), int(fields_[1]), fields_[4]
    days = range(7) if dow == "?" else [_WEEKDAYS.index(d) for d in dow.split(",")]
    return [d * 1440 + hour * 60 + minute for d in days]


_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _capacity_by_minute(changes: list[ScheduledChange], resource: str, start: int) -> list[int]:
    """A resource's capacity each minute of a week (Monday 00:00 first) once its scheduled actions run, each
    moving the capacity into its limits: simulated over two weeks, the second kept."""
    at: dict[int, tuple[int, int]] = {}
    for c in changes:
        if c.resource == resource:
            for t in _cron_times(c.cron):
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


def _plan_schedule(
    request: RemediationRequest, live: LiveEndpoint, variant: str, catalog: Catalog, now: datetime
) -> ActionPlan:
    """Off-hours schedule: Application Auto Scaling scheduled actions on the variant (or its components), the
    scalable target registered first where there is none (existing limits and policies kept). Refused where
    other scheduled actions exist on those resources (they would fight); sagewatch's own are replaced."""
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
    before = live.variants()
    after = copy.deepcopy(before)
    current = before[variant]
    spec = catalog.get(current["instance_type"])
    steps = []
    for resource in resources:
        target = _component_target(live, resource)
        ups = [c for c in changes if c.resource == resource]
        if target is None:
            high = max(ups, key=lambda c: c.minimum)
            steps.append(
                f"RegisterScalableTarget {resource}: minimum {high.minimum}, maximum {high.maximum} (the working-hours "
                "limits; it had no auto scaling)"
            )
        else:
            steps.append(f"keep the scalable target of {resource} ({_limits(target)}) and its scaling policies")
        steps += [
            f"PutScheduledAction {c.name} on {resource}: {c.cron} {c.timezone} -> "
            f"minimum {c.minimum}, maximum {c.maximum}"
            for c in ups
        ]
    stale = [
        f"DeleteScheduledAction {a.get('ScheduledActionName')} on {a.get('ResourceId')} (an earlier sagewatch schedule)"
        for a in live.scheduled_actions
        if a.get("ResourceId") in resources
        and (a.get("ResourceId"), a.get("ScheduledActionName")) not in {(c.resource, c.name) for c in changes}
    ]
    steps += stale
    ours = f"endpoint/{live.name}/variant/{variant}"
    before[variant]["schedule"] = None
    after[variant]["schedule"] = (
        f"{len(changes)} scheduled actions ({request.schedule.timezone if request.schedule else 'UTC'})"
    )
    cost_before = monthly_cost(before, catalog)
    cost_after = cost_before
    if spec is not None and any(c.resource == ours for c in changes):
        hours = instance_hours_per_week(changes, ours, int(current["instance_count"]))
        cost_after = round(
            (cost_before or 0)
            - spec.monthly_cost(int(current["instance_count"]))
            + spec.price_per_hour_usd * hours * 730 / 168,
            2,
        )
        after[variant]["instance_hours_per_week"] = round(hours, 1)
    elif (
        spec is not None and live.config_variant(variant).get("ManagedInstanceScaling", {}).get("MinInstanceCount") == 0
    ):
        # components at 0 copies release every instance (managed instance scaling to 0): the instances run only
        # the hours some component has a copy
        comp = [
            f"inference-component/{c['InferenceComponentName']}"
            for c in live.components
            if c.get("VariantName") == variant
        ]
        copies = {r: max([c.maximum for c in changes if c.resource == r], default=1) for r in comp}
        up = hours_any_up_per_week(changes, comp, {r: max(1, copies[r]) for r in comp})
        cost_after = round((cost_before or 0) * up / 168, 2)
        after[variant]["instance_hours_per_week"] = round(up * int(current["instance_count"]), 1)
    return ActionPlan(
        request.action,
        live.name,
        before,
        after,
        cost_before,
        cost_after,
        steps,
        "restore-endpoint with the snapshot key this run returns: it removes the sagewatch-offhours-* actions and "
        "puts the scaling limits and instance count back",
        variant=variant,
    )


def _plan_scale_to_zero(
    request: RemediationRequest, live: LiveEndpoint, variant: str, catalog: Catalog, now: datetime
) -> ActionPlan:
    before = live.variants()
    after = copy.deepcopy(before)
    after[variant]["instance_count"] = 0
    current = max(1, before[variant]["instance_count"])
    if live.is_async:
        steps = [
            f"auto scaling minimum capacity of {live.name}/{variant} -> 0 (maximum stays {current})",
            "step scaling policy and alarm on HasBacklogWithoutCapacity, to scale back up from zero "
            "when requests arrive",
        ]
        rollback = f"register the scalable target again with minimum capacity {current}"
        config = None
    elif live.components and not live.config_variant(variant).get("ModelName"):
        config_name, new_name = live.config_name, new_config_name(live.config_name, now)
        config = derived_config(live.config, new_name, variant, managed_minimum=0, managed_maximum=current)
        components = [str(c["InferenceComponentName"]) for c in live.components if c.get("VariantName") == variant]
        steps = [
            f"create endpoint config {new_name} from {config_name} with managed instance scaling on {variant}: "
            f"minimum 0, maximum {current}",
            f"update endpoint {live.name} to {new_name} (SageMaker keeps serving during the update)",
        ]
        steps += [
            f"auto scaling of inference component {c}: minimum 0 copies, with a step scaling policy and an alarm "
            "on NoCapacityInvocationFailures to bring a copy back when a request arrives"
            for c in components
        ]
        rollback = f"UpdateEndpoint {live.name} back to endpoint config {config_name} (kept)"
    else:
        raise RemediationError(
            f"{live.name} can scale to zero only when it is asynchronous or hosts inference components"
        )
    return _variant_plan(request, live, variant, before, after, catalog, steps, rollback, new_config=config)


def _plan_new_config(
    request: RemediationRequest, live: LiveEndpoint, variant: str, catalog: Catalog, now: datetime
) -> ActionPlan:
    """remove-variant and resize-variant: a new endpoint config, the endpoint updated to it."""
    a, name = request.action, live.name
    before = live.variants()
    after = copy.deepcopy(before)
    current = before[variant]
    config_name, new_name = live.config_name, new_config_name(live.config_name, now)
    if a == "remove-variant":
        if len(before) < 2:
            raise RemediationError(f"{variant} is the only variant of {name}: use delete-endpoint instead")
        del after[variant]
        config = derived_config(live.config, new_name, variant, remove=True)
        change = "removed"
    else:  # resize-variant
        instance_type, count = _resize_target(request, f"{name}/{variant}", current, catalog)
        after[variant].update(instance_type=instance_type, instance_count=count)
        config = derived_config(live.config, new_name, variant, instance_type=instance_type, instance_count=count)
        change = f"as {count} x {instance_type}"
    return _variant_plan(
        request,
        live,
        variant,
        before,
        after,
        catalog,
        [
            f"create endpoint config {new_name} from {config_name} with {variant} {change}",
            f"update endpoint {name} to {new_name} (SageMaker keeps serving during the update)",
        ],
        f"UpdateEndpoint {name} back to endpoint config {config_name} (kept)",
        new_config=config,
        accelerator_change=accelerator_change(current["instance_type"], after[variant]["instance_type"], catalog)
        if a == "resize-variant"
        else None,
    )


def stale_reasons(request: RemediationRequest, live: LiveEndpoint, *, invocations: float | None) -> list[str]:
    """Why the endpoint no longer matches the finding the request came from (empty: it matches)."""
    expect = request.expect
    if expect is None:
        return []
    reasons = []
    variants = live.variants()
    target = variants.get(request.variant) if request.variant else None
    if target is None and len(variants) == 1:
        target = next(iter(variants.values()))
    if target is not None:
        if expect.instance_type and target["instance_type"] != expect.instance_type:
            reasons.append(f"instance type is now {target['instance_type']}, the finding saw {expect.instance_type}")
        if expect.instance_count is not None and target["instance_count"] != expect.instance_count:
            reasons.append(f"instance count is now {target['instance_count']}, the finding saw {expect.instance_count}")
    if expect.idle and invocations:
        reasons.append(f"it is no longer idle: {invocations:,.0f} invocations since the finding's window began")
    return reasons + _schedule_stale(request, live)


def _schedule_stale(request: RemediationRequest, live: LiveEndpoint) -> list[str]:
    """An off-hours schedule's working-hours limits are the finding's view of the variant: auto scaling that
    has other limits now (set since, or unseen) would be narrowed every morning."""
    if request.schedule is None:
        return []
    variants = live.variants()
    name = request.variant or (next(iter(variants)) if len(variants) == 1 else None)
    target = live.scaling_target(name) if name else None
    ours = f"endpoint/{live.name}/variant/{name}"
    ups = [a for a in request.schedule.scheduled_actions if (a.resource_id or ours) == ours]
    if target is None or not ups:
        return []
    up = max(ups, key=lambda a: a.min_capacity)
    now = (int(target.get("MinCapacity", 0)), int(target.get("MaxCapacity", 0)))
    if up.min_capacity == -1 or (up.min_capacity, up.max_capacity) == now:
        return []
    return [
        f"the schedule's working-hours limits {up.min_capacity}-{up.max_capacity} differ from the auto scaling "
        f"limits now ({now[0]}-{now[1]}): scan again for a schedule that keeps them"
    ]


def describe_validation_error(exc: Exception) -> str:
    """A pydantic validation error as one line naming each bad field."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    found = errors()
    for err in found[:10]:
        where = ".".join(str(p)[:64] for p in err.get("loc", ())) or "request"  # an unknown key can be huge
        parts.append(f"{where}: {str(err.get('msg'))[:200]}")
    more = f"; and {len(found) - 10} more" if len(found) > 10 else ""
    return "invalid remediation request: " + "; ".join(parts) + more


def restore_plan(
    request: RemediationRequest, live: LiveEndpoint | None, snapshot: dict[str, Any], catalog: Catalog
) -> ActionPlan:
    name = snapshot["endpoint"]["EndpointName"]
    if name != request.endpoint:
        raise RemediationError(f"snapshot {request.snapshot} is of endpoint {name}, not {request.endpoint}")
    config = restore_config(snapshot)
    target = LiveEndpoint(
        snapshot["endpoint"],
        config,
        snapshot.get("tags", {}),
        snapshot.get("inference_components", []),
        snapshot.get("scalable_targets", []),
        snapshot.get("scaling_policies", []),
    )
    before = live.variants() if live else {}
    after = target.variants()
    steps = []
    if not live:
        counts = ", ".join(f"{v} at {a['instance_count']} x {a['instance_type']}" for v, a in after.items())
        steps.append(f"create endpoint config {config['EndpointConfigName']} as it ran when deleted ({counts})")
        steps.append(f"create endpoint {name} with it and its tags")
    have = {t["ResourceId"] for t in live.scalable_targets} if live else set()
    steps += [
        f"register auto scaling of {t['ResourceId']} ({t['MinCapacity']}-{t['MaxCapacity']} instances) once "
        f"{name} is InService"
        for t in target.scalable_targets
        if t["ResourceId"] not in have
    ]
    have_policies = {(p["ResourceId"], p["PolicyName"]) for p in live.scaling_policies} if live else set()
    steps += [
        f"put scaling policy {p['PolicyName']} ({p.get('PolicyType')}) on {p['ResourceId']}"
        for p in target.scaling_policies
        if (p["ResourceId"], p["PolicyName"]) not in have_policies
    ]
    kept = {(a.get("ResourceId"), a.get("ScheduledActionName")) for a in snapshot.get("scheduled_actions") or []}
    steps += [
        f"delete scheduled action {a.get('ScheduledActionName')} on {a.get('ResourceId')}, and put the scaling "
        "limits and instance count back as the snapshot saw them"
        for a in (live.scheduled_actions if live else [])
        if str(a.get("ScheduledActionName", "")).startswith(OFFHOURS_PREFIX)
        and (a.get("ResourceId"), a.get("ScheduledActionName")) not in kept
    ]
    present = {c["InferenceComponentName"] for c in live.components} if live else set()
    steps += [
        f"create inference component {c['InferenceComponentName']} once {name} is InService"
        for c in target.components
        if c["InferenceComponentName"] not in present
    ]
    return ActionPlan(
        "restore-endpoint",
        name,
        before,
        after,
        monthly_cost(before, catalog),
        monthly_cost(after, catalog),
        steps or ["nothing: the endpoint is already restored"],
        f"delete-endpoint {name}",
    )


def check_real_run(
    request: RemediationRequest, live: LiveEndpoint | None, stale: list[str], the_plan: ActionPlan
) -> None:
    """Every rule a real run must pass; raises RemediationError naming the first one it breaks."""
    if request.confirm is None:
        raise RemediationError(
            f"a real run needs confirm: the endpoint name {request.endpoint!r} typed again "
            f"(--confirm {request.endpoint} on the CLI)"
        )
    if request.confirm != request.endpoint:
        raise RemediationError(
            f"confirm must be the endpoint name {request.endpoint!r} for a real run, not {request.confirm!r}"
        )
    if not request.request_id:
        raise RemediationError("a real run needs request_id (any unique string): a retried call then never acts twice")
    if request.action in DESTRUCTIVE and request.expect is None and not request.force:
        raise RemediationError(
            "nothing to re-check the endpoint against: pass expect (a finding's command does) or force true"
        )
    if stale and not request.force:
        raise RemediationError("the finding is stale: " + "; ".join(stale) + " (force true overrides)")
    if the_plan.accelerator_change and not (request.allow_accelerator_change and request.force):
        raise RemediationError(
            f"the resize changes the accelerator ({the_plan.accelerator_change}): a real run needs both "
            "allow_accelerator_change true and force true"
        )
    if live is not None and request.action != "delete-endpoint" and live.status != "InService":
        raise RemediationError(f"endpoint {live.name} is {live.status}: try again when it is InService")
