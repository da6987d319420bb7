"""Writes the CloudFormation template SAM deploys (the AWS::Serverless-2016-10-31 transform applied, offline).

`checkov` reads SAM resources only as far as it understands them; the translated template shows it what
CloudFormation really receives: the functions' roles, the schedule, the event rules, the SNS subscription.

    python -m sagewatch_testkit.sam_translate OUT.json
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


def translate(template_path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    template = yaml_parse(template_path.read_text())
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
