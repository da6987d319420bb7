"""The IAM contract: every AWS call a function (or the CLI) makes, turned into the IAM action and resource it
needs, checked against the role the template gives it. moto never enforces IAM; this does, offline.

- `CallRecorder` records every call made through botocore in this process (botocore's before-call event, on
  every client created while it is active).
- `needs(call)` turns one call into what IAM must allow: its action(s), the resource ARN(s) and the condition
  keys the call sets (ses:FromAddress, iam:PassedToService...). Some calls need no permission
  (sts:GetCallerIdentity); some need one more than their name says (S3 GetObject of a version needs
  s3:GetObjectVersion; CreateEndpointConfig with an ExecutionRoleArn needs iam:PassRole on it).
- `function_policy(template, function, parameters)` is the function's policy as CloudFormation would create it
  for those parameter values: conditions evaluated (standalone, member, central, routed), Fn::If resolved,
  SAM policy templates expanded, intrinsic functions resolved with the physical names the tests use.
- `allowed(policy, need)` evaluates it as IAM does for one identity policy: an explicit Deny wins, else an
  Allow whose action, resource and conditions match.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.client
from samcli.yamlhelper import yaml_parse

from sagewatch_testkit.sam_translate import for_role

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"

# botocore service name -> IAM service prefix, where they differ
PREFIX = {
    "resourcegroupstaggingapi": "tag",
    "sesv2": "ses",
    "stepfunctions": "states",
    "monitoring": "cloudwatch",
    "service-quotas": "servicequotas",
}
# calls no IAM policy has to allow
NO_PERMISSION = {("sts", "GetCallerIdentity"): "anyone may ask who they are"}
# the IAM action of an operation, where it is not service:Operation
ACTION = {
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    # "Actions, resources, and condition keys for Amazon S3": GetBucketLifecycleConfiguration needs
    # s3:GetLifecycleConfiguration
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
    ("sesv2", "SendEmail"): "SendEmail",
    ("lambda", "Invoke"): "InvokeFunction",
}
# The stack's id as CloudFormation gives it (its last part names the fan-out state machine)
STACK_UUID = "6e1c0a2e-7b1d-4c55-9f0e-2d3b8a4c1f00"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/sw/{STACK_UUID}"
FAN_OUT_STATE_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:sagewatch-scan-{STACK_UUID}"
# The physical names the tests give the template's resources (events/env.json, the sam local suite).
PHYSICAL = {
    "StateTable": "sagewatch-state",
    "IdempotencyTable": "sagewatch-idempotency",
    "OrgStateTable": "sagewatch-org",
    "RemediationBucket": "sagewatch-remediation",
    "AlertTopic": "sagewatch",
    "OrgEventBus": "sagewatch-org",
    "StackKey": "contract-key",
    "RemediateFunction": "sagewatch-RemediateFunction",  # what events/env.json names
}


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name
    operation: str
    params: Mapping[str, Any]
    region: str

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass(frozen=True)
class Need:
    """What IAM must allow for one call: an action on a resource, with the condition keys the call sets."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    call: str = ""

    def __str__(self) -> str:
        keys = "".join(f" {k}={list(v)}" for k, v in self.context.items())
        return f"{self.action} on {self.resource}{keys} (for {self.call})"


