"""Plain data the scan works on: endpoints as discovered, findings as reported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sagewatch import fields
from sagewatch.formats import iso_z, money
from sagewatch.owners import Owner

if TYPE_CHECKING:
    from sagewatch.catalog import Catalog


class Kind(StrEnum):
    IDLE = "idle"
    OVERSIZED = "oversized"
    SATURATED = "saturated"
    ERRORS = "errors"
    IMBALANCED = "imbalanced"
    SLOW = "slow"
    COLD_STARTS = "cold-starts"
    LATENCY_REGRESSION = "latency-regression"
    CACHE_THRASHING = "cache-thrashing"
    OFF_HOURS = "off-hours"
    BATCH_CANDIDATE = "batch-candidate"
    CONSOLIDATE = "consolidate"
    # will it keep serving? (sagewatch.serving)
    QUOTA_RISK = "quota-risk"
    STUCK_DEPLOYMENT = "stuck-deployment"
    BROKEN_DEPENDENCY = "broken-dependency"
    SCALE_FROM_ZERO = "scale-from-zero"
    # configuration hygiene (sagewatch.rules.hygiene)
    DATA_CAPTURE = "data-capture"
    PROVISIONED_CONCURRENCY = "provisioned-concurrency"
    SHADOW_VARIANT = "shadow-variant"


# What says whether an endpoint will keep serving, not what it costs: no cost, no saving (shown as "-")
SERVING_KINDS = frozenset({Kind.QUOTA_RISK, Kind.STUCK_DEPLOYMENT, Kind.BROKEN_DEPENDENCY, Kind.SCALE_FROM_ZERO})
# What costs money sagewatch cannot price (S3 storage of captured payloads): no cost, no saving either
UNPRICED_KINDS = frozenset({Kind.DATA_CAPTURE})


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Action(StrEnum):
    DELETE_ENDPOINT = "delete-endpoint"
    REMOVE_VARIANT = "remove-variant"
    SCALE_TO_ZERO = "scale-to-zero"
    RESIZE_VARIANT = "resize-variant"
    SCALE_OUT = "scale-out"
    SET_SCALING_LIMITS = "set-scaling-limits"
    REMOVE_PROVISIONED_CONCURRENCY = "remove-provisioned-concurrency"
    SCHEDULE_SCALING = "schedule-scaling"
    INVESTIGATE = "investigate"


@dataclass(frozen=True)
class DataCapture:
    """An endpoint config's DataCaptureConfig: what share of requests is written to S3, and where."""

    enabled: bool
    sampling_pct: float
    destination: str | None
    modes: tuple[str, ...] = ()  # Input, Output


@dataclass(frozen=True)
class ServerlessSpec:
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int = 0


@dataclass(frozen=True)
class ScalingPolicy:
    """An Application Auto Scaling policy on a variant."""

    name: str
    type: str  # TargetTrackingScaling | StepScaling
    target_value: float | None = None  # target tracking only
    metric: str | None = None  # predefined metric type (SageMakerVariantInvocationsPerInstance) or custom metric
    # step scaling: the metrics of the CloudWatch alarms that drive it (what brings a resource back from zero)
    alarm_metrics: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "target_value": self.target_value,
            "metric": self.metric,
        }
        if self.type == "StepScaling":
            doc["alarm_metrics"] = list(self.alarm_metrics)
        return doc


@dataclass(frozen=True)
class Autoscaling:
    """A variant's scalable target (sagemaker:variant:DesiredInstanceCount) and its policies."""

    min_capacity: int
    max_capacity: int
    policies: tuple[ScalingPolicy, ...] = ()

    @property
    def target_tracking(self) -> ScalingPolicy | None:
        return next((p for p in self.policies if p.type == "TargetTrackingScaling"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_capacity": self.min_capacity,
            "max_capacity": self.max_capacity,
            "policies": [p.to_dict() for p in self.policies],
        }


@dataclass(frozen=True)
class ManagedScaling:
    """Managed instance scaling of a variant that hosts inference components (ManagedInstanceScaling)."""

    enabled: bool
    min_instances: int | None = None
    max_instances: int | None = None


@dataclass(frozen=True)
class Variant:
    name: str
    instance_type: str | None  # None for serverless variants
    instance_count: int
    serverless: ServerlessSpec | None = None
    # True when the variant hosts inference components instead of a model (no ModelName in the config).
    uses_inference_components: bool = False
    inference_components: tuple[str, ...] = ()
    autoscaling: Autoscaling | None = None  # Application Auto Scaling on the variant's instance count
    managed_scaling: ManagedScaling | None = None  # inference-component endpoints only

    def monthly_cost(self, catalog: Catalog) -> float | None:
        """On-demand cost a month of what the variant runs now (None: not in the catalog). Serverless: its
        provisioned concurrency, billed used or not (per-request charges are not costed)."""
        if self.serverless is not None:
            return catalog.provisioned_concurrency_monthly_cost(
                self.serverless.memory_mb, self.serverless.provisioned_concurrency
            )
        spec = catalog.get(self.instance_type)
        return spec.monthly_cost(self.instance_count) if spec else None


@dataclass(frozen=True)
class Endpoint:
    name: str
    arn: str
    status: str
    creation_time: datetime
    last_modified_time: datetime
    config_name: str
    is_async: bool
    variants: tuple[Variant, ...]
    tags: dict[str, str] = field(default_factory=dict)
    # False when ListInferenceComponents failed: traffic of IC-hosting variants is then unknown.
    inference_components_known: bool = True
    # MetricsConfig.EnableEnhancedMetrics: utilization is also published per instance (and per GPU).
    enhanced_metrics: bool = False
    # DescribeEndpoint's FailureReason: on an InService endpoint, an update that failed and rolled back
    failure_reason: str | None = None
    data_capture: DataCapture | None = None
    # Application Auto Scaling of its inference components' copy counts, by component
    component_scaling: Mapping[str, Autoscaling] = field(default_factory=dict)
    # ShadowProductionVariants: instances that receive a copy of production's requests and answer no one
    shadow_variants: tuple[Variant, ...] = ()

    @property
    def history_start(self) -> datetime:
        """Metrics before this instant describe another deployment (or none)."""
        return max(self.creation_time, self.last_modified_time)


@dataclass(frozen=True)
class Skipped:
    endpoint: str
    reason: str
    status: str | None = None
    arn: str | None = None
    since: datetime | None = None  # LastModifiedTime: when it entered the state it is in
    failure_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "reason": self.reason, "status": self.status}


