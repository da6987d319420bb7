"""Extensions to moto's SageMaker and CloudWatch backends for what sagewatch needs and moto lacks.

- CreateEndpointConfig accepts every ml.* instance type (moto rejects newer families such as g5, inf2)
  and variants without a ModelName (variants that host inference components).
- Inference components: Create/Describe/List/DeleteInferenceComponent(s).
- Endpoint ages and statuses can be set (moto stamps every endpoint "now" and InService).
- Model Monitor: DescribeMonitoringSchedule, and DescribeProcessingJob for monitoring runs.
- UpdateEndpoint; DeleteEndpoint refuses while inference components remain (as SageMaker does).
- EventBridge: a rule whose target is another account's bus delivers the event as EventBridge does, with the
  source's `account`, `region`, `id` and `time` kept (moto 5.2.5 re-puts it, so the event claims the target
  bus's own account: a central aggregator would see every member as itself); and events delivered to a
  target carry `account` (moto 5.2.5's default input template leaves it out).
- Tags of a resource that does not exist (or named by its lowercase ARN, as SageMaker's ARNs are) crash
  moto's ListTags with an AttributeError: it now finds the name in any case, else answers ValidationException.
- CloudTrail `LookupEvents` (event history) does not exist: added over records stored with `put_trail_event`
  (real-shaped ones: tests/fixtures/cloudtrail/), with one lookup attribute a call, StartTime/EndTime, 90 days
  of history, newest first, 50 a page and NextToken.
- GetMetricData is reimplemented over an index (moto's is quadratic, unusable for days of history on
  a fleet), with CloudWatch's real limits: 500 queries per call, and at most 100,800 datapoints per
  response, the rest behind NextToken with StatusCode PartialData.

`install()` patches moto's classes in this process; it works for `mock_aws()` and for a moto server
started in the same process (ThreadedMotoServer).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.exceptions import ValidationError as CloudWatchValidationError
from moto.cloudwatch.models import CloudWatchBackend, MetricAggregatedDatum, MetricDatum, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError
from moto.sagemaker.models import FakeEndpointConfig, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800

_installed = False


def install() -> None:
    """Patch moto once per process."""
    global _installed
    if _installed:
        return
    _relax_instance_types()
    _add_inference_components()
    _indexed_get_metric_data()
    _add_monitoring()
    _add_endpoint_updates()
    _add_metrics_config()
    _add_component_scaling_dimension()
    _keep_origin_across_buses()
    _add_lookup_events()
    _tags_of_what_is_missing()
    _keep_execution_roles()
    _installed = True


def _keep_execution_roles() -> None:
    """moto 5.2 drops an endpoint config's ExecutionRoleArn (configs of inference-component endpoints name
    one); SageMaker keeps it and DescribeEndpointConfig returns it. A restore checks it."""
    create, describe = SageMakerResponse.create_endpoint_config, SageMakerModelBackend.describe_endpoint_config
    delete = SageMakerResponse.delete_endpoint_config

    def roles(backend: SageMakerModelBackend) -> dict[str, str]:
        store: dict[str, str] = backend.__dict__.setdefault("_sagewatch_config_roles", {})
        return store

    def create_endpoint_config(self: SageMakerResponse) -> ActionResult:
        result = create(self)
        name, role = self._get_param("EndpointConfigName"), self._get_param("ExecutionRoleArn")
        if role:
            roles(self.sagemaker_backend)[name] = role
        return result

    def describe_endpoint_config(self: SageMakerModelBackend, name: str) -> Any:
        response = describe(self, name)
        role = roles(self).get(name)
        return {**response, "ExecutionRoleArn": role} if role else response

    def delete_endpoint_config(self: SageMakerResponse) -> Any:
        roles(self.sagemaker_backend).pop(self._get_param("EndpointConfigName"), None)
        return delete(self)

    SageMakerResponse.create_endpoint_config = create_endpoint_config
    SageMakerModelBackend.describe_endpoint_config = describe_endpoint_config
    SageMakerResponse.delete_endpoint_config = delete_endpoint_config


def _tags_of_what_is_missing() -> None:
    original = SageMakerModelBackend._get_resource_from_arn

    def get(self: SageMakerModelBackend, arn: str) -> Any:
        resource = original(self, arn)
        if resource is not None:
            return resource
        kind, _, name = arn.split(":")[-1].partition("/")
        if kind == "endpoint":
            for key, endpoint in self.endpoints.items():
                if key.lower() == name.lower():
                    return endpoint
        raise SageMakerValidationError(message=f"Could not find resource {arn}.")

    SageMakerModelBackend._get_resource_from_arn = get


# --- CloudTrail event history ---------------------------------------------------------------------------

LOOKUP_PAGE = 50


def _trail(backend: Any) -> list[dict[str, Any]]:
    store: list[dict[str, Any]] = backend.__dict__.setdefault("_sagewatch_trail", [])
    return store


def put_trail_event(region: str, record: dict[str, Any], account: str = DEFAULT_ACCOUNT) -> None:
    """One CloudTrail record (as CloudTrail writes it) into the event history LookupEvents reads."""
    import json
    import uuid

    from moto.cloudtrail.models import cloudtrail_backends

    identity = record.get("userIdentity") or {}
    name = (record.get("requestParameters") or {}).get("endpointName")
    _trail(cloudtrail_backends[account][region]).append(
        {
            "EventId": record.get("eventID") or str(uuid.uuid4()),
            "EventName": record["eventName"],
            "ReadOnly": "true" if record.get("readOnly") else "false",
            "AccessKeyId": identity.get("accessKeyId", ""),
            "EventTime": datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")),
            "EventSource": record["eventSource"],
            "Username": identity.get("userName") or str(identity.get("arn", "")).rsplit("/", 1)[-1],
            "Resources": [{"ResourceType": "AWS::SageMaker::Endpoint", "ResourceName": name}] if name else [],
            "CloudTrailEvent": json.dumps(record),
        }
    )


def _lookup_events(self: Any) -> ActionResult:
    from moto.core.exceptions import JsonRESTError

    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        raise JsonRESTError("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    keys = {"EventName": "EventName", "Username": "Username", "EventSource": "EventSource", "EventId": "EventId"}
    events = list(_trail(self.cloudtrail_backend))
    for a in attributes:
        key, value = a["AttributeKey"], a["AttributeValue"]
        if key == "ResourceName":
            events = [e for e in events if any(r["ResourceName"] == value for r in e["Resources"])]
        elif key in keys:
            events = [e for e in events if e[keys[key]] == value]
        else:
            raise JsonRESTError("InvalidLookupAttributesException", f"Unsupported lookup attribute {key}.")
    history = datetime.now(UTC) - timedelta(days=90)
    start, end = self._get_param("StartTime"), self._get_param("EndTime")
    low = max(history, datetime.fromtimestamp(float(start), UTC)) if start is not None else history
    high = datetime.fromtimestamp(float(end), UTC) if end is not None else datetime.now(UTC) + timedelta(days=1)
    events = sorted((e for e in events if low <= e["EventTime"] <= high), key=lambda e: e["EventTime"], reverse=True)
    size = min(int(self._get_param("MaxResults") or LOOKUP_PAGE), LOOKUP_PAGE)
    offset = int(self._get_param("NextToken") or 0)
    page: dict[str, Any] = {"Events": events[offset : offset + size]}
    if offset + size < len(events):
        page["NextToken"] = str(offset + size)
    return ActionResult(page)


def _add_lookup_events() -> None:
    from moto.cloudtrail.responses import CloudTrailResponse

    CloudTrailResponse.lookup_events = _lookup_events


# --- EventBridge ---------------------------------------------------------------------------------------


def _keep_origin_across_buses() -> None:
    """Cross-account (and cross-region) bus targets keep the original envelope, as EventBridge documents for
    events sent between accounts: the receiving rules see the sender's account and region."""
    import copy

    from moto.events.models import Rule, events_backends
    from moto.events.utils import EventTemplateParser
    from moto.utilities.arns import parse_arn

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"source": "<source>",', '"source": "<source>", "account": "<account>",'
        )

    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        buses = [t for t in self.targets if parse_arn(t["Arn"]).resource_type == "event-bus"]
        if not buses or not self.event_pattern.matches_event(original_event):
            return original(self, original_event, transform_input)
        others = [t for t in self.targets if t not in buses]
        kept, self.targets = self.targets, others
        try:
            original(self, original_event, transform_input)
        finally:
            self.targets = kept
        for target in buses:
            arn = parse_arn(target["Arn"])
            bus = events_backends[arn.account][arn.region].describe_event_bus(arn.resource_id)
            for rule in list(bus.rules.values()):
                rule.send_to_targets(copy.deepcopy(original_event))
        return None

    Rule.send_to_targets = send_to_targets


