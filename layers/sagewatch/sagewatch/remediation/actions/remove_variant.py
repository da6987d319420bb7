"""remove-variant: a new endpoint config without the variant, the endpoint updated to it. Every other variant keeps
its live instance count (RetainAllVariantProperties); an auto scaled variant is deregistered first, as AWS
requires of a variant an update removes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.remediation.configs import derived_config
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.model import State
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import SCALING, ActionSpec
from sagewatch.remediation.updates import update_to

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


def check(request: RemediationRequest) -> str | None:
    return None if request.variant else "remove-variant needs variant"


def plan(ctx: PlanContext) -> Draft:
    live, variant = ctx.endpoint, ctx.variant()
    if len(live.variants()) < 2:
        raise RemediationError(f"{variant} is the only variant of {live.name}: use delete-endpoint instead")
    hosted = [str(c["InferenceComponentName"]) for c in live.components_of(variant)]
    if hosted:
        raise RemediationError(
            f"{live.name}/{variant} hosts inference components ({', '.join(hosted[:10])}): SageMaker cannot remove "
            "a variant that hosts them; delete or move them first"
        )
    config = derived_config(live.config, variant, remove=True)
    update = update_to(State.of(live, configs=ctx.configs), config, retain=True, why=f"without {variant}")
    return Draft(
        update.steps,
        variant=variant,
        notes=update.notes,
        known_configs=update.configs,
        rollback=f"restore-endpoint with the snapshot key this run returns (UpdateEndpoint back to {live.config_name}, "
        "which is kept, with its auto scaling)",
    )


SPEC = ActionSpec(
    name="remove-variant",
    summary="remove one variant (a new endpoint config without it; the others keep their counts)",
    fields=frozenset({"variant", "snapshot", "resume_from"}),
    check=check,
    plan=plan,
    iam=("sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint", "iam:PassRole", *SCALING),
)
