"""delete-endpoint: the inference components first (SageMaker refuses to delete an endpoint that has them), then
the endpoint; its config and models are kept. Application Auto Scaling deregisters the variants' targets (with
their policies and scheduled actions) itself: the snapshot keeps them for restore-endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.remediation.calls import SAGEMAKER, Call
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import DELETABLE_STATES
from sagewatch.remediation.plan import Draft, PlanContext
from sagewatch.remediation.registry import ActionSpec

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest


def check(request: RemediationRequest) -> str | None:
    return None


def plan(ctx: PlanContext) -> Draft:
    live = ctx.endpoint
    if live.status not in DELETABLE_STATES:
        raise RemediationError(
            f"endpoint {live.name} is {live.status}: a deployment or delete is in progress; sagewatch deletes only "
            f"{', '.join(DELETABLE_STATES)} endpoints (try again when it is one)"
        )
    calls = [
        Call(
            SAGEMAKER,
            "DeleteInferenceComponent",
            {"InferenceComponentName": c["InferenceComponentName"]},
            f"delete inference component {c['InferenceComponentName']}",
        )
        for c in live.components
    ]
    calls.append(
        Call(
            SAGEMAKER,
            "DeleteEndpoint",
            {"EndpointName": live.name},
            f"delete endpoint {live.name} (endpoint config {live.config_name} and models are kept)",
        )
    )
    notes = []
    if live.scalable_targets:
        notes.append(
            f"Application Auto Scaling deregisters {len(live.scalable_targets)} scalable targets of {live.name} with "
            "their policies and scheduled actions when it is deleted: the snapshot keeps them, and restore-endpoint "
            "puts them back"
        )
    return Draft(calls, notes=notes, rollback="restore-endpoint with the snapshot key this run returns")


SPEC = ActionSpec(
    name="delete-endpoint",
    summary="delete the endpoint (inference components first), after a sealed snapshot",
    fields=frozenset({"snapshot", "resume_from"}),
    check=check,
    plan=plan,
    iam=("sagemaker:DeleteInferenceComponent", "sagemaker:DeleteEndpoint"),
)
