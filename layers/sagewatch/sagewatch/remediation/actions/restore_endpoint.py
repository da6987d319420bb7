"""restore-endpoint: the endpoint put back as a sealed snapshot saw it (sagewatch.remediation.restore)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.remediation.configs import restore_config
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import LiveEndpoint
from sagewatch.remediation.model import IN_PROGRESS, State
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import SCALING, ActionSpec
from sagewatch.remediation.restore import restore_steps

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


def check(request: RemediationRequest) -> str | None:
    if not request.snapshot:
        return "restore-endpoint needs snapshot (the key printed when the endpoint was deleted or changed)"
    return None


def plan(ctx: PlanContext) -> Draft:
    snapshot = ctx.snapshot
    assert snapshot is not None  # loaded and verified by the use case before planning
    name = snapshot["endpoint"]["EndpointName"]
    if name != ctx.request.endpoint:
        raise RemediationError(f"snapshot {ctx.request.snapshot} is of endpoint {name}, not {ctx.request.endpoint}")
    live = ctx.live
    if live is not None and live.status in IN_PROGRESS:
        raise RemediationError(
            f"endpoint {live.name} is {live.status}: a deployment is in progress; restore it once it is InService"
        )
    if live is not None and live.status not in ("InService", "Deleting"):
        raise RemediationError(
            f"endpoint {live.name} is {live.status}: SageMaker cannot update it; delete it (delete-endpoint), then "
            "restore from the snapshot"
        )
    then = State.of(LiveEndpoint.from_snapshot(snapshot))
    now = State.of(live, name, ctx.configs)
    calls, notes = restore_steps(then, now, snapshot)
    if live is not None and live.status == "Deleting":
        notes.insert(0, f"{name} is being deleted: the restore waits until it is gone, then creates it again")
    config = restore_config(snapshot)
    return Draft(
        calls,
        notes=notes,
        rollback=f"delete-endpoint {name}",
        undo=False,
        known_configs={str(config["EndpointConfigName"]): config},
    )


SPEC = ActionSpec(
    name="restore-endpoint",
    summary="put the endpoint back as a sealed snapshot saw it (after a delete, or to undo any other action)",
    fields=frozenset({"snapshot"}),
    check=check,
    plan=plan,
    iam=(
        "sagemaker:CreateEndpointConfig",
        "sagemaker:CreateEndpoint",
        "sagemaker:AddTags",
        "sagemaker:UpdateEndpoint",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "sagemaker:CreateInferenceComponent",
        "sagemaker:UpdateInferenceComponentRuntimeConfig",
        "iam:PassRole",
        "cloudwatch:DeleteAlarms",
        *SCALING,
    ),
    destructive=False,
    snapshot_first=False,
)
