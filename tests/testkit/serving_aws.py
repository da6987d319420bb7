"""What the keep-serving checks read, where moto lacks it or answers what AWS would not.

- Service Quotas for ServiceCode `sagemaker` (moto 5.x knows only `vpc` and answers NoSuchResourceException):
  ListAWSDefaultServiceQuotas and ListServiceQuotas with the real answer's shape, 100 a page at most
  (MaxResults, NextToken). The defaults are the test kit's (each catalog type's "ml.X for endpoint usage": 20 for
  CPU types, 10 for accelerated ones), not AWS's: real defaults differ by type and account, and many GPU types
  default to 0. ListServiceQuotas answers only quotas with an applied value ("If the applied quota value is not
  available for a quota, the quota is not retrieved", Service Quotas API reference, ListServiceQuotas): set them
  with `set_service_quota`.
- FilterLogEvents' filter pattern: moto matches one term, and any pattern it cannot parse (`?"a" ?"b"`, the OR of
  quoted terms that sagewatch sends) matches *every* line. CloudWatch Logs matches a line that contains any `?`
  term, case-sensitively ("Filter pattern syntax for metric filters, subscription filters, filter log events and
  Live Tail", Matching terms in unstructured log events); so does the test kit.
- DescribeModel answers only what the model has and SageMaker's answer holds: moto adds its Tags, an empty
  VpcConfig (botocore's shape requires its SecurityGroupIds and Subnets) and an empty Containers list.
- DescribeScalingPolicies names, in each policy's `Alarms`, the CloudWatch alarms whose actions invoke it (what
  makes a step scaling policy act; "Step scaling policies for Application Auto Scaling": the alarm is created
  with the policy's ARN as its action). moto lists only the alarms it generates itself for DynamoDB and ECS.
- An endpoint's `FailureReason` (an update that failed and rolled back leaves it on an InService endpoint,
  DescribeEndpoint API reference): `set_failure_reason`.
- An endpoint's log lines: `put_endpoint_log` writes them to `/aws/sagemaker/Endpoints/<name>`, stream
  `<variant>/<instance-id>` as SageMaker names them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sagewatch.catalog import Accelerator, Catalog

DEFAULT_ACCOUNT = "123456789012"
PAGE = 100  # the most MaxResults allows
USES = ("endpoint", "training job", "processing job")
CPU_DEFAULT = 20.0
ACCELERATED_DEFAULT = 10.0

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _add_sagemaker_quotas()
    _or_of_quoted_terms()
    _describe_model_as_aws_does()
    _alarms_that_drive_policies()
    _installed = True


# --- Service Quotas ------------------------------------------------------------------------------------


def _applied(backend: Any) -> dict[str, float]:
    store: dict[str, float] = backend.__dict__.setdefault("_sagewatch_applied", {})
    return store


def set_service_quota(region: str, instance_type: str, value: float, account: str = DEFAULT_ACCOUNT) -> None:
    """The applied value of "`instance_type` for endpoint usage" in this account and region."""
    from moto.servicequotas.models import servicequotas_backends

    _applied(servicequotas_backends[account][region])[instance_type] = float(value)


def quota_code(instance_type: str) -> str:
    """A stable code in AWS's shape (L- and 8 hex digits); the real codes are AWS's own."""
    return "L-" + hashlib.sha256(instance_type.encode()).hexdigest()[:8].upper()


def _quota(instance_type: str, value: float, region: str, account: str, use: str = "endpoint") -> dict[str, Any]:
    code = quota_code(instance_type if use == "endpoint" else f"{instance_type} {use}")
    return {
        "ServiceCode": "sagemaker",
        "ServiceName": "Amazon SageMaker",
        "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:sagemaker/{code}",
        "QuotaCode": code,
        "QuotaName": f"{instance_type} for {use} usage",
        "Value": value,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
        "QuotaAppliedAtLevel": "ACCOUNT",
    }


def _defaults() -> dict[str, float]:
    return {
        s.instance_type: (CPU_DEFAULT if s.accelerator is Accelerator.CPU else ACCELERATED_DEFAULT)
        for s in Catalog.load()
    }


def _paged(self: Any, quotas: list[dict[str, Any]]) -> str:
    from moto.core.exceptions import JsonRESTError

    params = json.loads(self.body or "{}")
    size = int(params.get("MaxResults") or PAGE)
    if not 1 <= size <= PAGE:
        raise JsonRESTError("ValidationException", f"MaxResults must be between 1 and {PAGE}")
    token = params.get("NextToken")
    offset = 0
    if token:
        if not re.fullmatch(r"\d+", str(token)) or int(token) > len(quotas):
            raise JsonRESTError("InvalidPaginationTokenException", "Invalid pagination token")
        offset = int(token)
    page: dict[str, Any] = {"Quotas": quotas[offset : offset + size]}
    if offset + size < len(quotas):
        page["NextToken"] = str(offset + size)
    return json.dumps(page)


def _add_sagemaker_quotas() -> None:
    from moto.servicequotas.responses import ServiceQuotasResponse

    original_defaults = ServiceQuotasResponse.list_aws_default_service_quotas

    def list_aws_default_service_quotas(self: Any) -> str:
        if json.loads(self.body or "{}").get("ServiceCode") != "sagemaker":
            return original_defaults(self)  # type: ignore[no-any-return]
        region, account = self.region, self.current_account
        # SageMaker's quotas name other uses of the same types too (sagewatch must read only endpoint usage)
        quotas = [_quota(t, v, region, account, use) for t, v in sorted(_defaults().items()) for use in USES]
        return _paged(self, quotas)

    def list_service_quotas(self: Any) -> str:
        from moto.core.exceptions import JsonRESTError

        if json.loads(self.body or "{}").get("ServiceCode") != "sagemaker":
            raise JsonRESTError(
                "NoSuchResourceException", "The request failed because the specified service does not exist."
            )
        applied = _applied(self.backend)
        region, account = self.region, self.current_account
        return _paged(self, [_quota(t, v, region, account) for t, v in sorted(applied.items())])

    ServiceQuotasResponse.list_aws_default_service_quotas = list_aws_default_service_quotas  # type: ignore[method-assign]
    ServiceQuotasResponse.list_service_quotas = list_service_quotas  # type: ignore[attr-defined]


def _alarms_that_drive_policies() -> None:
    import moto.applicationautoscaling.responses as aas_responses
    from moto.cloudwatch.models import cloudwatch_backends

    own = aas_responses._build_alarms

    def build_alarms(policy: Any) -> list[dict[str, str]]:
        _, _, _, region, account = policy.policy_arn.split(":")[:5]
        alarms = cloudwatch_backends[account][region].alarms.values()
        driving = [
            {"AlarmARN": a.alarm_arn, "AlarmName": a.name}
            for a in alarms
            if policy.policy_arn in (a.alarm_actions or [])
        ]
        return [*own(policy), *sorted(driving, key=lambda a: a["AlarmName"])]

    aas_responses._build_alarms = build_alarms


# --- CloudWatch Logs --------------------------------------------------------------------------------------

_TERM = re.compile(r'\?\s*"((?:[^"\\]|\\.)*)"|\?\s*([^\s"]+)')


class _AnyTerm:
    """A pattern of `?` terms: a line matches when it contains any of them (case-sensitive, as CloudWatch Logs)."""

    def __init__(self, terms: list[str]):
        self.terms = terms

    def matches(self, message: str) -> bool:
        return any(t in message for t in self.terms)


def _or_of_quoted_terms() -> None:
    import moto.logs.models as logs_models

    original = logs_models.EventMessageFilter

    class EventMessageFilter(original):  # type: ignore[misc,valid-type]
        def __init__(self, pattern: str):
            text = (pattern or "").strip()
            if text.startswith("?"):
                terms = [quoted or bare for quoted, bare in _TERM.findall(text)]
                if _TERM.sub("", text).strip():
                    raise ValueError(f"the test kit cannot read this filter pattern: {pattern!r}")
                self.filter_type = _AnyTerm(terms)
                return
            super().__init__(pattern)

    logs_models.EventMessageFilter = EventMessageFilter  # type: ignore[misc]


def put_endpoint_log(
    region: str,
    endpoint: str,
    lines: Iterable[tuple[datetime, str]],
    *,
    variant: str = "AllTraffic",
    instance: str = "i-0a1b2c3d4e5f60718",
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """Lines in the endpoint's log group, as SageMaker's containers write them (one stream per instance). CloudWatch
    Logs keeps only events of the last 14 days (and at most 2 hours ahead) that PutLogEvents accepts."""
    from moto.logs.models import logs_backends

    backend = logs_backends[account][region]
    group, stream = f"/aws/sagemaker/Endpoints/{endpoint}", f"{variant}/{instance}"
    if group not in backend.groups:
        backend.create_log_group(group, {})
    backend.ensure_log_stream(group, stream)
    events = sorted((int(at.timestamp() * 1000), line) for at, line in lines)
    for start in range(0, len(events), 1000):
        backend.put_log_events(group, stream, [{"timestamp": t, "message": m} for t, m in events[start : start + 1000]])


# --- SageMaker ------------------------------------------------------------------------------------------

DESCRIBE_MODEL = (  # botocore's DescribeModelOutput
    "ModelName",
    "PrimaryContainer",
    "Containers",
    "InferenceExecutionConfig",
    "ExecutionRoleArn",
    "VpcConfig",
    "CreationTime",
    "ModelArn",
    "EnableNetworkIsolation",
    "DeploymentRecommendation",
)


def _describe_model_as_aws_does() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.responses import SageMakerResponse

    def describe_model(self: Any) -> ActionResult:
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        answer = model.response_object
        return ActionResult({k: answer[k] for k in DESCRIBE_MODEL if answer.get(k) not in (None, {}, [])})

    SageMakerResponse.describe_model = describe_model


def set_failure_reason(region: str, endpoint: str, reason: str | None, account: str = DEFAULT_ACCOUNT) -> None:
    """The FailureReason DescribeEndpoint answers (None: none)."""
    from moto.sagemaker.models import sagemaker_backends

    found = sagemaker_backends[account][region].endpoints[endpoint]
    found.failure_reason = reason


def set_component_failure_reason(
    region: str, component: str, reason: str | None, account: str = DEFAULT_ACCOUNT
) -> None:
    """The FailureReason DescribeInferenceComponent answers (an InService component whose update rolled back)."""
    from moto.sagemaker.models import sagemaker_backends

    from sagewatch_testkit import aws_rules

    found = aws_rules._components(sagemaker_backends[account][region])[component]
    if reason is None:
        found.pop("FailureReason", None)
    else:
        found["FailureReason"] = reason
