"""plan_action: a request and the endpoint it names -> the plan (pure). The one entry point the use case, the
CLI's dry run and the tests plan through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sagewatch.catalog import Catalog
from sagewatch.remediation.live import LiveEndpoint
from sagewatch.remediation.plan import ActionPlan, PlanContext, build
from sagewatch.remediation.registry import ACTIONS
from sagewatch.remediation.request import RemediationRequest


def plan_action(
    request: RemediationRequest,
    live: LiveEndpoint | None,
    catalog: Catalog,
    now: datetime | None = None,
    *,
    snapshot: Mapping[str, Any] | None = None,
    configs: frozenset[str] = frozenset(),
) -> ActionPlan:
    """What the request would do to `live`: the exact calls, their undo and cost. Raises RemediationError when it
    cannot be done. (`now` is not used: a plan's names come from its content, so that planning again gives the
    same calls.)"""
    ctx = PlanContext(request, live, catalog, snapshot, configs or (live.configs if live else frozenset()))
    return build(ctx, ACTIONS[request.action].plan(ctx))


def restore_plan(
    request: RemediationRequest, live: LiveEndpoint | None, snapshot: Mapping[str, Any], catalog: Catalog
) -> ActionPlan:
    return plan_action(request, live, catalog, snapshot=snapshot)
