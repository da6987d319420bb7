"""Extensions to moto's SageMaker and CloudWatch backends for what sagewatch needs and moto lacks.

- CreateEndpointConfig accepts every ml.* instance type (moto rejects newer families such as g5, inf2)
  and variants without a ModelName (variants that host inference components).
- Inference components: Create/Describe/List/DeleteInferenceComponent(s), UpdateInferenceComponentRuntimeConfig.
- What SageMaker and Application Auto Scaling refuse, and when, with simulated time (sagewatch_testkit.aws_rules:
  each rule names its documentation page): updates of endpoints not InService, of auto scaled variants' types,
  counts from the config unless retained, Creating/Updating/Deleting that take minutes on a virtual clock,
  targets deregistered with their endpoint, policies and scheduled actions with their target, scheduled actions
  that fire, DescribeInferenceComponent's real shape, CloudTrail's delivery delay.
- Endpoint ages and statuses can be set (moto stamps every endpoint "now").
- Model Monitor: DescribeMonitoringSchedule, and DescribeProcessingJob for monitoring runs.
- UpdateEndpoint; DeleteEndpoint refuses while inference components remain (as SageMaker does).
- DescribeEndpoint answers only the members SageMaker's own answer has (moto's adds its Tags), and its
  DataCaptureConfig as the summary SageMaker answers (moto copies the config's); endpoint configs keep their
  ExecutionRoleArn and ShadowProductionVariants (moto drops both), and DescribeEndpoint answers the shadows.
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

- Service Quotas for SageMaker, FilterLogEvents' OR patterns, failure reasons and endpoint logs:
  sagewatch_testkit.serving_aws.
- Cost Explorer's Savings Plans operations and the Savings Plans service: sagewatch_testkit.commitments_aws.
- Compute Optimizer's idle recommendations and Cost Optimization Hub's: sagewatch_testkit.awsview_aws.
- The Price List API's GetProducts (SageMaker hosting prices, from the fixtures): sagewatch_testkit.pricing_aws.

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
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError
from moto.sagemaker.models import FakeEndpointConfig, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from sagewatch_testkit import aws_rules, awsview_aws, commitments_aws, pricing_aws, serving_aws

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
    _add_endpoint_lifecycle()
    _add_metrics_config()
    _add_component_scaling_dimension()
    _add_autoscaling_rules()
    _keep_origin_across_buses()
    _add_lookup_events()
    _tags_of_what_is_missing()
    _keep_config_members()
    _describe_secret_as_aws_does()
    serving_aws.install()
    commitments_aws.install()
    awsview_aws.install()
    pricing_aws.install()
    _installed = True


def _describe_secret_as_aws_does() -> None:
    """moto 5.2's DescribeSecret carries ListSecrets' SecretVersionsToStages too (a member DescribeSecret has not)."""
    from moto.secretsmanager.responses import SecretsManagerResponse

    def describe_secret(self: Any) -> str:
        secret = self.backend.describe_secret(secret_id=self._get_param("SecretId"))
        doc = secret.to_dict()
        doc.pop("SecretVersionsToStages", None)
        return json.dumps(doc)

    SecretsManagerResponse.describe_secret = describe_secret


# What CreateEndpointConfig takes that moto 5.2 drops, and DescribeEndpointConfig answers: configs of
# inference-component endpoints name an ExecutionRoleArn (a restore checks it), and shadow tests add
# ShadowProductionVariants ("CreateEndpointConfig", SageMaker API reference)
KEPT_CONFIG_MEMBERS = ("ExecutionRoleArn", "ShadowProductionVariants")


def _keep_config_members() -> None:
    create, describe = SageMakerResponse.create_endpoint_config, SageMakerModelBackend.describe_endpoint_config
    delete = SageMakerResponse.delete_endpoint_config

    def kept(backend: SageMakerModelBackend) -> dict[str, dict[str, Any]]:
        store: dict[str, dict[str, Any]] = backend.__dict__.setdefault("_sagewatch_config_members", {})
        return store

    def create_endpoint_config(self: SageMakerResponse) -> ActionResult:
        result = create(self)
        name = self._get_param("EndpointConfigName")
        members = {k: self._get_param(k) for k in KEPT_CONFIG_MEMBERS if self._get_param(k)}
        if members:
            kept(self.sagemaker_backend)[name] = members
        return result

    def describe_endpoint_config(self: SageMakerModelBackend, name: str) -> Any:
        response = describe(self, name)
        return {**response, **kept(self).get(name, {})}

    def answer_endpoint_config(self: SageMakerResponse) -> ActionResult:
        # SageMaker leaves out what a config does not set; moto answers an empty DataCaptureConfig
        response = self.sagemaker_backend.describe_endpoint_config(self._get_param("EndpointConfigName"))
        return ActionResult({k: v for k, v in response.items() if v not in (None, {})})

    def delete_endpoint_config(self: SageMakerResponse) -> Any:
        kept(self.sagemaker_backend).pop(self._get_param("EndpointConfigName"), None)
        return delete(self)

    SageMakerResponse.create_endpoint_config = create_endpoint_config
    SageMakerModelBackend.describe_endpoint_config = describe_endpoint_config
    SageMakerResponse.describe_endpoint_config = answer_endpoint_config
    SageMakerResponse.delete_endpoint_config = delete_endpoint_config


def shadow_summaries(backend: SageMakerModelBackend, config_name: str) -> list[dict[str, Any]]:
    """DescribeEndpoint's ShadowProductionVariants: a ProductionVariantSummary of each shadow variant of the
    endpoint's config, at the count and weight it was deployed with (the test kit never scales shadows)."""
    try:
        config = backend.describe_endpoint_config(config_name)
    except SageMakerValidationError:
        return []
    out = []
    for v in config.get("ShadowProductionVariants") or []:
        summary: dict[str, Any] = {"VariantName": v["VariantName"]}
        weight = float(v.get("InitialVariantWeight", 1.0))
        summary |= {"CurrentWeight": weight, "DesiredWeight": weight}
        if v.get("ServerlessConfig"):
            summary["CurrentServerlessConfig"] = summary["DesiredServerlessConfig"] = v["ServerlessConfig"]
        else:
            count = int(v.get("InitialInstanceCount", 1))
            summary |= {"CurrentInstanceCount": count, "DesiredInstanceCount": count}
        out.append(summary)
    return out


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