class CallRecorder:
    """Every AWS call made in this process while active (before-call on every client created meanwhile)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    @contextmanager
    def recording(self) -> Iterator[CallRecorder]:
        original = botocore.client.BaseClient._make_api_call

        def record(client: Any, operation: str, params: Mapping[str, Any]) -> Any:
            model = client.meta.service_model
            self.calls.append(Call(model.service_name, operation, dict(params), client.meta.region_name))
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = record  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]

    def take(self) -> list[Call]:
        calls, self.calls = self.calls, []
        return calls


# --- a call -> what it needs --------------------------------------------------------------------------------


def _arn(service: str, region: str, resource: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _sagemaker(call: Call) -> list[str]:
    """The resource a SageMaker call acts on (ARNs carry names in lower case, as SageMaker writes them)."""
    p, r, op = call.params, call.region, call.operation
    if "InferenceComponentName" in p:
        return [_arn("sagemaker", r, f"inference-component/{str(p['InferenceComponentName']).lower()}")]
    if op.endswith("EndpointConfig"):
        return [_arn("sagemaker", r, f"endpoint-config/{str(p['EndpointConfigName']).lower()}")]
    if "EndpointName" in p:  # UpdateEndpoint names a config too: it acts on the endpoint
        return [_arn("sagemaker", r, f"endpoint/{str(p['EndpointName']).lower()}")]
    if "ModelName" in p and op == "DescribeModel":
        return [_arn("sagemaker", r, f"model/{str(p['ModelName']).lower()}")]
    if "ProcessingJobName" in p:
        return [_arn("sagemaker", r, f"processing-job/{str(p['ProcessingJobName']).lower()}")]
    if "MonitoringScheduleName" in p:
        return [_arn("sagemaker", r, f"monitoring-schedule/{str(p['MonitoringScheduleName']).lower()}")]
    if "ResourceArn" in p:
        return [str(p["ResourceArn"])]
    return ["*"]  # List* and the like: no resource-level permissions


def _resources(call: Call) -> list[str]:  # noqa: C901 - one branch a service, read top to bottom
    p, r, s = call.params, call.region, call.service
    if s == "sagemaker":
        return _sagemaker(call)
    if s == "dynamodb":
        if call.operation in ("BatchWriteItem", "BatchGetItem"):
            return [_arn("dynamodb", r, f"table/{t}") for t in p["RequestItems"]]
        return [_arn("dynamodb", r, f"table/{p['TableName']}")]
    if s == "s3":
        if "Key" in p:
            return [f"arn:aws:s3:::{p['Bucket']}/{p['Key']}"]
        return [f"arn:aws:s3:::{p['Bucket']}"] if "Bucket" in p else ["*"]
    if s == "sns":
        return [str(p.get("TopicArn") or p.get("TargetArn") or "*")]
    if s == "sqs":
        url = str(p.get("QueueUrl", ""))
        return [_arn("sqs", r, url.rstrip("/").rsplit("/", 1)[-1])] if url else ["*"]
    if s == "events" and call.operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in p["Entries"]}
        return [b if b.startswith("arn:") else _arn("events", r, f"event-bus/{b}") for b in sorted(buses)]
    if s == "secretsmanager":
        secret = str(p.get("SecretId", "*"))
        return [secret if secret.startswith("arn:") else _arn("secretsmanager", r, f"secret:{secret}")]
    if s == "ssm" and "Name" in p:
        name = str(p["Name"])
        return [_arn("ssm", r, f"parameter{name if name.startswith('/') else '/' + name}")]
    if s == "sesv2":
        return [_arn("ses", r, f"identity/{p.get('FromEmailAddress', '*')}")]
    if s == "cloudwatch" and call.operation == "PutMetricAlarm":
        return [_arn("cloudwatch", r, f"alarm:{p['AlarmName']}")]
    if s == "cloudwatch" and call.operation == "DescribeAlarms" and p.get("AlarmNames"):
        return [_arn("cloudwatch", r, f"alarm:{name}") for name in p["AlarmNames"]]
    if s == "ecr" and "repositoryName" in p:
        return [_arn("ecr", r, f"repository/{p['repositoryName']}", str(p.get("registryId") or ACCOUNT))]
    if s == "iam" and "RoleName" in p:
        return [f"arn:aws:iam::{ACCOUNT}:role/{p['RoleName']}"]
    if s == "logs" and "logGroupName" in p:
        return [_arn("logs", r, f"log-group:{p['logGroupName']}")]
    if s == "cloudwatch" and call.operation == "DeleteAlarms":
        return [_arn("cloudwatch", r, f"alarm:{name}") for name in p["AlarmNames"]]
    if s == "application-autoscaling" and call.operation in (
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "DeregisterScalableTarget",
        "DeleteScalingPolicy",
        "PutScheduledAction",
        "DeleteScheduledAction",
    ):
        return [_arn("application-autoscaling", r, "scalable-target/contract")]  # its id is AWS's own
    if s == "cloudformation" and "StackName" in p:
        # a stack's ARN ends in its unique id, which a policy matches with stack/NAME/*
        name = str(p["StackName"])
        return [name if name.startswith("arn:") else _arn("cloudformation", r, f"stack/{name}/id")]
    if s == "stepfunctions" and "stateMachineArn" in p:
        return [str(p["stateMachineArn"])]
    if s == "lambda" and "FunctionName" in p:
        name = str(p["FunctionName"])
        return [name if name.startswith("arn:") else _arn("lambda", r, f"function:{name}")]
    return ["*"]


def _context(call: Call) -> dict[str, tuple[str, ...]]:
    p = call.params
    if call.service == "sesv2" and call.operation == "SendEmail":
        to = p.get("Destination") or {}
        recipients = [*to.get("ToAddresses", []), *to.get("CcAddresses", []), *to.get("BccAddresses", [])]
        return {"ses:FromAddress": (str(p.get("FromEmailAddress")),), "ses:Recipients": tuple(recipients)}
    if call.service == "dynamodb" and call.operation == "BatchWriteItem":
        # every item's partition key: a ForAllValues condition on dynamodb:LeadingKeys must hold for each
        keys = [
            (w.get("PutRequest", {}).get("Item") or w.get("DeleteRequest", {}).get("Key") or {}).get("id", {})
            for writes in p["RequestItems"].values()
            for w in writes
        ]
        return {"dynamodb:LeadingKeys": tuple(str(k.get("S", "")) for k in keys)}
    if call.service == "s3" and call.operation in ("ListObjectsV2", "ListObjects") and "Prefix" in p:
        return {"s3:prefix": (str(p["Prefix"]),)}
    if call.service == "dynamodb" and call.operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        key = p.get("Key") or p.get("Item") or {}  # the partition key's value: what dynamodb:LeadingKeys sees
        return {"dynamodb:LeadingKeys": (str(key.get("id", {}).get("S", "")),)}
    if call.service == "application-autoscaling" and "ServiceNamespace" in p:
        # the service-defined keys Application Auto Scaling sets (list_awsapplicationautoscaling.html)
        out = {"application-autoscaling:service-namespace": (str(p["ServiceNamespace"]),)}
        if "ScalableDimension" in p:
            out["application-autoscaling:scalable-dimension"] = (str(p["ScalableDimension"]),)
        return out
    return {}


def needs(call: Call) -> list[Need]:
    """What IAM must allow for `call` (none for the calls in NO_PERMISSION)."""
    if (call.service, call.operation) in NO_PERMISSION:
        return []
    prefix = PREFIX.get(call.service, call.service)
    action = f"{prefix}:{ACTION.get((call.service, call.operation), call.operation)}"
    if call.service == "s3" and call.operation in ("GetObject", "HeadObject") and call.params.get("VersionId"):
        action = "s3:GetObjectVersion"
    out = [Need(action, r, _context(call), str(call)) for r in _resources(call)]
    if call.service == "sagemaker" and call.operation.startswith("Create") and call.params.get("Tags"):
        out += [Need("sagemaker:AddTags", r, {}, f"{call} (tags on create)") for r in _resources(call)]
    role = call.params.get("ExecutionRoleArn") if call.service == "sagemaker" else None
    if role:  # SageMaker checks that the caller may pass the role it names
        out.append(Need("iam:PassRole", str(role), {"iam:PassedToService": ("sagemaker.amazonaws.com",)}, str(call)))
    return out


# --- a template's role -> statements --------------------------------------------------------------------------


def _resolve(node: Any, template: Mapping[str, Any], params: Mapping[str, str]) -> Any:  # noqa: C901
    if isinstance(node, list):
        return [_resolve(n, template, params) for n in node]
    if not isinstance(node, dict):
        return node
    if len(node) != 1:
        return {k: _resolve(v, template, params) for k, v in node.items()}
    ((fn, arg),) = node.items()
    if fn == "Ref":
        return _ref(arg, template, params)
    if fn == "Fn::GetAtt":
        name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        return _attribute(name, attribute, template)
    if fn == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: _resolve(v, template, params) for k, v in variables.items()}

        def substitute(m: re.Match[str]) -> str:
            key = m.group(1)
            if key in values:
                return str(values[key])
            if "." in key:
                return str(_attribute(*key.split(".", 1), template))
            return str(_ref(key, template, params))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)
    if fn == "Fn::Select":
        return _resolve(arg[1], template, params)[int(arg[0])]
    if fn == "Fn::Split":
        return str(_resolve(arg[1], template, params)).split(arg[0])
    if fn == "Fn::Join":
        return arg[0].join(str(v) for v in _resolve(arg[1], template, params))
    return {k: _resolve(v, template, params) for k, v in node.items()}


def _ref(name: str, template: Mapping[str, Any], params: Mapping[str, str]) -> str:
    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": "sw",
        "AWS::StackId": STACK_ID,
    }
    if name in pseudo:
        return pseudo[name]
    if name in params:
        return str(params[name])
    resource = template["Resources"][name]
    if resource["Type"] == "AWS::SNS::Topic":
        return _arn("sns", REGION, PHYSICAL[name])
    return PHYSICAL.get(name, name)


def _attribute(name: str, attribute: str, template: Mapping[str, Any]) -> str:
    kind = template["Resources"][name]["Type"]
    physical = PHYSICAL.get(name, name)
    if attribute == "TopicName":
        return physical
    if attribute == "QueueName":
        return physical
    arns = {
        "AWS::DynamoDB::Table": _arn("dynamodb", REGION, f"table/{physical}"),
        "AWS::S3::Bucket": f"arn:aws:s3:::{physical}",
        "AWS::SQS::Queue": _arn("sqs", REGION, physical),
        "AWS::KMS::Key": _arn("kms", REGION, f"key/{physical}"),
        "AWS::Events::EventBus": _arn("events", REGION, f"event-bus/{physical}"),
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{physical}",
        "AWS::Serverless::Function": _arn("lambda", REGION, f"function:{physical}"),
    }
    return arns.get(kind, f"arn:aws:unknown:::{name}")


def _sam_template_statements(name: str, args: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The SAM policy templates the template uses, as SAM expands them."""
    if name == "SNSPublishMessagePolicy":
        return [{"Effect": "Allow", "Action": "sns:Publish", "Resource": _arn("sns", REGION, args["TopicName"])}]
    raise AssertionError(f"SAM policy template {name} is not known to the IAM contract test: add its expansion")