# --- Application Auto Scaling ----------------------------------------------------------------------


def _add_component_scaling_dimension() -> None:
    """moto 5.2.5 knows sagemaker:variant:DesiredInstanceCount but not inference components' copy counts
    (sagemaker:inference-component:DesiredCopyCount, ResourceId inference-component/NAME), which scale-to-zero of
    component endpoints registers. Its enum is read by name at call time in both modules: extend it there."""
    from enum import Enum

    from moto.applicationautoscaling import models as aas_models
    from moto.applicationautoscaling import responses as aas_responses

    base = aas_models.ScalableDimensionValueSet
    members = {m.name: m.value for m in base}
    members["SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT"] = "sagemaker:inference-component:DesiredCopyCount"
    extended = Enum("ScalableDimensionValueSet", members)  # type: ignore[misc]
    aas_models.ScalableDimensionValueSet = extended
    aas_responses.ScalableDimensionValueSet = extended


# --- SageMaker -----------------------------------------------------------------------------------


def _relax_instance_types() -> None:
    def validate_instance_type(self: Any, instance_type: str) -> None:
        if not instance_type.startswith("ml."):
            raise SageMakerValidationError(message=f"Value '{instance_type}' at 'instanceType' is not an ml.* type")

    def validate_production_variants(self: SageMakerModelBackend, production_variants: list[dict[str, Any]]) -> None:
        # Variants that host inference components name no model (moto insists on one).
        for variant in production_variants:
            model = variant.get("ModelName")
            if model is not None and model not in self._models:
                raise SageMakerValidationError(message=f"Could not find model '{model}'.")

    FakeEndpointConfig.validate_instance_type = validate_instance_type
    SageMakerModelBackend.validate_production_variants = validate_production_variants


