"""The rails a real run passes before its first call (pure): each raises RemediationError naming what it refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.remediation.calls import Wait
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import LiveEndpoint, variant_resource
from sagewatch.remediation.model import State, run
from sagewatch.remediation.plan import ActionPlan
from sagewatch.remediation.registry import ACTIONS

if TYPE_CHECKING:
    from sagewatch.remediation.request import RemediationRequest

# Actions that act on an endpoint that is not InService: a delete (a Failed endpoint is deleted too), and a
# restore (it recreates what is gone, and waits for a delete under way to finish).
NOT_ONLY_IN_SERVICE = ("delete-endpoint", "restore-endpoint")


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
    ours = variant_resource(live.name, name or "")
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
    if ACTIONS[request.action].destructive and request.expect is None and not request.force:
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
    expected = request.expect.plan_digest if request.expect else None
    if expected and expected != the_plan.digest:
        raise RemediationError(
            "the plan is not the one the dry run showed (its digest was "
            f"{expected[:12]}..., planned now it is {the_plan.digest[:12]}...): the endpoint changed since; run the "
            "dry run again and read the new plan (force does not override this)"
        )
    in_service(request, live, the_plan)


def in_service(request: RemediationRequest, live: LiveEndpoint | None, the_plan: ActionPlan | None = None) -> None:
    """No action starts while the endpoint is being deployed or is failing (Creating, Updating, SystemUpdating,
    RollingBack, UpdateRollbackFailed...): SageMaker refuses changes then, and someone is changing it. A resume
    whose first step waits for InService may start while it still updates (that is what it waits for)."""
    if live is None or request.action in NOT_ONLY_IN_SERVICE or live.status == "InService":
        return
    start = request.resume_from
    steps = the_plan.calls if the_plan is not None else []
    if start is not None and start <= len(steps) and isinstance(steps[start - 1], Wait):
        return
    raise RemediationError(f"endpoint {live.name} is {live.status}: try again when it is InService")


def resume_differences(
    request: RemediationRequest, basis: State, live: LiveEndpoint, the_plan: ActionPlan
) -> list[str]:
    """How the endpoint differs from where the run being resumed left it (its plan's steps before resume_from,
    from the state its snapshot saw): a resume acts only on an endpoint nobody else changed meanwhile."""
    start = int(request.resume_from or 1)
    expected = run(basis, the_plan.calls[: start - 1]).footprint()
    found = State.of(live, live.name, live.configs).footprint()
    out = []
    for key in sorted(set(expected) | set(found)):
        if expected.get(key) != found.get(key):
            out.append(f"{key}: expected {_short(expected.get(key))}, found {_short(found.get(key))}")
    return out


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 300 else text[:297] + "..."
