"""A fake AWS for the control-plane benchmark: every call is answered from an in-memory fleet after a fixed
latency (30 ms by default), in the caller's thread, so concurrency and call counts behave as against AWS while
the fake itself costs next to nothing (moto spends most of a big scan computing metrics).

It answers at botocore's `before-call` event with the parsed response, so clients, paginators, parameter
validation and the call counters all work as usual; nothing is serialized or sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sagewatch_testkit.fleet import SimEndpoint, endpoint_config

ACCOUNT = "123456789012"
REGION = "us-east-1"
PAGE = 100


class _Http:
    def __init__(self) -> None:
        self.status_code = 200
        self.headers: dict[str, str] = {}


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = int(token or 0)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


@dataclass(frozen=True)
class _Variant:
    name: str
    instance_type: str | None
    count: int
    components: tuple[str, ...]


@dataclass(frozen=True)
class _Endpoint:
    """What the control plane knows of an endpoint: a few hundred bytes, not the simulation's profiles."""

    name: str
    status: str
    tags: dict[str, str]
    variants: tuple[_Variant, ...]
    config: dict[str, Any]  # the CreateEndpointConfig input the simulation would send

    @classmethod
    def of(cls, ep: SimEndpoint) -> _Endpoint:
        variants = tuple(
            _Variant(v.name, v.instance_type, v.count, tuple(c.name for c in v.components)) for v in ep.variants
        )
        return cls(ep.name, ep.status, dict(ep.tags), variants, endpoint_config(ep))