def function_policy(function: str, parameters: Mapping[str, str], template_path: Path = ROOT / "template.yaml"):
    """The statements of `function`'s role for these parameter values; None when the function is not created."""
    raw = yaml_parse(template_path.read_text())
    template = for_role(raw, dict(parameters))
    resource = template["Resources"].get(function)
    if resource is None:
        return None
    params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    statements: list[dict[str, Any]] = []
    for policy in resource["Properties"].get("Policies", []):
        if "PolicyDocument" in policy:  # an AWS::IAM::Role's inline policy (the fan-out state machine's)
            statements += _resolve(policy["PolicyDocument"]["Statement"], template, params)
        elif "Statement" in policy:
            statements += _resolve(policy["Statement"], template, params)
        else:
            ((name, args),) = policy.items()
            statements += _sam_template_statements(name, _resolve(args, template, params))
    return statements


def role_policy(path: Path, role: str, parameters: Mapping[str, str]) -> list[dict[str, Any]]:
    """The inline policies of an AWS::IAM::Role in a plain CloudFormation template (org/scan-role.yaml)."""
    template = yaml_parse(path.read_text())
    params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()} | dict(parameters)
    statements: list[dict[str, Any]] = []
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        statements += _resolve(policy["PolicyDocument"]["Statement"], template, params)
    return statements


