"""Compute Optimizer and Cost Optimization Hub, which moto lacks: GetIdleRecommendations and ListRecommendations
for SageMaker endpoints.

A moto service of its own (`moto.computeoptimizer`, reset with moto's backends) answering what
`set_idle_recommendations` stores, in botocore's shape, with the rules AWS applies and the test kit applies too
("Compute Optimizer API reference", GetIdleRecommendations): the `ResourceType` filter, maxResults (0-1000) and
nextToken; an account that has not opted in answers OptInRequiredException ("The account is not opted in to AWS
Compute Optimizer"), which is every account until `enroll` (Compute Optimizer is opt-in).

Cost Optimization Hub (`moto.costoptimizationhub`, "Cost Optimization Hub API reference", ListRecommendations):
the `resourceTypes` and `regions` filters, maxResults (0-1000) and nextToken; it answers in us-east-1 only, for
every region; an account that has not enrolled answers AccessDeniedException naming the enrollment (every account
until `set_hub_recommendations`).
"""

from __future__ import annotations

import json
import re
import sys
import types
from datetime import UTC, datetime
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
URL = r"https?://compute-optimizer\.(.+)\.amazonaws\.com"
HUB_URL = r"https?://cost-optimization-hub\.(.+)\.amazonaws\.com"

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto import backend_index
    from moto.core.base_backend import BackendDict, BaseBackend

    class ComputeOptimizerBackend(BaseBackend):
        def __init__(self, region_name: str, account_id: str):
            super().__init__(region_name, account_id)
            self.enrolled = False
            self.error: str | None = None
            self.idle: list[dict[str, Any]] = []
            self.errors: list[dict[str, Any]] = []

        @property
        def urls(self) -> dict[str, Any]:  # mock_aws: full URLs
            return {f"{URL}/$": _dispatch}

        @property
        def url_paths(self) -> dict[str, Any]:  # moto's server: paths
            return {"/": _dispatch}

    module = types.ModuleType("moto.computeoptimizer")
    module.computeoptimizer_backends = BackendDict(  # type: ignore[attr-defined]
        ComputeOptimizerBackend, "compute-optimizer"
    )
    sys.modules["moto.computeoptimizer"] = module
    if not any(name == "compute-optimizer" for name, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(("compute-optimizer", re.compile(URL)))

    class CostOptimizationHubBackend(BaseBackend):
        def __init__(self, region_name: str, account_id: str):
            super().__init__(region_name, account_id)
            self.enrolled = False
            self.error: str | None = None
            self.items: list[dict[str, Any]] = []

        @property
        def urls(self) -> dict[str, Any]:
            return {f"{HUB_URL}/$": _hub_dispatch}

        @property
        def url_paths(self) -> dict[str, Any]:
            return {"/": _hub_dispatch}

    hub = types.ModuleType("moto.costoptimizationhub")
    hub.costoptimizationhub_backends = BackendDict(  # type: ignore[attr-defined]
        CostOptimizationHubBackend, "cost-optimization-hub"
    )
    sys.modules["moto.costoptimizationhub"] = hub
    if not any(name == "cost-optimization-hub" for name, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(("cost-optimization-hub", re.compile(HUB_URL)))
    _installed = True


def _backend(region: str, account: str = DEFAULT_ACCOUNT) -> Any:
    return sys.modules["moto.computeoptimizer"].computeoptimizer_backends[account][region]


def enroll(region: str, account: str = DEFAULT_ACCOUNT) -> None:
    _backend(region, account).enrolled = True


def deny(region: str, code: str = "AccessDeniedException", account: str = DEFAULT_ACCOUNT) -> None:
    _backend(region, account).error = code


def set_idle_recommendations(
    region: str,
    endpoints: dict[str, float],
    *,
    unjudged: tuple[str, ...] = (),
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """The endpoints Compute Optimizer finds idle (name -> estimated monthly savings), and those it lists as
    errors. Enrolls the account."""
    backend = _backend(region, account)
    backend.enrolled = True
    now = datetime.now(UTC).timestamp()
    backend.idle = [
        {
            # SageMaker's ARNs carry the endpoint name in lowercase
            "resourceArn": f"arn:aws:sagemaker:{region}:{account}:endpoint/{name.lower()}",
            "resourceId": name,
            "resourceType": "SageMakerEndpoint",
            "accountId": account,
            "finding": "Idle",
            "findingDescription": "The endpoint had no invocations over the lookback period.",
            "savingsOpportunity": {
                "savingsOpportunityPercentage": 100.0,
                "estimatedMonthlySavings": {"currency": "USD", "value": savings},
            },
            "utilizationMetrics": [{"name": "Invocations", "statistic": "Maximum", "value": 0.0}],
            "lookBackPeriodInDays": 14.0,
            "lastRefreshTimestamp": now,
            "tags": [],
        }
        for name, savings in endpoints.items()
    ]
    backend.errors = [
        {
            "identifier": f"arn:aws:sagemaker:{region}:{account}:endpoint/{name.lower()}",
            "code": "InsufficientData",
            "message": "Not enough metric data",
            "resourceType": "SageMakerEndpoint",
        }
        for name in unjudged
    ]


def _hub(account: str = DEFAULT_ACCOUNT) -> Any:
    return sys.modules["moto.costoptimizationhub"].costoptimizationhub_backends[account]["us-east-1"]


def deny_hub(code: str = "AccessDeniedException", account: str = DEFAULT_ACCOUNT) -> None:
    _hub(account).error = code


def set_hub_recommendations(
    recommendations: dict[tuple[str, str], tuple[str, float]], account: str = DEFAULT_ACCOUNT
) -> None:
    """The hub's SageMaker endpoint recommendations: (region, endpoint) -> (actionType, estimated monthly saving).
    Enrolls the account."""
    hub = _hub(account)
    hub.enrolled = True
    now = datetime.now(UTC).timestamp()
    hub.items = [
        {
            "recommendationId": f"rec-{region}-{name}",
            "accountId": account,
            "region": region,
            "resourceId": name,
            "resourceArn": f"arn:aws:sagemaker:{region}:{account}:endpoint/{name.lower()}",
            "currentResourceType": "SageMakerEndpoint",
            "recommendedResourceType": "SageMakerEndpoint",
            "estimatedMonthlySavings": savings,
            "estimatedSavingsPercentage": 100.0 if action in ("Delete", "Stop") else 40.0,
            "estimatedMonthlyCost": 0.0 if action in ("Delete", "Stop") else savings * 1.5,
            "currencyCode": "USD",
            "implementationEffort": "Low",
            "restartNeeded": action != "Delete",
            "actionType": action,
            "rollbackPossible": action != "Delete",
            "currentResourceSummary": name,
            "recommendedResourceSummary": "" if action == "Delete" else "ml.m5.large x 1",
            "lastRefreshTimestamp": now,
            "recommendationLookbackPeriodInDays": 14,
            "source": "ComputeOptimizer",
            "tags": [],
        }
        for (region, name), (action, savings) in recommendations.items()
    ]


def _hub_dispatch(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    from moto.core.responses import BaseResponse

    call = BaseResponse(service_name="cost-optimization-hub")
    call.setup_class(request, full_url, headers)
    target = str(headers.get("X-Amz-Target") or "")
    match = re.match(HUB_URL, full_url)
    if match and match.group(1) != "us-east-1":  # the hub's only endpoint
        return _error("UnrecognizedClientException", "Cost Optimization Hub answers in us-east-1 only")
    hub = _hub(call.get_current_account())
    if not target.endswith(".ListRecommendations"):
        return _error("UnknownOperationException", f"{target} is not modelled by the test kit")
    if hub.error:
        return _error(hub.error, "not authorized")
    if not hub.enrolled:
        return _error("AccessDeniedException", "You are not enrolled in Cost Optimization Hub")
    params = json.loads(call.body or "{}")
    size = int(params.get("maxResults") or 1000)
    if not 0 <= size <= 1000:
        return _error("ValidationException", "maxResults must be 0-1000")
    wanted = params.get("filter") or {}
    found = [
        r
        for r in hub.items
        if (not wanted.get("resourceTypes") or r["currentResourceType"] in wanted["resourceTypes"])
        and (not wanted.get("regions") or r["region"] in wanted["regions"])
    ]
    offset = int(params["nextToken"]) if re.fullmatch(r"\d+", str(params.get("nextToken", ""))) else 0
    page: dict[str, Any] = {"items": found[offset : offset + size]}
    if offset + size < len(found):
        page["nextToken"] = str(offset + size)
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(page)


def _dispatch(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    from moto.core.responses import BaseResponse

    call = BaseResponse(service_name="compute-optimizer")
    call.setup_class(request, full_url, headers)
    target = str(headers.get("X-Amz-Target") or "")
    region = re.match(URL, full_url).group(1) if re.match(URL, full_url) else call.region  # type: ignore[union-attr]
    backend = _backend(region, call.get_current_account())
    if not target.endswith(".GetIdleRecommendations"):
        return _error("UnknownOperationException", f"{target} is not modelled by the test kit")
    if backend.error:
        return _error(backend.error, "not authorized")
    if not backend.enrolled:
        return _error("OptInRequiredException", "The account is not opted in to AWS Compute Optimizer")
    params = json.loads(call.body or "{}")
    size = int(params.get("maxResults") or 1000)
    if not 0 <= size <= 1000:
        return _error("InvalidParameterValueException", "maxResults must be 0-1000")
    types_ = [v for f in params.get("filters") or [] if f.get("name") == "ResourceType" for v in f.get("values", [])]
    found = [r for r in backend.idle if not types_ or r["resourceType"] in types_]
    offset = int(params["nextToken"]) if re.fullmatch(r"\d+", str(params.get("nextToken", ""))) else 0
    page: dict[str, Any] = {"idleRecommendations": found[offset : offset + size], "errors": backend.errors}
    if offset + size < len(found):
        page["nextToken"] = str(offset + size)
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(page)


def _error(code: str, message: str) -> tuple[int, dict[str, str], str]:
    return 400, {"x-amzn-ErrorType": code}, json.dumps({"__type": code, "message": message})