class FakeAws:
    """Install on a boto3 session (before creating clients) with `install(session)`. `fleet` may be a generator:
    only each endpoint's control-plane facts are kept, so the fake weighs little beside the scan it serves."""

    def __init__(self, fleet: Iterable[SimEndpoint], latency: float = 0.03, now: datetime | None = None):
        self.now = now or datetime.now(UTC)
        self.fleet: dict[str, _Endpoint] = {}
        self.created: dict[str, datetime] = {}
        for sim in fleet:
            self.fleet[sim.name] = _Endpoint.of(sim)
            self.created[sim.name] = self.now - timedelta(days=sim.age_days)
        self.order = list(self.fleet)
        self.latency = latency
        self._answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "ListEndpoints": self._list_endpoints,
            "DescribeEndpoint": self._describe_endpoint,
            "DescribeEndpointConfig": self._describe_config,
            "ListEndpointConfigs": lambda p: {"EndpointConfigs": []},  # nothing created since the last scan
            "ListTags": lambda p: {"Tags": []},  # asked only for endpoints the tagging answer lacks: untagged
            "ListInferenceComponents": self._list_components,
            "GetResources": self._get_resources,
            "DescribeScalableTargets": lambda p: {"ScalableTargets": []},
            "DescribeScalingPolicies": lambda p: {"ScalingPolicies": []},
            "ListMetrics": lambda p: {"Metrics": []},
            "GetMetricData": self._get_metric_data,
            "GetMetricStatistics": self._get_metric_statistics,
            # the keep-serving checks: quotas and dependencies once a day, the log of a few errors findings
            "ListAWSDefaultServiceQuotas": self._quotas,
            "ListServiceQuotas": lambda p: {"Quotas": []},  # no quota raised: AWS's defaults apply
            "DescribeModel": self._describe_model,
            "DescribeInferenceComponent": self._describe_component,
            "ListObjectsV2": self._list_objects,
            "DescribeImages": self._describe_images,
            "GetRole": self._get_role,
            "FilterLogEvents": lambda p: {"events": [], "searchedLogStreams": []},
            "DescribeAlarms": lambda p: {"MetricAlarms": [], "CompositeAlarms": []},
            # AWS's own view: Compute Optimizer's idle endpoints and Cost Optimization Hub's advice, once a day
            "GetIdleRecommendations": lambda p: {"idleRecommendations": [], "errors": []},
            "ListRecommendations": lambda p: {"items": []},
        }
        self.components = {c: ep.name for ep in self.fleet.values() for v in ep.variants for c in v.components}

    def install(self, session: Any) -> None:
        def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["fake_params"] = params

        def answer(model: Any, context: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]]:
            time.sleep(self.latency)
            handler = self._answers.get(model.name)
            if handler is None:
                raise NotImplementedError(f"the fake AWS does not answer {model.name}")
            return _Http(), handler(context.get("fake_params", {}))

        session.events.register("before-parameter-build", keep)
        session.events.register("before-call", answer)

    # --- SageMaker ---------------------------------------------------------------------------------------
    def _list_endpoints(self, p: dict[str, Any]) -> dict[str, Any]:
        names, token = _page(self.order, p.get("NextToken"), int(p.get("MaxResults", PAGE)))
        out: dict[str, Any] = {
            "Endpoints": [
                {
                    "EndpointName": n,
                    "EndpointArn": _arn("endpoint", n),
                    "CreationTime": self.created[n],
                    "LastModifiedTime": self.created[n],
                    "EndpointStatus": self.fleet[n].status,
                }
                for n in names
            ]
        }
        if token:
            out["NextToken"] = token
        return out

    def _describe_endpoint(self, p: dict[str, Any]) -> dict[str, Any]:
        ep = self.fleet[p["EndpointName"]]
        return {
            "EndpointName": ep.name,
            "EndpointArn": _arn("endpoint", ep.name),
            "EndpointConfigName": f"{ep.name}-config",
            "EndpointStatus": ep.status,
            "CreationTime": self.created[ep.name],
            "LastModifiedTime": self.created[ep.name],
            "ProductionVariants": [
                {"VariantName": v.name, "CurrentInstanceCount": v.count, "DesiredInstanceCount": v.count}
                if v.instance_type
                else {
                    "VariantName": v.name,
                    "CurrentServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                }
                for v in ep.variants
            ],
        }

    def _describe_config(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["EndpointConfigName"]
        ep = self.fleet[name.removesuffix("-config")]
        return {
            **ep.config,
            "EndpointConfigArn": _arn("endpoint-config", name),
            "CreationTime": self.created[ep.name],
        }

    def _list_components(self, p: dict[str, Any]) -> dict[str, Any]:
        items = [
            {"EndpointName": ep.name, "VariantName": v.name, "InferenceComponentName": c}
            for ep in self.fleet.values()
            for v in ep.variants
            for c in v.components
        ]
        page, token = _page(items, p.get("NextToken"), int(p.get("MaxResults", PAGE)))
        out: dict[str, Any] = {"InferenceComponents": page}
        if token:
            out["NextToken"] = token
        return out

    def _describe_model(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["ModelName"]
        endpoint = name.removesuffix("-model")
        return {
            "ModelName": name,
            "ModelArn": _arn("model", name),
            "CreationTime": self.created.get(endpoint, self.now),
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution",
            "PrimaryContainer": {
                "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/model:latest",
                "ModelDataUrl": f"s3://bench-models/{endpoint}/model.tar.gz",
            },
        }

    def _describe_component(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["InferenceComponentName"]
        endpoint = self.components[name]
        return {
            "InferenceComponentName": name,
            "InferenceComponentArn": _arn("inference-component", name),
            "EndpointName": endpoint,
            "EndpointArn": _arn("endpoint", endpoint),
            "VariantName": "AllTraffic",
            "InferenceComponentStatus": "InService",
            "CreationTime": self.created[endpoint],
            "LastModifiedTime": self.created[endpoint],
            "Specification": {"ModelName": f"{endpoint}-model"},
            "RuntimeConfig": {"DesiredCopyCount": 1, "CurrentCopyCount": 1},
        }

    # --- Service Quotas, S3, ECR, IAM --------------------------------------------------------------------
    def _quotas(self, p: dict[str, Any]) -> dict[str, Any]:
        types = sorted({v.instance_type for ep in self.fleet.values() for v in ep.variants if v.instance_type})
        quotas = [
            {
                "ServiceCode": "sagemaker",
                "QuotaCode": f"L-{i:08X}",
                "QuotaName": f"{t} for endpoint usage",
                "Value": 1000.0,
                "Adjustable": True,
                "GlobalQuota": False,
            }
            for i, t in enumerate(types)
        ]
        page, token = _page(quotas, p.get("NextToken"), int(p.get("MaxResults", PAGE)))
        return {"Quotas": page, **({"NextToken": token} if token else {})}

    def _list_objects(self, p: dict[str, Any]) -> dict[str, Any]:
        key = p.get("Prefix", "")
        return {
            "IsTruncated": False,
            "Contents": [{"Key": key, "Size": 1, "StorageClass": "STANDARD"}],
            "Name": p["Bucket"],
            "Prefix": key,
            "MaxKeys": p.get("MaxKeys", 1000),
            "KeyCount": 1,
        }

    def _describe_images(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "imageDetails": [
                {
                    "registryId": ACCOUNT,
                    "repositoryName": p["repositoryName"],
                    "imageDigest": "sha256:" + "0" * 64,
                    "imageTags": ["latest"],
                }
            ]
        }

    def _get_role(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["RoleName"]
        return {
            "Role": {
                "Path": "/",
                "RoleName": name,
                "RoleId": "AROA" + "0" * 17,
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
                "CreateDate": self.now,
            }
        }

    # --- tagging -------------------------------------------------------------------------------------
    def _get_resources(self, p: dict[str, Any]) -> dict[str, Any]:
        tagged = [n for n in self.order if self.fleet[n].tags]
        names, token = _page(tagged, p.get("PaginationToken") or None, int(p.get("ResourcesPerPage", PAGE)))
        return {
            "ResourceTagMappingList": [
                {
                    "ResourceARN": _arn("endpoint", n),
                    "Tags": [{"Key": k, "Value": v} for k, v in self.fleet[n].tags.items()],
                }
                for n in names
            ],
            "PaginationToken": token or "",
        }

    # --- CloudWatch ----------------------------------------------------------------------------------
    def _get_metric_data(self, p: dict[str, Any]) -> dict[str, Any]:
        # Hourly datapoints of a flat series: enough for every rule to run its arithmetic.
        start, end = p["StartTime"], p["EndTime"]
        hours = max(1, int((end - start).total_seconds() // 3600))
        stamps = [end - timedelta(hours=h) for h in range(hours)]
        values = [10.0] * hours
        return {
            "MetricDataResults": [
                {"Id": q["Id"], "Label": q["Id"], "Timestamps": stamps, "Values": values, "StatusCode": "Complete"}
                for q in p["MetricDataQueries"]
            ],
            "Messages": [],
        }

    def _get_metric_statistics(self, p: dict[str, Any]) -> dict[str, Any]:
        start, end = p["StartTime"], p["EndTime"]
        hours = max(1, int((end - start).total_seconds() // int(p["Period"])))
        stat = (p.get("Statistics") or ["Average"])[0]
        return {
            "Label": p["MetricName"],
            "Datapoints": [{"Timestamp": end - timedelta(hours=h), stat: 10.0, "Unit": "None"} for h in range(hours)],
        }
