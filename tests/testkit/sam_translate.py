"""Writes the CloudFormation template SAM deploys (the AWS::Serverless-2016-10-31 transform applied, offline).

`checkov` reads SAM resources only as far as it understands them; the translated template shows it what
CloudFormation really receives: the functions' roles, the schedule, the event rules, the SNS subscription.

    python -m sagewatch_testkit.sam_translate OUT.json   (and OUT.<role>.json for each deployment role)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]


class _NoManagedPolicies:
    """The template names managed policies by ARN only, so the translator never needs IAM to look one up."""

    def load(self) -> dict[str, str]:
        return {}


ROLES = {
    # What each deployment role is given: a member needs the central bus, the central stack the organization.
    # the remediation function is opt-in (Remediation, default disabled): the roles that have it say so
    # with Chatbot too: its channel role, guardrail and the Dry run button's function are checked as deployed
    "standalone": {
        "Role": "standalone",
        "Remediation": "enabled",
        "SlackWorkspaceId": "T0123ABCDE",
        "SlackChannelId": "C0123456789",
    },
    # a cautious first deployment on a new account: read-only, and no concurrency reserved (the scan's lock)
    "readonly": {"Role": "standalone", "ReserveConcurrency": "false"},
    "member": {
        "Role": "member",
        "Remediation": "enabled",
        "CentralEventBusArn": "arn:aws:events:us-east-1:111122223333:event-bus/sagewatch-org",
        "ObservabilitySinkArn": "arn:aws:oam:us-east-1:111122223333:sink/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
    },
    "central": {"Role": "central", "OrganizationId": "o-a1b2c3d4e5", "CrossAccountObservability": "true"},
    # a standalone stack with every optional route (routing table, SES sender): their grants checked too
    # ... and the Slack app's buttons (a signing secret, approvers, four-eyes)
    "routed": {
        "Role": "standalone",
        "Remediation": "enabled",
        "SlackWebhookSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sagewatch/slack-AbCdEf",
        "SlackSigningSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sagewatch/slack-signing-AbCdEf",
        "SlackApprovers": "U0123ABCD,U0456EFGH",
        "SlackFourEyes": "true",
        "RoutingParameterName": "/sagewatch/routing",
        "RouteEmailFrom": "ml@example.com",
        "RouteEmailDomains": "example.com,team.example.com",
    },
}


def _value(node: Any, params: dict[str, Any], conditions: dict[str, bool], raw: dict[str, Any]) -> Any:
    """A condition expression's value: Fn::Equals/Not/And/Or, Condition and Ref to a parameter."""
    if isinstance(node, dict) and len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return params[arg]
        if fn == "Condition":
            return _condition(arg, params, conditions, raw)
        if fn == "Fn::Equals":
            return _value(arg[0], params, conditions, raw) == _value(arg[1], params, conditions, raw)
        if fn == "Fn::Not":
            return not _value(arg[0], params, conditions, raw)
        if fn == "Fn::And":
            return all(_value(a, params, conditions, raw) for a in arg)
        if fn == "Fn::Or":
            return any(_value(a, params, conditions, raw) for a in arg)
    return node


def _condition(name: str, params: dict[str, Any], conditions: dict[str, bool], raw: dict[str, Any]) -> bool:
    if name not in conditions:
        conditions[name] = bool(_value(raw[name], params, conditions, raw))
    return conditions[name]


def _resolve_ifs(node: Any, conditions: dict[str, bool]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return _resolve_ifs(yes if conditions[name] else no, conditions)
        resolved_items = {k: _resolve_ifs(v, conditions) for k, v in node.items()}
        return {k: v for k, v in resolved_items.items() if v != {"Ref": "AWS::NoValue"}}  # a property left out
    if isinstance(node, list):
        resolved = [_resolve_ifs(v, conditions) for v in node]
        return [v for v in resolved if v != {"Ref": "AWS::NoValue"}]  # what CloudFormation leaves out
    return node


def for_role(template: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """The template as CloudFormation creates it for these parameter values: resources and outputs whose
    condition is false left out, Fn::If resolved, parameters' defaults set to the given values."""
    params = {k: v.get("Default", "") for k, v in template["Parameters"].items()} | given
    raw = template.get("Conditions", {})
    conditions: dict[str, bool] = {}
    for name in raw:
        _condition(name, params, conditions, raw)
    out = dict(template)
    out["Resources"] = {
        k: {key: v for key, v in r.items() if key != "Condition"}
        for k, r in template["Resources"].items()
        if conditions.get(r.get("Condition", ""), True)
    }
    out["Outputs"] = {
        k: {key: v for key, v in o.items() if key != "Condition"}
        for k, o in template.get("Outputs", {}).items()
        if conditions.get(o.get("Condition", ""), True)
    }
    out["Parameters"] = {k: {**v, "Default": given[k]} if k in given else v for k, v in template["Parameters"].items()}
    out.pop("Conditions", None)
    out.pop("Rules", None)
    result: dict[str, Any] = _resolve_ifs(out, conditions)
    return result


def translate(template_path: Path = ROOT / "template.yaml", role: str | None = None) -> dict[str, Any]:
    """The transform applied; with `role`, to the template as that deployment role creates it (for_role)."""
    template = yaml_parse(template_path.read_text())
    if role is not None:
        template = for_role(template, ROLES[role])
    # As `sam package` would: local code becomes an S3 object.
    for resource in template["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if isinstance(resource.get("Properties", {}).get(key), str):
                resource["Properties"][key] = f"s3://sagewatch-artifacts/{resource['Properties'][key]}"
    # The translator asks boto3 for the region behind AWS::Region; any region gives the same resources.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # The optional resources (Slack, Chatbot, central bus) are translated too: conditions stay in the output.
    parameters = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    translated: dict[str, Any] = transform(template, parameters, _NoManagedPolicies())  # type: ignore[arg-type]
    return translated


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sagewatch_testkit.sam_translate OUT.json", file=sys.stderr)
        return 2
    Path(args[0]).write_text(json.dumps(translate(), indent=1))
    for role in ROLES:
        Path(args[0]).with_suffix(f".{role}.json").write_text(json.dumps(translate(role=role), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