def _components(backend: SageMakerModelBackend) -> dict[str, dict[str, Any]]:
    # Stored on the backend so that moto's reset clears it with everything else.
    store: dict[str, dict[str, Any]] = backend.__dict__.setdefault("_sagewatch_components", {})
    return store


def _create_inference_component(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    endpoint_name = self._get_param("EndpointName")
    if endpoint_name not in backend.endpoints:
        raise SageMakerValidationError(message=f"Could not find endpoint '{endpoint_name}'.")
    endpoint = backend.endpoints[endpoint_name]
    variant = self._get_param("VariantName")
    if variant not in {v["VariantName"] for v in endpoint.production_variants}:
        raise SageMakerValidationError(message=f"Could not find variant '{variant}' on '{endpoint_name}'.")
    if name in _components(backend):
        raise SageMakerValidationError(message=f"Inference component '{name}' already exists.")
    now = datetime.now(UTC)
    arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-component/{name}"
    _components(backend)[name] = {
        "InferenceComponentName": name,
        "InferenceComponentArn": arn,
        "EndpointName": endpoint_name,
        "EndpointArn": endpoint.arn,
        "VariantName": variant,
        "InferenceComponentStatus": "InService",
        "CreationTime": now,
        "LastModifiedTime": now,
        "Specification": self._get_param("Specification") or {},
        "RuntimeConfig": self._get_param("RuntimeConfig") or {"CopyCount": 1},
    }
    return ActionResult({"InferenceComponentArn": arn})


def _describe_inference_component(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    ic = _components(self.sagemaker_backend).get(name)
    if ic is None:
        raise SageMakerValidationError(message=f"Could not find inference component '{name}'.")
    out = {k: v for k, v in ic.items() if k not in ("Specification", "RuntimeConfig")}
    out["Specification"] = ic["Specification"]
    out["RuntimeConfig"] = {
        "DesiredCopyCount": ic["RuntimeConfig"].get("CopyCount", 1),
        "CurrentCopyCount": ic["RuntimeConfig"].get("CopyCount", 1),
    }
    return ActionResult(out)


def _list_inference_components(self: SageMakerResponse) -> ActionResult:
    items = sorted(_components(self.sagemaker_backend).values(), key=lambda c: c["InferenceComponentName"])
    filters = {
        "EndpointNameEquals": "EndpointName",
        "VariantNameEquals": "VariantName",
        "StatusEquals": "InferenceComponentStatus",
    }
    for param, key in filters.items():
        wanted = self._get_param(param)
        if wanted:
            items = [c for c in items if c[key] == wanted]
    contains = self._get_param("NameContains")
    if contains:
        items = [c for c in items if contains in c["InferenceComponentName"]]
    start = int(self._get_param("NextToken") or 0)
    size = int(self._get_param("MaxResults") or 10)
    page = items[start : start + size]
    summary_keys = (
        "InferenceComponentName",
        "InferenceComponentArn",
        "EndpointName",
        "EndpointArn",
        "VariantName",
        "InferenceComponentStatus",
        "CreationTime",
        "LastModifiedTime",
    )
    result: dict[str, Any] = {"InferenceComponents": [{k: c[k] for k in summary_keys} for c in page]}
    if start + size < len(items):
        result["NextToken"] = str(start + size)
    return ActionResult(result)


def _delete_inference_component(self: SageMakerResponse) -> EmptyResult:
    name = self._get_param("InferenceComponentName")
    if _components(self.sagemaker_backend).pop(name, None) is None:
        raise SageMakerValidationError(message=f"Could not find inference component '{name}'.")
    return EmptyResult()


def _add_inference_components() -> None:
    for name in (
        "create_inference_component",
        "describe_inference_component",
        "list_inference_components",
        "delete_inference_component",
    ):
        setattr(SageMakerResponse, name, globals()[f"_{name}"])


def sagemaker_backend(region: str, account: str = DEFAULT_ACCOUNT) -> SageMakerModelBackend:
    return sagemaker_backends[account][region]


def set_endpoint_times(
    region: str,
    name: str,
    created: datetime,
    modified: datetime | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> None:
    endpoint = sagemaker_backend(region, account).endpoints[name]
    # moto keeps its own naive UTC stamps: an endpoint it creates later (a restore) must sort with these
    endpoint.creation_time = _naive_utc(created)
    endpoint.last_modified_time = _naive_utc(modified or created)


def set_config_time(region: str, name: str, created: datetime, account: str = DEFAULT_ACCOUNT) -> None:
    """An endpoint config's CreationTime (moto stamps the moment of the call; fleets are older than that)."""
    config = sagemaker_backend(region, account).endpoint_configs[name]
    config.creation_time = _naive_utc(created)  # moto keeps its own naive UTC stamps


def _add_metrics_config() -> None:
    # moto drops CreateEndpointConfig's MetricsConfig and DescribeEndpoint has none: set_enhanced_metrics stands in.
    original = SageMakerModelBackend.describe_endpoint

    def describe_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
        response = dict(original(self, endpoint_name))
        config = self.endpoints[endpoint_name].__dict__.get("_sagewatch_metrics_config")
        if config:
            response["MetricsConfig"] = config
        return response

    SageMakerModelBackend.describe_endpoint = describe_endpoint  # type: ignore[method-assign]


def set_enhanced_metrics(region: str, name: str, enabled: bool = True, account: str = DEFAULT_ACCOUNT) -> None:
    """What MetricsConfig.EnableEnhancedMetrics in the endpoint's config would show in DescribeEndpoint."""
    config = {"EnableEnhancedMetrics": enabled, "MetricPublishFrequencyInSeconds": 60}
    sagemaker_backend(region, account).endpoints[name].__dict__["_sagewatch_metrics_config"] = config


def set_endpoint_status(region: str, name: str, status: str, account: str = DEFAULT_ACCOUNT) -> None:
    sagemaker_backend(region, account).endpoints[name].endpoint_status = status


# --- CloudWatch ----------------------------------------------------------------------------------


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def _key(namespace: str, name: str, dimensions: Any) -> tuple[str, str, frozenset[tuple[str, str]]]:
    dims = frozenset((d.name, d.value) if hasattr(d, "name") else (d["Name"], d["Value"]) for d in dimensions or [])
    return namespace, name, dims


def _index(backend: CloudWatchBackend) -> dict[Any, list[Any]]:
    # Data is only ever appended: its size tells whether the index is current (cheap to check per query).
    size = len(backend.metric_data) + len(backend.aws_metric_data)
    cached = backend.__dict__.get("_sagewatch_index")
    if cached is not None and cached[0] == size:
        return cached[1]  # type: ignore[no-any-return]
    index: dict[Any, list[Any]] = defaultdict(list)
    for datum in backend.get_all_metrics():
        index[_key(datum.namespace, datum.name, datum.dimensions)].append(datum)
    for series in index.values():
        series.sort(key=lambda d: _naive_utc(d.timestamp))
    backend.__dict__["_sagewatch_index"] = (size, index)
    return index


_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100)$")


def _percentile(datums: list[Any], stat: str) -> float | None:
    """A percentile as CloudWatch computes it from the raw values of the period (each seeded datum is one
    request's value, as SageMaker publishes per request). A statistic set (PutMetricData's StatisticValues)
    gives none unless its SampleCount is 1 or its Min equals its Max. Nearest rank."""
    values: list[float] = []
    for d in datums:
        if isinstance(d, MetricAggregatedDatum):
            if d.sample_count != 1 and d.min != d.max:
                return None
            values += [float(d.min)] * int(d.sample_count)
        else:
            values.append(float(d.value))
    if not values:
        return None
    values.sort()
    rank = math.ceil(float(stat[1:]) / 100 * len(values))
    return values[max(rank, 1) - 1]


def _stat(datums: list[Any], stat: str) -> float | None:
    if _PERCENTILE.match(stat):
        return _percentile(datums, stat)
    total = count = 0.0
    low, high = math.inf, -math.inf
    for d in datums:
        if isinstance(d, MetricAggregatedDatum):
            total += d.sum
            count += d.sample_count
            low, high = min(low, d.min), max(high, d.max)
        else:
            total += float(d.value)
            count += 1
            low, high = min(low, float(d.value)), max(high, float(d.value))
    return {
        "Sum": total,
        "Average": total / count if count else 0.0,
        "Maximum": high,
        "Minimum": low,
        "SampleCount": count,
    }[stat]


def _evaluate(
    backend: CloudWatchBackend, query: dict[str, Any], start: datetime, end: datetime
) -> tuple[list[datetime], list[float]]:
    stat = query["MetricStat"]
    if stat["Stat"] not in ("Sum", "Average", "Maximum", "Minimum", "SampleCount") and not _PERCENTILE.match(
        stat["Stat"]
    ):
        raise CloudWatchValidationError(f"Unsupported statistic {stat['Stat']} (moto extension)")
    metric = stat["Metric"]
    series = _index(backend).get(_key(metric["Namespace"], metric["MetricName"], metric.get("Dimensions")), [])
    period = int(stat["Period"])
    buckets: dict[int, list[Any]] = defaultdict(list)
    for datum in series:
        ts = _naive_utc(datum.timestamp)
        if start <= ts < end:
            buckets[int((ts - start).total_seconds() // period)].append(datum)
    answered = [(i, _stat(buckets[i], stat["Stat"])) for i in sorted(buckets)]
    # a period CloudWatch cannot compute the statistic for (a percentile of statistic sets) has no datapoint
    times = [start + timedelta(seconds=i * period) for i, v in answered if v is not None]
    values = [v for _, v in answered if v is not None]
    return times, values


def _indexed_get_metric_data() -> None:
    def get_metric_data(self: CloudWatchResponse) -> ActionResult:
        params = self._get_params()
        queries = params.get("MetricDataQueries", [])
        if len(queries) > MAX_QUERIES:
            raise CloudWatchValidationError(
                f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
            )
        start, end = _naive_utc(params["StartTime"]), _naive_utc(params["EndTime"])
        if start >= end:
            raise CloudWatchValidationError("The parameter StartTime must be less than the parameter EndTime.")
        budget = min(int(params.get("MaxDatapoints") or MAX_DATAPOINTS), MAX_DATAPOINTS)
        descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        # NextToken "<query index>:<offset>" marks where the previous page stopped.
        first, offset = (int(x) for x in (params.get("NextToken") or "0:0").split(":"))
        backend = self.cloudwatch_backend
        results, next_token = [], None
        for i in range(first, len(queries)):
            query = queries[i]
            if "MetricStat" not in query:
                raise CloudWatchValidationError("Only MetricStat queries are supported (moto extension)")
            times, values = _evaluate(backend, query, start, end)
            if descending:
                times, values = times[::-1], values[::-1]
            skip = offset if i == first else 0
            times, values = times[skip:], values[skip:]
            take = min(len(times), budget)
            budget -= take
            partial = take < len(times)
            if query.get("ReturnData", True):
                results.append(
                    {
                        "id": query["Id"],
                        "label": query.get("Label") or query["Id"],
                        "timestamps": times[:take],
                        "values": values[:take],
                        "status_code": "PartialData" if partial else "Complete",
                    }
                )
            if partial or (budget == 0 and i + 1 < len(queries)):
                next_token = f"{i}:{skip + take}" if partial else f"{i + 1}:0"
                break
        body: dict[str, Any] = {"MetricDataResults": results}
        if next_token:
            body["NextToken"] = next_token
        return ActionResult(body)

    CloudWatchResponse.get_metric_data = get_metric_data


def put_series(
    region: str,
    namespace: str,
    name: str,
    dimensions: dict[str, str],
    points: list[tuple[datetime, float]],
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """Seed datapoints straight into the backend (put_metric_data's 1,000-per-call API is slow for
    weeks of history on a fleet). Each point stands for one CloudWatch datapoint."""
    backend = cloudwatch_backends[account][region]
    dims = [{"Name": k, "Value": v} for k, v in dimensions.items()]
    backend.metric_data.extend(MetricDatum(namespace, name, value, dims, _naive_utc(ts)) for ts, value in points)


# --- Model Monitor -------------------------------------------------------------------------------
# moto has no monitoring schedules, and its processing jobs carry no monitoring fields. Schedules and
# monitoring runs are stored as the API's own documents and served by DescribeMonitoringSchedule and
# DescribeProcessingJob (other processing jobs still go to moto).


def _monitoring(backend: SageMakerModelBackend) -> dict[str, dict[str, dict[str, Any]]]:
    store: dict[str, dict[str, dict[str, Any]]] = backend.__dict__.setdefault(
        "_sagewatch_monitoring", {"schedules": {}, "jobs": {}}
    )
    return store


def put_monitoring_schedule(
    region: str, name: str, endpoint: str, monitoring_type: str, account: str = DEFAULT_ACCOUNT
) -> None:
    now = datetime.now(UTC)
    _monitoring(sagemaker_backend(region, account))["schedules"][name] = {
        "MonitoringScheduleArn": f"arn:aws:sagemaker:{region}:{account}:monitoring-schedule/{name}",
        "MonitoringScheduleName": name,
        "MonitoringScheduleStatus": "Scheduled",
        "MonitoringType": monitoring_type,
        "EndpointName": endpoint,
        "CreationTime": now,
        "LastModifiedTime": now,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringType": monitoring_type,
        },
    }


def put_processing_job(region: str, detail: dict[str, Any], account: str = DEFAULT_ACCOUNT) -> None:
    """Store a DescribeProcessingJob document (e.g. an event's detail) for DescribeProcessingJob to serve."""
    doc = dict(detail)
    for key in ("CreationTime", "LastModifiedTime", "ProcessingStartTime", "ProcessingEndTime"):
        if isinstance(doc.get(key), int | float):
            doc[key] = datetime.fromtimestamp(doc[key] / 1000, UTC)
    _monitoring(sagemaker_backend(region, account))["jobs"][doc["ProcessingJobName"]] = doc


def _describe_monitoring_schedule(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("MonitoringScheduleName")
    schedule = _monitoring(self.sagemaker_backend)["schedules"].get(name)
    if schedule is None:
        raise SageMakerValidationError(message=f"Could not find monitoring schedule '{name}'.")
    return ActionResult(schedule)


_moto_describe_processing_job = SageMakerResponse.describe_processing_job


def _describe_processing_job(self: SageMakerResponse) -> ActionResult | str:
    job = _monitoring(self.sagemaker_backend)["jobs"].get(self._get_param("ProcessingJobName"))
    if job is None:
        return _moto_describe_processing_job(self)
    # The document as the wire carries it: moto's serializer would refuse a field of another shape (an
    # Environment that is a string), which botocore, parsing an answer, passes on as it is.
    return json.dumps(job, default=str)


def _add_monitoring() -> None:
    SageMakerResponse.describe_monitoring_schedule = _describe_monitoring_schedule
    SageMakerResponse.describe_processing_job = _describe_processing_job


# --- UpdateEndpoint, and deletes blocked by inference components ---------------------------------


def _update_endpoint(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise SageMakerValidationError(message=f"Could not find endpoint '{name}'.")
    config = backend.describe_endpoint_config(config_name)  # raises if missing, as SageMaker does
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.last_modified_time = datetime.now(UTC)
    return ActionResult({"EndpointArn": endpoint.arn})


_moto_delete_endpoint = SageMakerResponse.delete_endpoint


def _delete_endpoint(self: SageMakerResponse) -> Any:
    name = self._get_param("EndpointName")
    if any(c["EndpointName"] == name for c in _components(self.sagemaker_backend).values()):
        raise SageMakerValidationError(
            message=f"Cannot delete endpoint {name} because it has inference components. Delete them first."
        )
    return _moto_delete_endpoint(self)


def _add_endpoint_updates() -> None:
    SageMakerResponse.update_endpoint = _update_endpoint
    SageMakerResponse.delete_endpoint = _delete_endpoint
