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

from sagewatch.catalog import Catalog

PROTECT_TAG = "sagewatch:protect"
NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # SageMaker's pattern for endpoint and variant names
Action = Literal[
    "delete-endpoint", "restore-endpoint", "remove-variant", "resize-variant", "set-instance-count", "scale-to-zero"
]
DESTRUCTIVE = {"delete-endpoint", "remove-variant", "resize-variant", "set-instance-count", "scale-to-zero"}


class RemediationError(ValueError):
    """The request cannot be carried out as asked; nothing was changed. The message says why."""


class Expectation(BaseModel):
    """What the finding saw; a real run is refused (unless forced) when the endpoint no longer matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    finding_id: str | None = None
    instance_type: str | None = None
    instance_count: StrictInt | None = Field(default=None, ge=0)
    idle: StrictBool = False


class RemediationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    endpoint: str = Field(pattern=NAME)
    variant: str | None = Field(default=None, pattern=NAME)
    instance_type: str | None = Field(default=None, pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    instance_count: StrictInt | None = Field(default=None, ge=1, le=100)
    snapshot: str | None = Field(default=None, min_length=1, max_length=1024)
    expect: Expectation | None = None
    dry_run: StrictBool = True
    confirm: str | None = None
    force: StrictBool = False
    request_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{8,128}$")

    @model_validator(mode="after")
    def _fields_for_the_action(self) -> RemediationRequest:
        a = self.action
        if a in ("remove-variant", "resize-variant", "set-instance-count") and not self.variant:
            raise ValueError(f"{a} needs variant")
        if a == "resize-variant" and not (self.instance_type or self.instance_count):
            raise ValueError("resize-variant needs instance_type and/or instance_count")
        if a == "set-instance-count" and self.instance_count is None:
            raise ValueError("set-instance-count needs instance_count")
        if a == "restore-endpoint" and not self.snapshot:
            raise ValueError("restore-endpoint needs snapshot (the key printed when the endpoint was deleted)")
        if a in ("delete-endpoint", "remove-variant", "scale-to-zero", "restore-endpoint") and (
            self.instance_type or self.instance_count is not None
        ):
            raise ValueError(f"{a} takes no instance_type or instance_count")
        return self


@dataclass(frozen=True)
class LiveEndpoint:
    """An endpoint as it is now: DescribeEndpoint, its config, tags and inference components."""

    description: dict[str, Any]
    config: dict[str, Any]
    tags: dict[str, str]
    components: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.description["EndpointName"])

    @property
    def status(self) -> str:
        return str(self.description.get("EndpointStatus", ""))

    @property
    def is_async(self) -> bool:
        return bool(self.config.get("AsyncInferenceConfig"))

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
        return out

    @property
    def protected(self) -> bool:
        return self.tags.get(PROTECT_TAG, "").strip().lower() == "true"


@dataclass(frozen=True)
class Plan:
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
        }


def monthly_cost(variants: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> float | None:
    total = 0.0
    for v in variants.values():
        if v.get("serverless") or not v.get("instance_count"):
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
        variants.append(v)
    doc["ProductionVariants"] = variants
    return doc


def new_config_name(current: str, now: datetime) -> str:
    return f"{current[:45]}-sw{now:%Y%m%d%H%M%S}"  # within SageMaker's 63 characters


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


def plan(request: RemediationRequest, live: LiveEndpoint, catalog: Catalog, now: datetime) -> Plan:
    """What the request would do to `live`. Raises RemediationError when it cannot be done."""
    before = live.variants()
    after = copy.deepcopy(before)

    def cost(variants: Mapping[str, Mapping[str, Any]]) -> float | None:
        return monthly_cost(variants, catalog)

    a, name = request.action, live.name
    if a == "delete-endpoint":
        steps = [f"snapshot {name} (endpoint, config, tags, {len(live.components)} inference components) to S3"]
        steps += [f"delete inference component {c['InferenceComponentName']}" for c in live.components]
        steps.append(
            f"delete endpoint {name} (endpoint config {live.description.get('EndpointConfigName')} and models are kept)"
        )
        return Plan(
            a, name, before, {}, cost(before), 0.0, steps, "restore-endpoint with the snapshot key this run returns"
        )
    variant = _variant(live, request)
    current = before[variant]
    if current["serverless"]:
        raise RemediationError(f"variant {variant} of {name} is serverless: nothing to resize or scale")
    if a == "set-instance-count":
        after[variant]["instance_count"] = request.instance_count
        return Plan(
            a,
            name,
            before,
            after,
            cost(before),
            cost(after),
            [
                f"UpdateEndpointWeightsAndCapacities {name}/{variant}: {current['instance_count']} -> "
                f"{request.instance_count} instances"
            ],
            f"set-instance-count back to {current['instance_count']}",
            variant=variant,
        )
    if a == "scale-to-zero":
        if not live.is_async:
            raise RemediationError(f"{name} is not asynchronous: only async endpoints can scale to zero instances")
        after[variant]["instance_count"] = 0
        return Plan(
            a,
            name,
            before,
            after,
            cost(before),
            cost(after),
            [
                f"auto scaling minimum capacity of {name}/{variant} -> 0 (maximum stays "
                f"{max(1, current['instance_count'])})",
                "step scaling policy and alarm on HasBacklogWithoutCapacity, to scale back up from zero "
                "when requests arrive",
            ],
            f"register the scalable target again with minimum capacity {max(1, current['instance_count'])}",
            variant=variant,
        )
    config_name = str(live.description.get("EndpointConfigName", live.config.get("EndpointConfigName")))
    new_name = new_config_name(config_name, now)
    if a == "remove-variant":
        if len(before) < 2:
            raise RemediationError(f"{variant} is the only variant of {name}: use delete-endpoint instead")
        del after[variant]
        config = derived_config(live.config, new_name, variant, remove=True)
    else:  # resize-variant
        instance_type = request.instance_type or current["instance_type"]
        if request.instance_type and catalog.get(request.instance_type) is None:
            raise RemediationError(f"instance type {request.instance_type} is not in the catalog of hosting types")
        count = request.instance_count or current["instance_count"]
        if (instance_type, count) == (current["instance_type"], current["instance_count"]):
            raise RemediationError(f"{name}/{variant} already runs {count} x {instance_type}")
        after[variant].update(instance_type=instance_type, instance_count=count)
        config = derived_config(live.config, new_name, variant, instance_type=instance_type, instance_count=count)
    return Plan(
        a,
        name,
        before,
        after,
        cost(before),
        cost(after),
        [
            f"create endpoint config {new_name} from {config_name} with {variant} "
            + (
                "removed"
                if a == "remove-variant"
                else f"as {after[variant]['instance_count']} x {after[variant]['instance_type']}"
            ),
            f"update endpoint {name} to {new_name} (SageMaker keeps serving during the update)",
        ],
        f"UpdateEndpoint {name} back to endpoint config {config_name} (kept)",
        new_config=config,
        variant=variant,
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
    return reasons


def describe_validation_error(exc: Exception) -> str:
    """A pydantic validation error as one line naming each bad field."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for err in errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "request"
        parts.append(f"{where}: {err.get('msg')}")
    return "invalid remediation request: " + "; ".join(parts)


REMEDIATION_SCHEMA = "sagewatch.remediation/1"


def remediation_notice(record: dict[str, Any]) -> tuple[str, list[str]]:
    """An executed remediation (the record announced on the topic) as a title and lines."""
    request, plan = record["request"], record["plan"]
    change = plan.get("monthly_cost_change_usd")
    lines = [f"- {step}" for step in record["done"]]
    lines += ["", f"Monthly cost change: {'unknown' if change is None else f'${change:,.2f}'}"]
    lines += [f"Roll back: {plan['rollback']}", f"Audit record: {record['audit']}"]
    if record.get("snapshot"):
        lines.append(f"Snapshot: {record['snapshot']}")
    return f"sagewatch carried out {request['action']} on {request['endpoint']}", lines
