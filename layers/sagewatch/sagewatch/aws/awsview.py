"""Compute Optimizer's idle recommendations for SageMaker endpoints (sagewatch.awsview sets them beside the
scan's): GetIdleRecommendations filtered to SageMakerEndpoint, one call a page, kept for the day (the state
table for the scan function, a file for the CLI); and Cost Optimization Hub's recommendations for them
(ListRecommendations filtered to SageMakerEndpoint and the scan's region, the same way). Not enrolled or denied
is said once in the report, never an error."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import error_code, error_message
from sagewatch.aws.serving import DENIED, DailyCache, kept_for_the_day
from sagewatch.awsview import NOT_ENROLLED, NOT_READ, AwsIdle, HubView, hub_from_api, idle_from_api

if TYPE_CHECKING:
    from mypy_boto3_compute_optimizer import ComputeOptimizerClient
    from mypy_boto3_cost_optimization_hub import CostOptimizationHubClient

KEY = "compute-optimizer/idle"
PAGES = 10  # 1,000 recommendations a page
NOT_ENROLLED_CODES = ("OptInRequiredException",)


class ComputeOptimizerReader:
    def __init__(
        self,
        client: ComputeOptimizerClient,
        cache: DailyCache | None,
        scope: str,
        hub: CostOptimizationHubReader | None = None,
    ):
        self.client = client
        self.cache = cache
        self.scope = scope
        self.hub = hub
        self.calls = 0

    def idle(self, now: datetime) -> AwsIdle:
        doc, _ = kept_for_the_day(self.cache, self.scope, KEY, now, self._read)
        view = _from_doc(doc)
        return replace(view, hub=self.hub.recommendations(now)) if self.hub is not None else view

    def _read(self) -> dict[str, Any]:
        return _read_pages(
            "Compute Optimizer",
            self.client.get_idle_recommendations,
            {"filters": [{"name": "ResourceType", "values": ["SageMakerEndpoint"]}]},
            ("idleRecommendations", "errors"),
            lambda exc: error_code(exc) in NOT_ENROLLED_CODES,
            self._count,
        )

    def _count(self) -> None:
        self.calls += 1


def _from_doc(doc: dict[str, Any]) -> AwsIdle:
    if doc.get("status") != "read":
        return AwsIdle(str(doc.get("status") or NOT_READ), note=str(doc.get("note") or "") or None)
    return idle_from_api(doc.get("pages") or [])


HUB_KEY = "cost-optimization-hub/sagemaker"


class CostOptimizationHubReader:
    """ListRecommendations for SageMaker endpoints of one account and region (the hub itself answers in
    us-east-1 only, for every region: the filter names the scan's)."""

    def __init__(self, client: CostOptimizationHubClient, cache: DailyCache | None, scope: str, region: str):
        self.client = client
        self.cache = cache
        self.scope = scope
        self.region = region
        self.calls = 0

    def recommendations(self, now: datetime) -> HubView:
        doc, _ = kept_for_the_day(self.cache, self.scope, HUB_KEY, now, self._read)
        if doc.get("status") != "read":
            return HubView(str(doc.get("status") or NOT_READ), note=str(doc.get("note") or "") or None)
        return hub_from_api(doc.get("pages") or [], self.region)

    def _read(self) -> dict[str, Any]:
        return _read_pages(
            "Cost Optimization Hub",
            self.client.list_recommendations,
            {"filter": {"resourceTypes": ["SageMakerEndpoint"], "regions": [self.region]}, "maxResults": 1000},
            ("items",),
            _hub_not_enrolled,
            self._count,
        )

    def _count(self) -> None:
        self.calls += 1


def _hub_not_enrolled(exc: ClientError) -> bool:
    """The hub answers an account (or organization) that has not opted in with AccessDenied naming the enrollment."""
    return error_code(exc) == "AccessDeniedException" and "enroll" in error_message(exc).lower()


def _read_pages(
    service: str,
    call: Callable[..., Any],
    params: dict[str, Any],
    keep: tuple[str, ...],
    not_enrolled: Callable[[ClientError], bool],
    count: Callable[[], None],
) -> dict[str, Any]:
    """Up to PAGES pages of one of AWS's advisers (nextToken paging), kept as plain JSON (the day's cache: what
    sagewatch.awsview reads, timestamps as text); not enrolled, denied or unreachable as a status and a note."""
    pages: list[dict[str, Any]] = []
    token = None
    try:
        for _ in range(PAGES):
            count()
            page = dict(call(**params, **({"nextToken": token} if token else {})))
            pages.append(json.loads(json.dumps({k: page.get(k, []) for k in keep}, default=str)))
            token = page.get("nextToken")
            if not token:
                break
    except ClientError as exc:
        code = error_code(exc)
        if not_enrolled(exc):
            return {"status": NOT_ENROLLED, "note": f"{service}: this account is not enrolled"}
        return {"status": NOT_READ, "note": f"{service}: not read ({code})", "transient": code not in DENIED}
    except BotoCoreError as exc:
        return {"status": NOT_READ, "note": f"{service}: not read ({type(exc).__name__})", "transient": True}
    return {"status": "read", "pages": pages}
