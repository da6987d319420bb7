"""From a request and the endpoint as read to the plan a dry run shows and a real run executes (pure).

An action's planner (sagewatch.remediation.actions) writes the calls; `build` puts in the waits, checks that AWS
would take every call in turn (model.sequence), prices the state before and the state the calls leave, and plans
the undo: the restore from the snapshot the real run takes first, against that predicted state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sagewatch.catalog import Catalog
from sagewatch.remediation.calls import Call, Step, digest, to_dicts
from sagewatch.remediation.configs import monthly_cost
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import LiveEndpoint, variant_resource
from sagewatch.remediation.model import State, sequence
from sagewatch.remediation.restore import restore_steps

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


@dataclass(frozen=True)
class PlanContext:
    """What a planner plans from: the request, the endpoint (as read, or as the run being resumed saw it), the
    catalog that prices it, the snapshot a restore brings back, and the endpoint configs that exist."""

    request: RemediationRequest
    live: LiveEndpoint | None
    catalog: Catalog
    snapshot: Mapping[str, Any] | None = None
    configs: frozenset[str] = frozenset()

    @property
    def endpoint(self) -> LiveEndpoint:
        if self.live is None:
            raise RemediationError(f"endpoint {self.request.endpoint} does not exist")
        return self.live

    def variant(self) -> str:
        """The variant the request names, or the endpoint's only one; refused when that is ambiguous, unknown, or
        serverless for an action that resizes or scales instances."""
        variants = self.endpoint.variants()
        if self.request.variant:
            if self.request.variant not in variants:
                raise RemediationError(
                    f"endpoint {self.endpoint.name} has no variant {self.request.variant!r} (it has "
                    f"{', '.join(sorted(variants))})"
                )
            return self.request.variant
        if len(variants) != 1:
            raise RemediationError(f"endpoint {self.endpoint.name} has {len(variants)} variants: name one with variant")
        return next(iter(variants))

    def instance_variant(self) -> str:
        variant = self.variant()
        if self.endpoint.variants()[variant]["serverless"]:
            raise RemediationError(
                f"variant {variant} of {self.endpoint.name} is serverless: nothing to resize or scale"
            )
        return variant


# (the variants the calls leave, the state they leave, the catalog) -> the monthly cost after
Priced = Callable[[dict[str, dict[str, Any]], State, Catalog], float | None]


@dataclass
class Draft:
    """A planner's answer: its calls, and what the plan says beside them."""

    calls: Sequence[Step]
    variant: str | None = None
    notes: list[str] = field(default_factory=list)
    accelerator_change: str | None = None
    # how the state the calls leave is priced when that is not simply its instances (the hours an off-hours
    # schedule keeps the instances, zero instances once an idle queue lets auto scaling take them down)
    priced: Priced | None = None
    # what each variant looks like after, beyond type and count (its auto scaling, its schedule)
    shown: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    rollback: str = ""
    undo: bool = True  # False: restore-endpoint (its undo is a delete)
    # documents of configs that exist and that the calls use without creating them (a restore's original config)
    known_configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionPlan:
    action: str
    endpoint: str
    before: dict[str, dict[str, Any]]
    after: dict[str, dict[str, Any]]
    monthly_cost_before_usd: float | None
    monthly_cost_after_usd: float | None
    calls: list[Step]
    undo: list[Step]
    rollback: str
    variant: str | None = None
    notes: list[str] = field(default_factory=list)
    accelerator_change: str | None = None  # "NVIDIA GPU -> CPU" when a resize crosses accelerator kinds
    # what the endpoint is once the calls are done, as the model predicts it (State.footprint; not shown)
    expected: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def monthly_cost_change_usd(self) -> float | None:
        if self.monthly_cost_before_usd is None or self.monthly_cost_after_usd is None:
            return None
        return round(self.monthly_cost_after_usd - self.monthly_cost_before_usd, 2)

    @property
    def steps(self) -> list[str]:
        """The calls in words (the notice and Slack show these)."""
        return [s.why for s in self.calls] or ["nothing: the endpoint is already as asked"]

    @property
    def digest(self) -> str:
        return digest(self.calls)

    @property
    def new_config(self) -> dict[str, Any] | None:
        """The endpoint config the plan creates (the last, when it creates several)."""
        made = [s for s in self.calls if isinstance(s, Call) and s.operation == "CreateEndpointConfig"]
        return dict(made[-1].params) if made else None

    def to_dict(self) -> dict[str, Any]:
        config = self.new_config
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
            "calls": to_dicts(self.calls),
            "undo": to_dicts(self.undo),
            "digest": self.digest,
            "notes": self.notes,
            "rollback": self.rollback,
            "new_endpoint_config": config.get("EndpointConfigName") if config else None,
            "accelerator_change": self.accelerator_change,
        }


def _with_scaling(variants: dict[str, dict[str, Any]], state: State) -> dict[str, dict[str, Any]]:
    """Each instance variant with its auto scaling limits (None: it has none)."""
    for name, facts in variants.items():
        if not facts.get("serverless"):
            target = state.targets.get(variant_resource(state.name, name))
            facts["scaling"] = f"minimum {target['MinCapacity']}, maximum {target['MaxCapacity']}" if target else None
    return variants


def build(ctx: PlanContext, draft: Draft) -> ActionPlan:
    """The plan of `draft`'s calls on `ctx`'s endpoint: sequenced, checked, priced, with its undo."""
    request = ctx.request
    start = State.of(ctx.live, request.endpoint, ctx.configs)
    for name, doc in draft.known_configs.items():
        start.configs.setdefault(name, dict(doc))
    steps, end = sequence(start, draft.calls)
    before = _with_scaling(ctx.live.variants() if ctx.live is not None else {}, start)
    after = _with_scaling(end.variants() if end.exists and end.status != "Deleting" else {}, end)
    for variant, extra in draft.shown.items():
        if variant in after:
            after[variant] = {**after[variant], **extra}
    undo: list[Step] = []
    if draft.undo and ctx.live is not None:
        undo, _ = restore_steps(start, end, ctx.live.snapshot_document(""))
    return ActionPlan(
        request.action,
        request.endpoint,
        before,
        after,
        monthly_cost(before, ctx.catalog),
        draft.priced(after, end, ctx.catalog) if draft.priced else monthly_cost(after, ctx.catalog),
        steps,
        undo,
        draft.rollback or "restore-endpoint with the snapshot key this run returns (its calls are the plan's undo)",
        draft.variant,
        draft.notes,
        draft.accelerator_change,
        end.footprint(),
    )
