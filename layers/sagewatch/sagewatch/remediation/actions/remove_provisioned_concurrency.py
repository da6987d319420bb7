"""remove-provisioned-concurrency: a new endpoint config without the serverless variant's ProvisionedConcurrency
(memory and maximum concurrency kept), the endpoint updated to it: billed per request again, with cold starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.remediation.configs import derived_config
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import PROVISIONED_CONCURRENCY_DIMENSION
from sagewatch.remediation.model import State
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import SCALING, ActionSpec
from sagewatch.remediation.scaling import limits_text
from sagewatch.remediation.updates import update_to

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


def check(request: RemediationRequest) -> str | None:
    return None


def plan(ctx: PlanContext) -> Draft:
    request, live = ctx.request, ctx.endpoint
    variants = live.variants()
    warm = sorted(n for n, v in variants.items() if v.get("provisioned_concurrency"))
    if request.variant is None and len(warm) != 1:
        raise RemediationError(
            f"endpoint {live.name} has provisioned concurrency on {len(warm)} variants"
            + (f" ({', '.join(warm)}): name one with variant" if warm else ": there is none to remove")
        )
    variant = ctx.variant() if request.variant else warm[0]
    if not variants[variant]["serverless"]:
        raise RemediationError(f"variant {variant} of {live.name} is not serverless: it has no provisioned concurrency")
    if not variants[variant].get("provisioned_concurrency"):
        raise RemediationError(f"variant {variant} of {live.name} has no provisioned concurrency to remove")
    target = live.scaling_target(variant, PROVISIONED_CONCURRENCY_DIMENSION)
    if target is not None:
        raise RemediationError(
            f"the provisioned concurrency of {live.name}/{variant} is auto scaled ({limits_text(target)}): deregister "
            f"its scalable target ({PROVISIONED_CONCURRENCY_DIMENSION}) first, or the autoscaler fights the change"
        )
    config = derived_config(live.config, variant, drop_provisioned_concurrency=True)
    was = variants[variant]["provisioned_concurrency"]
    update = update_to(
        State.of(live, configs=ctx.configs),
        config,
        retain=True,
        why=f"{variant} serverless without provisioned concurrency (was {was}; requests may meet cold starts)",
    )
    return Draft(update.steps, variant=variant, notes=update.notes, known_configs=update.configs)


SPEC = ActionSpec(
    name="remove-provisioned-concurrency",
    summary="a serverless variant without its provisioned concurrency (billed per request again)",
    fields=frozenset({"variant", "snapshot", "resume_from"}),
    check=check,
    plan=plan,
    iam=("sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint", "iam:PassRole", *SCALING),
)
