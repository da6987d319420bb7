"""Compute Optimizer's idle recommendations for SageMaker endpoints (sagewatch.awsview sets them beside the
scan's): GetIdleRecommendations filtered to SageMakerEndpoint, one call a page, kept for the day (the state
table for the scan function, a file for the CLI); and Cost Optimization Hub's recommendations for them
(ListRecommendations filtered to SageMakerEndpoint and the scan's region, the same way). Not enrolled or denied
is said once in the report, never an error."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import error_code
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
        pages: list[dict[str, Any]] = []
        token = None
        try:
            for _ in range(PAGES):
                params: dict[str, Any] = {"filters": [{"name": "ResourceType", "values": ["SageMakerEndpoint"]}]}
                if token:
                    params["nextToken"] = token
                self.calls += 1
                page = dict(self.client.get_idle_recommendations(**params))
                # kept as plain JSON (the day's cache): what sagewatch.awsview reads, timestamps as text
                pages.append(
                    json.loads(
                        json.dumps(
                            {
                                "idleRecommendations": page.get("idleRecommendations", []),
                                "errors": page.get("errors", []),
                            },
                            default=str,
                        )
                    )
                )
                token = page.get("nextToken")
                if not token:
                    break
        except ClientError as exc:
            code = error_code(exc)
            if code in NOT_ENROLLED_CODES:
                return {"status": NOT_ENROLLED, "note": "Compute Optimizer: this account is not enrolled"}
            transient = code not in DENIED
            return {"status": NOT_READ, "note": f"Compute Optimizer: not read ({code})", "transient": transient}
        except BotoCoreError as exc:
            return {
                "status": NOT_READ,
                "note": f"Compute Optimizer: not read ({type(exc).__name__})",
                "transient": True,
            }
        return {"status": "read", "pages": pages}


def _from_doc(doc: dict[str, Any]) -> AwsIdle:
    if doc.get("status") != "read":
        return AwsIdle(str(doc.get("status") or NOT_READ), note=str(doc.get("note") or "") or None)
    return idle_from_api(doc.get("pages") or [])


HUB_KEY = "cost-optimization-hub/sagemaker"
HUB_PAGES = 10  # 1,000 recommendations a page


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
        pages: list[dict[str, Any]] = []
        token = None
        try:
            for _ in range(HUB_PAGES):
                params: dict[str, Any] = {
                    "filter": {"resourceTypes": ["SageMakerEndpoint"], "regions": [self.region]},
                    "maxResults": 1000,
                }
                if token:
                    params["nextToken"] = token
                self.calls += 1
                page = dict(self.client.list_recommendations(**params))
                pages.append(json.loads(json.dumps({"items": page.get("items", [])}, default=str)))
                token = page.get("nextToken")
                if not token:
                    break
        except ClientError as exc:
            code = error_code(exc)
            message = str(exc.response.get("Error", {}).get("Message") or "")
            if code == "AccessDeniedException" and "enroll" in message.lower():
                # the hub answers an account (or organization) that has not opted in with AccessDenied
                return {"status": NOT_ENROLLED, "note": "Cost Optimization Hub: this account is not enrolled"}
            transient = code not in DENIED
            return {"status": NOT_READ, "note": f"Cost Optimization Hub: not read ({code})", "transient": transient}
        except BotoCoreError as exc:
            return {
                "status": NOT_READ,
                "note": f"Cost Optimization Hub: not read ({type(exc).__name__})",
                "transient": True,
            }
        return {"status": "read", "pages": pages}