# --- evaluation ---------------------------------------------------------------------------------------------


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _match(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _condition_holds(conditions: Mapping[str, Any], context: Mapping[str, tuple[str, ...]]) -> bool:
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            wanted = _listed(expected)
            values = context.get(key)
            if operator.startswith("ForAllValues:"):
                base = operator.split(":", 1)[1]
                if values is None:
                    continue  # no value: ForAllValues holds
                if not all(_holds(base, w, v) for v in values for w in [wanted]):
                    return False
                continue
            if values is None:
                return False  # the key is absent: the condition does not hold
            if not any(_holds(operator, wanted, v) for v in values):
                return False
    return True


def _holds(operator: str, wanted: list[str], value: str) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return value in wanted
    if operator == "StringEqualsIgnoreCase":
        return value.lower() in {w.lower() for w in wanted}
    if operator in ("StringLike", "ArnLike"):
        return any(_match(w, value) for w in wanted)
    if operator in ("StringNotEquals", "ArnNotEquals"):
        return value not in wanted
    if operator == "Bool":
        return value.lower() in {w.lower() for w in wanted}
    raise AssertionError(f"condition operator {operator} is not known to the IAM contract test")


def _applies(statement: Mapping[str, Any], need: Need) -> bool:
    if not any(_match(a, need.action, case=False) for a in _listed(statement.get("Action", []))):
        return False
    if not any(_match(r, need.resource) for r in _listed(statement.get("Resource", []))):
        return False
    return _condition_holds(statement.get("Condition") or {}, need.context)


def allowed(statements: list[dict[str, Any]], need: Need) -> bool:
    """An identity policy's answer: an explicit Deny wins; else an Allow must match."""
    if any(s["Effect"] == "Deny" and _applies(s, need) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _applies(s, need) for s in statements)


def refused(statements: list[dict[str, Any]], calls: list[Call]) -> list[str]:
    """Every need of `calls` the statements do not allow, once each, as a person reads it."""
    seen: dict[str, None] = {}
    for call in calls:
        for need in needs(call):
            if not allowed(statements, need):
                seen[str(need)] = None
    return list(seen)


def without_action(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """The statements with `action` taken out of every Allow (a statement left with none is dropped)."""
    out = []
    for s in statements:
        if s["Effect"] != "Allow":
            out.append(s)
            continue
        kept = [a for a in _listed(s.get("Action", [])) if a.lower() != action.lower()]
        if kept:
            out.append({**s, "Action": kept})
    return out


def dumps(statements: list[dict[str, Any]]) -> str:
    return json.dumps(statements, indent=1, default=str)