@dataclass(frozen=True)
class ScanError:
    operation: str
    code: str
    message: str
    endpoint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "operation": self.operation,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class Recommendation:
    action: Action
    instance_type: str | None
    instance_count: int | None
    summary: str
    # What the endpoint or variant would cost per month afterwards (None: unknown or unchanged).
    monthly_cost_usd: float | None = None
    # Auto scaling limits to set (set-scaling-limits), or that a resize carries over to the new type.
    min_capacity: int | None = None
    max_capacity: int | None = None
    # schedule-scaling: the scheduled actions to create (sagewatch.schedule); consolidate: the plan
    schedule: dict[str, Any] | None = None
    consolidation: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Recommendation:
        """Strict: every field of its type (fields.FieldError, a ValueError, names the one that is not)."""
        doc = fields.mapping(raw, "recommendation")
        return cls(
            action=Action(fields.required_text(doc.get("action"), "recommendation.action", limit=64)),
            instance_type=fields.text(doc.get("instance_type"), "recommendation.instance_type", optional=True),
            instance_count=fields.whole(doc.get("instance_count"), "recommendation.instance_count", optional=True),
            summary=fields.text(doc.get("summary", ""), "recommendation.summary", limit=2000, optional=True) or "",
            monthly_cost_usd=fields.number(
                doc.get("monthly_cost_usd"), "recommendation.monthly_cost_usd", optional=True
            ),
            min_capacity=fields.whole(doc.get("min_capacity"), "recommendation.min_capacity", optional=True),
            max_capacity=fields.whole(doc.get("max_capacity"), "recommendation.max_capacity", optional=True),
            schedule=_plan(doc.get("schedule"), "recommendation.schedule"),
            consolidation=_plan(doc.get("consolidation"), "recommendation.consolidation"),
        )

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "action": self.action.value,
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "monthly_cost_usd": self.monthly_cost_usd,
            "summary": self.summary,
        }
        if self.min_capacity is not None or self.max_capacity is not None:
            doc["min_capacity"], doc["max_capacity"] = self.min_capacity, self.max_capacity
        if self.schedule is not None:
            doc["schedule"] = self.schedule
        if self.consolidation is not None:
            doc["consolidation"] = self.consolidation
        return doc


def _plan(raw: object, name: str) -> dict[str, Any] | None:
    """A schedule or consolidation plan as a forwarded finding carries it: plain JSON, an object, or absent."""
    if raw is None:
        return None
    doc = fields.mapping(raw, name)
    fields.plain_json(doc, name)
    return dict(doc)


