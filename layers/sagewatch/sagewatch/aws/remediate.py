"""The only code in sagewatch that changes endpoints. Called by the remediation service after every check."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sagewatch.aws.clients import error_code, error_message, is_not_found
from sagewatch.inventory import tags_to_dict
from sagewatch.remediation import LiveEndpoint, RemediationError

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

SNAPSHOT_SCHEMA = "sagewatch.snapshot/1"
COMPONENT_DELETE_WAIT_SECONDS = 240  # inference components delete asynchronously; the endpoint waits for them


def _json(doc: Any) -> bytes:
    return json.dumps(doc, default=str, indent=1).encode()


class RemediationTarget:
    def __init__(
        self,
        sagemaker: SageMakerClient,
        s3: S3Client,
        autoscaling: ApplicationAutoScalingClient,
        cloudwatch: CloudWatchClient,
        bucket: str | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.sm = sagemaker
        self.s3 = s3
        self.autoscaling = autoscaling
        self.cloudwatch = cloudwatch
        self.bucket = bucket
        self.sleep = sleep

    # --- reading -------------------------------------------------------------------------------
    def read(self, endpoint: str) -> LiveEndpoint | None:
        try:
            description: dict[str, Any] = dict(self.sm.describe_endpoint(EndpointName=endpoint))
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        config = dict(self.sm.describe_endpoint_config(EndpointConfigName=description["EndpointConfigName"]))
        pages = self.sm.get_paginator("list_tags").paginate(ResourceArn=description["EndpointArn"])
        tags = tags_to_dict([{"Key": t["Key"], "Value": t.get("Value", "")} for p in pages for t in p.get("Tags", [])])
        components = []
        listed = self.sm.list_inference_components(EndpointNameEquals=endpoint, MaxResults=100)
        for ic in listed.get("InferenceComponents", []):
            doc = dict(self.sm.describe_inference_component(InferenceComponentName=ic["InferenceComponentName"]))
            components.append({k: v for k, v in doc.items() if k != "ResponseMetadata"})
        description.pop("ResponseMetadata", None)
        config.pop("ResponseMetadata", None)
        return LiveEndpoint(description, config, tags, components)

    def _bucket(self) -> str:
        if not self.bucket:
            raise RemediationError("no snapshot and audit bucket is configured (SAGEWATCH_BUCKET / --bucket)")
        return self.bucket

    # --- snapshots and audit -------------------------------------------------------------------
    def snapshot(self, live: LiveEndpoint, now: datetime) -> str:
        key = f"snapshots/{live.name}/{now:%Y%m%dT%H%M%SZ}.json"
        doc = {
            "schema": SNAPSHOT_SCHEMA,
            "taken_at": now.isoformat(),
            "endpoint": live.description,
            "endpoint_config": live.config,
            "tags": live.tags,
            "inference_components": live.components,
        }
        self.s3.put_object(Bucket=self._bucket(), Key=key, Body=_json(doc), ContentType="application/json")
        return key

    def load_snapshot(self, key: str) -> dict[str, Any]:
        try:
            body = self.s3.get_object(Bucket=self._bucket(), Key=key)["Body"].read()
        except ClientError as exc:
            raise RemediationError(f"snapshot {key} cannot be read: {error_code(exc)}: {error_message(exc)}") from exc
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise RemediationError(f"snapshot {key} is not JSON") from exc
        if not isinstance(doc, dict) or doc.get("schema") != SNAPSHOT_SCHEMA:
            raise RemediationError(f"snapshot {key} is not a sagewatch snapshot")
        return doc

    def audit(self, record: dict[str, Any], now: datetime) -> str:
        key = f"audit/{now:%Y/%m/%d}/{now:%H%M%S}-{record['request']['endpoint']}-{record['request']['action']}.json"
        self.s3.put_object(Bucket=self._bucket(), Key=key, Body=_json(record), ContentType="application/json")
        return key

    # --- actions -------------------------------------------------------------------------------
    def delete(self, live: LiveEndpoint) -> list[str]:
        done = []
        for ic in live.components:
            name = ic["InferenceComponentName"]
            try:
                self.sm.delete_inference_component(InferenceComponentName=name)
                done.append(f"deleted inference component {name}")
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
                done.append(f"inference component {name} was already gone")
        self._wait_for_components_gone([ic["InferenceComponentName"] for ic in live.components])
        try:
            self.sm.delete_endpoint(EndpointName=live.name)
            done.append(f"deleted endpoint {live.name}")
        except ClientError as exc:
            if not is_not_found(exc):  # deleted meanwhile: what was asked is done
                raise
            done.append(f"endpoint {live.name} was already gone")
        return done

    def _wait_for_components_gone(self, names: list[str]) -> None:
        waited = 0.0
        pending = list(names)
        while pending:
            still = []
            for name in pending:
                try:
                    self.sm.describe_inference_component(InferenceComponentName=name)
                    still.append(name)
                except ClientError as exc:
                    if not is_not_found(exc):
                        raise
            pending = still
            if pending:
                if waited >= COMPONENT_DELETE_WAIT_SECONDS:
                    raise RemediationError(
                        f"inference components {', '.join(pending)} are still being deleted after "
                        f"{waited:.0f} s; run the same request again to finish deleting the endpoint"
                    )
                self.sleep(5)
                waited += 5

    def restore(self, snapshot: dict[str, Any]) -> list[str]:
        endpoint = snapshot["endpoint"]
        name, config = endpoint["EndpointName"], snapshot["endpoint_config"]
        done = []
        existing = self.read(name)
        if existing is None:
            try:
                self.sm.describe_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
                create = {k: v for k, v in config.items() if k not in ("EndpointConfigArn", "CreationTime")}
                self.sm.create_endpoint_config(**create)
                done.append(f"recreated endpoint config {config['EndpointConfigName']} from the snapshot")
            create_args: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config["EndpointConfigName"]}
            tags = [{"Key": k, "Value": v} for k, v in snapshot.get("tags", {}).items()]
            if tags:
                create_args["Tags"] = tags
            self.sm.create_endpoint(**create_args)
            done.append(f"created endpoint {name} with endpoint config {config['EndpointConfigName']}")
            existing = self.read(name)
        components = snapshot.get("inference_components", [])
        if components:
            if existing is None or existing.status != "InService":
                done.append(
                    f"{len(components)} inference components wait for {name} to be InService: "
                    "run the same restore request again then"
                )
                return done
            present = {c["InferenceComponentName"] for c in existing.components}
            for ic in components:
                if ic["InferenceComponentName"] in present:
                    continue
                runtime = ic.get("RuntimeConfig", {})
                self.sm.create_inference_component(
                    InferenceComponentName=ic["InferenceComponentName"],
                    EndpointName=name,
                    VariantName=ic["VariantName"],
                    Specification=ic.get("Specification", {}),
                    RuntimeConfig={"CopyCount": int(runtime.get("DesiredCopyCount", runtime.get("CopyCount", 1)))},
                )
                done.append(f"recreated inference component {ic['InferenceComponentName']}")
        return done

    def update_config(self, live: LiveEndpoint, new_config: dict[str, Any]) -> list[str]:
        self.sm.create_endpoint_config(**new_config)
        self.sm.update_endpoint(EndpointName=live.name, EndpointConfigName=new_config["EndpointConfigName"])
        return [
            f"created endpoint config {new_config['EndpointConfigName']}",
            f"updating endpoint {live.name} to it (previous config {live.description['EndpointConfigName']} kept)",
        ]

    def set_instance_count(self, endpoint: str, variant: str, count: int) -> list[str]:
        self.sm.update_endpoint_weights_and_capacities(
            EndpointName=endpoint,
            DesiredWeightsAndCapacities=[{"VariantName": variant, "DesiredInstanceCount": count}],
        )
        return [f"set {endpoint}/{variant} to {count} instances"]

    def scale_to_zero(self, endpoint: str, variant: str, current: int) -> list[str]:
        resource = f"endpoint/{endpoint}/variant/{variant}"
        targets = self.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource]).get(
            "ScalableTargets", []
        )
        maximum = max([int(t["MaxCapacity"]) for t in targets] + [current, 1])
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            MinCapacity=0,
            MaxCapacity=maximum,
        )
        policy = self.autoscaling.put_scaling_policy(
            PolicyName=f"sagewatch-scale-up-from-zero-{endpoint}"[:256],
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "MetricAggregationType": "Average",
                "Cooldown": 300,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            },
        )
        # Without this, requests would wait in the queue forever once the endpoint is at zero.
        self.cloudwatch.put_metric_alarm(
            AlarmName=f"sagewatch-{endpoint}-backlog-without-capacity"[:255],
            Namespace="AWS/SageMaker",
            MetricName="HasBacklogWithoutCapacity",
            Dimensions=[{"Name": "EndpointName", "Value": endpoint}],
            Statistic="Average",
            Period=60,
            EvaluationPeriods=2,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[policy["PolicyARN"]],
        )
        return [
            f"auto scaling minimum of {resource} set to 0 (maximum {maximum})",
            "scale-up-from-zero policy and HasBacklogWithoutCapacity alarm in place",
        ]