def put_trail_event(
    region: str, record: dict[str, Any], account: str = DEFAULT_ACCOUNT, delivered: datetime | None = None
) -> None:
    """One CloudTrail record (as CloudTrail writes it) into the event history LookupEvents reads, from
    `delivered` on (default: its event time plus CloudTrail's delivery delay, aws_rules.DURATIONS)."""
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
            "_delivered": delivered
            or datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
            + timedelta(seconds=aws_rules.DURATIONS.trail_delivery),
        }
    )


def _lookup_events(self: Any) -> ActionResult:
    from moto.core.exceptions import JsonRESTError

    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        raise JsonRESTError("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    keys = {"EventName": "EventName", "Username": "Username", "EventSource": "EventSource", "EventId": "EventId"}
    # an event is in the history once CloudTrail has delivered it: minutes after its call
    now = aws_rules.CLOCK.now()
    events = [e for e in _trail(self.cloudtrail_backend) if e["_delivered"] <= now]
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
    page: dict[str, Any] = {
        "Events": [{k: v for k, v in e.items() if not k.startswith("_")} for e in events[offset : offset + size]]
    }
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
    return aws_rules._components(backend)


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


def _add_inference_components() -> None:
    SageMakerResponse.create_inference_component = aws_rules.create_inference_component
    SageMakerResponse.describe_inference_component = aws_rules.describe_inference_component
    SageMakerResponse.list_inference_components = _list_inference_components
    SageMakerResponse.delete_inference_component = aws_rules.delete_inference_component
    SageMakerResponse.update_inference_component_runtime_config = aws_rules.update_component_runtime_config


def sagemaker_backend(region: str, account: str = DEFAULT_ACCOUNT) -> SageMakerModelBackend:
    """The backend as it is now on the test kit's clock (what simulated time has finished, finished)."""
    backend = sagemaker_backends[account][region]
    aws_rules.settle(backend)
    return backend


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
    """DescribeEndpoint as SageMaker answers it: only its own members (moto's FakeEndpoint adds Tags), with
    MetricsConfig (moto drops CreateEndpointConfig's: set_enhanced_metrics stands in), while an update runs,
    PendingDeploymentSummary, and its config's shadow variants."""
    original = SageMakerModelBackend.describe_endpoint

    def describe_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
        response = {k: v for k, v in dict(original(self, endpoint_name)).items() if k in DESCRIBE_ENDPOINT}
        config = _metrics_configs(self).get(endpoint_name)
        if config:
            response["MetricsConfig"] = config
        pending = aws_rules.pending_summary(self, endpoint_name)
        if pending:
            response["PendingDeploymentSummary"] = pending
        shadows = shadow_summaries(self, response["EndpointConfigName"])
        if shadows:
            response["ShadowProductionVariants"] = shadows
        return response

    SageMakerModelBackend.describe_endpoint = describe_endpoint  # type: ignore[method-assign]


def _metrics_configs(backend: SageMakerModelBackend) -> dict[str, dict[str, Any]]:
    store: dict[str, dict[str, Any]] = backend.__dict__.setdefault("_sagewatch_metrics_configs", {})
    return store


def set_enhanced_metrics(region: str, name: str, enabled: bool = True, account: str = DEFAULT_ACCOUNT) -> None:
    """What MetricsConfig.EnableEnhancedMetrics in the endpoint's config would show in DescribeEndpoint."""
    config = {"EnableEnhancedMetrics": enabled, "MetricPublishFrequencyInSeconds": 60}
    _metrics_configs(sagemaker_backend(region, account))[name] = config


def set_endpoint_status(region: str, name: str, status: str, account: str = DEFAULT_ACCOUNT) -> None:
    """The endpoint is `status` from now on (whatever it was going through is finished first)."""
    aws_rules.settle_now(region, name, account)
    sagemaker_backend(region, account).endpoints[name].endpoint_status = status


def in_service(region: str, names: list[str] | None = None, account: str = DEFAULT_ACCOUNT) -> None:
    """Endpoints (all, or `names`) and their inference components done with whatever they were going through, as
    if the minutes they take had passed (a seeded fleet starts InService)."""
    backend = sagemaker_backend(region, account)
    for name in list(names if names is not None else backend.endpoints):
        aws_rules.settle_now(region, name, account)
    for component in _components(backend).values():
        if names is None or component["EndpointName"] in names:
            component.pop("_until", None)
            if component["InferenceComponentStatus"] in ("Creating", "Updating"):
                component["InferenceComponentStatus"] = "InService"
                runtime = component["RuntimeConfig"]
                runtime["CurrentCopyCount"] = runtime["DesiredCopyCount"]


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
    # Environment that is a string), which botocore, parsing an answer, passes on as it is. Only the members
    # DescribeProcessingJob has: an event's detail carries more (Tags)
    return json.dumps({k: v for k, v in job.items() if k in _processing_job_members()}, default=str)


def _processing_job_members() -> frozenset[str]:
    import botocore.session

    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("DescribeProcessingJobResponse")
    return frozenset(shape.members)


def _add_monitoring() -> None:
    SageMakerResponse.describe_monitoring_schedule = _describe_monitoring_schedule
    SageMakerResponse.describe_processing_job = _describe_processing_job


# --- the endpoint lifecycle: sagewatch_testkit.aws_rules ------------------------------------------------

# What DescribeEndpoint answers (botocore's DescribeEndpointOutput): moto's FakeEndpoint carries more (its Tags)
DESCRIBE_ENDPOINT = (
    "EndpointName",
    "EndpointArn",
    "EndpointConfigName",
    "ProductionVariants",
    "DataCaptureConfig",
    "EndpointStatus",
    "ShadowProductionVariants",
    "FailureReason",
    "CreationTime",
    "LastModifiedTime",
    "AsyncInferenceConfig",
    "PendingDeploymentSummary",
    "MetricsConfig",
)


def _add_endpoint_lifecycle() -> None:
    """Every SageMaker and Application Auto Scaling request first settles what simulated time has finished;
    creates, updates and deletes take the time they take and are refused when AWS refuses them."""
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    sagemaker = SageMakerResponse.sagemaker_backend
    autoscaling = ApplicationAutoScalingResponse.applicationautoscaling_backend

    def settled_sagemaker(self: SageMakerResponse) -> SageMakerModelBackend:
        backend = sagemaker.fget(self)  # type: ignore[attr-defined]
        aws_rules.settle(backend)
        return backend  # type: ignore[no-any-return]

    def settled_autoscaling(self: Any) -> Any:
        aws_rules.settle(sagemaker_backend(self.region, self.current_account))
        return autoscaling.fget(self)  # type: ignore[attr-defined]

    def describe_endpoint(self: SageMakerResponse) -> ActionResult:
        # SageMaker leaves out what an endpoint does not have; moto answers an empty DataCaptureConfig
        response = self.sagemaker_backend.describe_endpoint(self._get_param("EndpointName"))
        answer = {k: v for k, v in response.items() if v not in (None, {})}
        if answer.get("DataCaptureConfig"):
            answer["DataCaptureConfig"] = _capture_summary(answer["DataCaptureConfig"])
        return ActionResult(answer)

    SageMakerResponse.describe_endpoint = describe_endpoint
    SageMakerResponse.sagemaker_backend = property(settled_sagemaker)  # type: ignore[assignment,method-assign]
    ApplicationAutoScalingResponse.applicationautoscaling_backend = property(settled_autoscaling)  # type: ignore[method-assign]
    create = SageMakerResponse.create_endpoint

    def create_endpoint(self: SageMakerResponse) -> Any:
        answer = create(self)
        aws_rules.after_create_endpoint(self.sagemaker_backend, self._get_param("EndpointName"))
        return answer

    SageMakerResponse.create_endpoint = create_endpoint
    SageMakerResponse.update_endpoint = aws_rules.update_endpoint
    SageMakerResponse.update_endpoint_weights_and_capacities = aws_rules.update_weights_and_capacities
    SageMakerResponse.delete_endpoint = aws_rules.delete_endpoint


def _add_autoscaling_rules() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Response

    for name, rule in (
        ("register_scalable_target", aws_rules.register_scalable_target),
        ("deregister_scalable_target", aws_rules.deregister_scalable_target),
        ("put_scaling_policy", aws_rules.put_scaling_policy),
        ("put_scheduled_action", aws_rules.put_scheduled_action),
    ):
        original = getattr(Response, name)
        setattr(Response, name, lambda self, rule=rule, original=original: rule(self, original))


def _capture_summary(config: dict[str, Any]) -> dict[str, Any]:
    """DescribeEndpoint answers a DataCaptureConfigSummary (its capture status and current sampling), not the
    config's DataCaptureConfig that moto copies ("DescribeEndpoint", SageMaker API reference). KmsKeyId is
    required there: the config's key, else the empty text (the test kit's buckets use S3's own encryption)."""
    enabled = config.get("EnableCapture") is not False
    return {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": int(config.get("InitialSamplingPercentage") or 0),
        "DestinationS3Uri": str(config.get("DestinationS3Uri") or ""),
        "KmsKeyId": str(config.get("KmsKeyId") or ""),
    }