@dataclass(frozen=True)
class Finding:
    id: str
    kind: Kind
    severity: Severity
    endpoint: str
    variant: str | None
    inference_component: str | None
    instance_type: str | None
    instance_count: int | None
    evidence: dict[str, Any]
    recommendation: Recommendation
    monthly_cost_usd: float | None
    monthly_savings_usd: float | None
    owner: Owner = field(default_factory=Owner)  # who owns the endpoint (sagewatch.owners)
    # When the daily deep scan concluded it, for a finding an hourly scan carries (sagewatch.cadence); None:
    # judged by this scan
    as_of: datetime | None = None

    @property
    def where(self) -> str:
        """endpoint / variant / component, as a person reads it."""
        text = self.endpoint
        if self.variant:
            text += f" / {self.variant}"
        if self.inference_component:
            text += f" / component {self.inference_component}"
        return text

    @property
    def cost_increase_usd(self) -> float | None:
        """What the recommendation adds a month when it raises the cost (scale out a saturated endpoint)."""
        after, now = self.recommendation.monthly_cost_usd, self.monthly_cost_usd
        if after is None or now is None or (self.monthly_savings_usd or 0) > 0 or after <= now:
            return None
        return round(after - now, 2)

    def effect(self, *, bold: str = "") -> str:
        """ "saves $1,358/month", or "costs +$5,176/month" when the recommendation raises the cost (never
        "saves $0/month" for a change that costs money). `bold`: Slack's * around the figure."""
        if self.kind in SERVING_KINDS:
            return f"{bold}serving at risk{bold}"
        if self.kind in UNPRICED_KINDS:
            return f"{bold}S3 storage not priced{bold}"
        more = self.cost_increase_usd
        if more is not None:
            return f"the change costs {bold}+{money(more)}/month{bold}"
        return f"saves {bold}{money(self.monthly_savings_usd)}/month{bold}"

    def cost_text(self, *, bold: str = "", sep: str = "; ") -> str:
        """Costs $X/month; saves $Y/month (empty for a finding about serving, which has no cost to state)."""
        if self.kind in SERVING_KINDS | UNPRICED_KINDS:
            return ""
        return f"Costs {money(self.monthly_cost_usd)}/month{sep}{self.effect(bold=bold)}."

    def saving_cell(self) -> str:
        """The CHANGE/MO cell of a table, what the fix does to the monthly bill: -$1,358 (saves), +$5,176 (costs
        more), $0; "?" when unknown; "-" for kinds that are not about cost. A cost increase never reads as a saving."""
        if self.kind in SERVING_KINDS | UNPRICED_KINDS:
            return "-"
        more = self.cost_increase_usd
        if more is not None:
            return f"+{money(more)}"
        saved = self.monthly_savings_usd
        if not isinstance(saved, int | float):
            return "?"
        return f"-{money(saved)}" if saved > 0 else money(0)

    @property
    def size(self) -> str:
        """What it runs on, as a person reads it: 4 x ml.c5.xlarge, serverless, or a group's endpoints."""
        if self.kind is Kind.CONSOLIDATE:
            members = self.evidence.get("endpoints")
            return f"{len(members) if isinstance(members, list) else '?'} endpoints"
        if self.instance_type:
            return f"{self.instance_count} x {self.instance_type}"
        if self.instance_count is None:
            return "-"
        return "serverless" if self.instance_count == 0 else f"{self.instance_count} instances"

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Finding:
        """The Finding a to_dict() document describes (stored state, a digest read back, a member's event).
        Strict: a field of the wrong type, a number that is not finite or out of bounds, raises ValueError
        naming the field (fields.FieldError), so nothing downstream sorts, sums or renders it."""
        doc = fields.mapping(doc, "finding")
        evidence = fields.mapping(doc.get("evidence"), "evidence", optional=True)
        fields.plain_json(evidence, "evidence")
        return cls(
            id=fields.required_text(doc.get("id"), "id"),
            kind=Kind(fields.required_text(doc.get("kind"), "kind", limit=64)),
            severity=Severity(fields.required_text(doc.get("severity"), "severity", limit=64)),
            endpoint=fields.required_text(doc.get("endpoint"), "endpoint"),
            variant=fields.text(doc.get("variant"), "variant", optional=True),
            inference_component=fields.text(doc.get("inference_component"), "inference_component", optional=True),
            instance_type=fields.text(doc.get("instance_type"), "instance_type", limit=64, optional=True),
            instance_count=fields.whole(doc.get("instance_count"), "instance_count", optional=True),
            evidence=dict(evidence),
            recommendation=Recommendation.from_dict(doc.get("recommendation")),
            monthly_cost_usd=fields.number(doc.get("monthly_cost_usd"), "monthly_cost_usd", optional=True),
            # negative when the recommendation raises the cost (scale out a saturated endpoint)
            monthly_savings_usd=fields.number(
                doc.get("monthly_savings_usd"), "monthly_savings_usd", minimum=-fields.MONEY_MAX, optional=True
            ),
            owner=Owner.from_dict(doc.get("owner")),
            as_of=fields.instant(doc["as_of"], "as_of") if doc.get("as_of") is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "endpoint": self.endpoint,
            "variant": self.variant,
            "inference_component": self.inference_component,
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "evidence": self.evidence,
            "recommendation": self.recommendation.to_dict(),
            "monthly_cost_usd": self.monthly_cost_usd,
            "monthly_savings_usd": self.monthly_savings_usd,
            "owner": self.owner.to_dict(),
        }
        if self.as_of is not None:  # only on a carried finding: "as of the deep scan at ..."
            doc["as_of"] = iso_z(self.as_of, seconds=True)
        return doc


@dataclass
class Discovery:
    """What listing and describing the account's endpoints found."""

    endpoints: list[Endpoint] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)  # every endpoint that exists, whatever its state
    ignored: list[Endpoint] = field(default_factory=list)  # tagged sagewatch:ignore=true: not judged, still costed
    # InService endpoints whose endpoint config no longer exists: (endpoint, its ARN, the config's name)
    missing_configs: list[tuple[str, str, str]] = field(default_factory=list)
