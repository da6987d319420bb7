"""The only code in sagewatch that changes endpoints: it reads what a plan needs, and executes a plan's steps, in
order, and nothing else. The decisions are the planner's (sagewatch.remediation); here only the waits are timed:
polled with backoff within the time the caller has, and a run that runs out of it stops `partial`, with the step
a resume starts from."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import error_code, error_message, is_not_found
from sagewatch.inventory import tags_to_dict
from sagewatch.remediation import (
    SNAPSHOT_SCHEMA,
    LiveEndpoint,
    PartialChangeError,
    RemediationError,
    SnapshotRef,
)
from sagewatch.remediation.calls import AUTOSCALING, CLOUDWATCH, SAGEMAKER, Call, Step, Wait, first_needed, resolve
from sagewatch.remediation.configs import config_stem
from sagewatch.remediation.live import component_resource, variant_resource

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

__all__ = ["SNAPSHOT_SCHEMA", "RemediationTarget"]
FIRST_POLL_SECONDS = 5.0
MAX_POLL_SECONDS = 30.0
IDS_PER_CALL = 50  # DescribeScalableTargets ResourceIds, DescribeAlarms AlarmNames (100): kept small
# Deleting what is already gone is what was asked: these calls' "not found" is success.
GONE_IS_DONE = {"DeleteInferenceComponent", "DeleteEndpoint"}
FAILED = ("Failed", "UpdateRollbackFailed", "RollingBack", "OutOfService")


def _json(doc: Any) -> bytes:
    return json.dumps(doc, default=str, indent=1).encode()


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _seal_key(snapshot_key: str) -> str:
    """Where the digest of a snapshot is kept: under seals/, which (like snapshots/ and audit/) only the
    remediation role may write (the stack bucket's policy)."""
    return f"seals/{snapshot_key}"


class _OutOfTimeError(Exception):
    pass


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


class RemediationTarget:
    def __init__(
        self,
        sagemaker: SageMakerClient,
        s3: S3Client,
        autoscaling: ApplicationAutoScalingClient,
        cloudwatch: CloudWatchClient,
        bucket: str | None,
    ):
        self.sm = sagemaker
        self.s3 = s3
        self.autoscaling = autoscaling
        self.cloudwatch = cloudwatch
        self.bucket = bucket

    # --- reading -------------------------------------------------------------------------------
    def read(self, endpoint: str) -> LiveEndpoint | None:
        """The endpoint with everything a plan depends on, or None when it does not exist."""
        try:
            description: dict[str, Any] = dict(self.sm.describe_endpoint(EndpointName=endpoint))
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        config = dict(self.sm.describe_endpoint_config(EndpointConfigName=description["EndpointConfigName"]))
        pages = self.sm.get_paginator("list_tags").paginate(ResourceArn=description["EndpointArn"])
        tags = tags_to_dict([{"Key": t["Key"], "Value": t.get("Value", "")} for p in pages for t in p.get("Tags", [])])
        components = [c for c in (self._component(n) for n in self._component_names(endpoint)) if c is not None]
        description.pop("ResponseMetadata", None)
        config.pop("ResponseMetadata", None)
        variants: list[Any] = config.get("ProductionVariants") or []  # type: ignore[assignment]
        resources = [variant_resource(endpoint, str(v["VariantName"])) for v in variants]
        resources += [component_resource(str(c["InferenceComponentName"])) for c in components]
        targets, policies, scheduled = self._scaling(resources)
        alarms = self._alarms(endpoint, components, policies)
        configs = self.config_names(str(description["EndpointConfigName"]))
        return LiveEndpoint(description, config, tags, components, targets, policies, scheduled, alarms, configs)

    def _component_names(self, endpoint: str) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            args: dict[str, Any] = {"EndpointNameEquals": endpoint, "MaxResults": 100}
            if token:
                args["NextToken"] = token
            page = self.sm.list_inference_components(**args)
            names += [str(ic["InferenceComponentName"]) for ic in page.get("InferenceComponents", [])]
            token = page.get("NextToken")
            if not token:
                return names

    def _component(self, name: str) -> dict[str, Any] | None:
        try:
            doc = dict(self.sm.describe_inference_component(InferenceComponentName=name))
        except ClientError as exc:
            if is_not_found(exc):  # deleted between the list and the describe
                return None
            raise
        return {k: v for k, v in doc.items() if k != "ResponseMetadata"}

    def _scaling(self, resources: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Scalable targets, policies and scheduled actions of the variants and components: a plan keeps them and a
        snapshot restores them. Policies and scheduled actions are asked per registered resource (a few per
        endpoint): listing the account's whole namespace costs pages, and a cap on it could miss one."""
        targets: list[dict[str, Any]] = []
        for ids in _chunks(resources, IDS_PER_CALL):
            for page in self.autoscaling.get_paginator("describe_scalable_targets").paginate(
                ServiceNamespace="sagemaker", ResourceIds=ids
            ):
                targets += [dict(t) for t in page["ScalableTargets"]]
        policies: list[dict[str, Any]] = []
        scheduled: list[dict[str, Any]] = []
        for resource in sorted({str(t["ResourceId"]) for t in targets}):
            for policy_page in self.autoscaling.get_paginator("describe_scaling_policies").paginate(
                ServiceNamespace="sagemaker", ResourceId=resource
            ):
                policies += [dict(p) for p in policy_page["ScalingPolicies"] if p.get("ResourceId") == resource]
            for actions in self.autoscaling.get_paginator("describe_scheduled_actions").paginate(
                ServiceNamespace="sagemaker", ResourceId=resource
            ):
                scheduled += [dict(a) for a in actions.get("ScheduledActions", []) if a.get("ResourceId") == resource]
        return targets, policies, scheduled

    def _alarms(
        self, endpoint: str, components: list[dict[str, Any]], policies: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The alarms that drive the step scaling policies (a policy made again needs its alarm pointed at it), and
        the ones sagewatch made for scaling back up from zero."""
        names = {str(a["AlarmName"]) for p in policies if p.get("PolicyType") == "StepScaling"
                 for a in p.get("Alarms", [])}  # fmt: skip
        names.add(f"sagewatch-{endpoint}-backlog-without-capacity"[:255])
        names |= {f"sagewatch-{c['InferenceComponentName']}-no-capacity"[:255] for c in components}
        alarms: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(names), IDS_PER_CALL):
            for page in self.cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNames=chunk, AlarmTypes=["MetricAlarm"]
            ):
                alarms += [dict(a) for a in page.get("MetricAlarms", [])]
        return alarms

    def config_names(self, config: str) -> frozenset[str]:
        """The endpoint configs whose names start as `config`'s stem does (the original and sagewatch's derived
        ones): a plan creates a config only under a name not taken."""
        stem = config_stem(config)
        names: set[str] = set()
        for page in self.sm.get_paginator("list_endpoint_configs").paginate(NameContains=stem):
            names |= {str(c["EndpointConfigName"]) for c in page.get("EndpointConfigs", [])}
        return frozenset(n for n in names if n.startswith(stem))

    def _bucket(self) -> str:
        if not self.bucket:
            raise RemediationError("no snapshot and audit bucket is configured (SAGEWATCH_BUCKET / --bucket)")
        return self.bucket

    # --- snapshots and audit -------------------------------------------------------------------
    def snapshot(self, live: LiveEndpoint, now: datetime) -> SnapshotRef:
        """Everything needed to put the endpoint back, written once; its version id and SHA-256 are sealed beside
        the audit records (the bucket policy lets only the remediation role write either)."""
        key = f"snapshots/{live.name}/{now:%Y%m%dT%H%M%SZ}.json"
        body = _json(live.snapshot_document(now.isoformat()))
        put = self.s3.put_object(Bucket=self._bucket(), Key=key, Body=body, ContentType="application/json")
        ref = SnapshotRef(key, put.get("VersionId"), hashlib.sha256(body).hexdigest())
        self.s3.put_object(
            Bucket=self._bucket(), Key=_seal_key(key), Body=_json(ref.to_dict()), ContentType="application/json"
        )
        return ref

    def load_snapshot(self, key: str) -> tuple[dict[str, Any], SnapshotRef]:
        """The snapshot sagewatch took under `key`, exactly as it wrote it: the sealed version, whose SHA-256
        matches the seal. A snapshot without a seal, of another version or other bytes is refused."""
        if not key.startswith("snapshots/") or ".." in key:
            raise RemediationError(f"snapshot {key} is not a key under snapshots/ (the key a run printed)")
        try:
            seal = json.loads(self.s3.get_object(Bucket=self._bucket(), Key=_seal_key(key))["Body"].read())
            ref = SnapshotRef.from_dict(seal)
        except ClientError as exc:
            raise RemediationError(
                f"snapshot {key} has no seal ({_seal_key(key)}: {error_code(exc)}): sagewatch did not take it, "
                "so it will not restore it"
            ) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RemediationError(f"the seal of snapshot {key} is not one sagewatch wrote") from exc
        if ref.key != key:
            raise RemediationError(f"the seal of snapshot {key} names another snapshot ({ref.key[:200]})")
        args: dict[str, Any] = {"Bucket": self._bucket(), "Key": key}
        if ref.version_id:
            args["VersionId"] = ref.version_id
        try:
            body = self.s3.get_object(**args)["Body"].read()
        except ClientError as exc:
            raise RemediationError(f"snapshot {key} cannot be read: {error_code(exc)}: {error_message(exc)}") from exc
        if hashlib.sha256(body).hexdigest() != ref.sha256:
            raise RemediationError(
                f"snapshot {key} is not the one sagewatch wrote (its SHA-256 differs from the seal): refused"
            )
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise RemediationError(f"snapshot {key} is not JSON") from exc
        if not isinstance(doc, dict) or doc.get("schema") != SNAPSHOT_SCHEMA:
            raise RemediationError(f"snapshot {key} is not a sagewatch snapshot")
        return doc, ref

    def original_role(self, snapshot: dict[str, Any]) -> str | None:
        """The execution role the endpoint's original config names, when that config still exists (configs are
        never deleted by sagewatch): a restore passes no other role than that one."""
        original = str(snapshot["endpoint_config"].get("EndpointConfigName", ""))
        try:
            config = self.sm.describe_endpoint_config(EndpointConfigName=original)
        except ClientError as exc:
            if is_not_found(exc):
                return None  # gone: the sealed snapshot is the only record of it
            raise
        role = config.get("ExecutionRoleArn")
        return str(role) if role else ""

    def audit(self, record: dict[str, Any], now: datetime) -> str:
        key = f"audit/{now:%Y/%m/%d}/{now:%H%M%S}-{record['request']['endpoint']}-{record['request']['action']}.json"
        self.s3.put_object(Bucket=self._bucket(), Key=key, Body=_json(record), ContentType="application/json")
        return key

    def mark_deleted(self, endpoint: str) -> None:
        """A record that sagewatch deleted `endpoint` (under seals/, which only this role may write): asked to
        delete it again, the answer is already-deleted; an endpoint it never deleted is `invalid`."""
        body = _json({"endpoint": endpoint, "deleted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self.s3.put_object(
            Bucket=self._bucket(), Key=f"seals/deleted/{endpoint}.json", Body=body, ContentType="application/json"
        )

    def deleted_before(self, endpoint: str) -> bool:
        """Whether sagewatch's own record says it deleted `endpoint`. Without s3:ListBucket S3 answers a missing
        key with AccessDenied, not NoSuchKey: both mean no record (the answer is then `invalid`, the safe one)."""
        if not self.bucket:
            return False
        try:
            self.s3.get_object(Bucket=self.bucket, Key=f"seals/deleted/{endpoint}.json")
        except ClientError as exc:
            if is_not_found(exc) or error_code(exc) in ("NoSuchKey", "AccessDenied", "403", "404"):
                return False
            raise
        return True

    # --- executing a plan ------------------------------------------------------------------------
    def execute(self, steps: Sequence[Step], *, start: int = 1, seconds: float) -> list[str]:
        """Steps `start`.. of a plan, in order: each call as it stands (with the answers earlier calls gave put in
        where it refers to them), each wait polled until done or the `seconds` the caller has are spent. What was
        done, in words; PartialChangeError when it stopped after changing something (RemediationError when it
        changed nothing)."""
        deadline = time.monotonic() + seconds
        answers: dict[str, Any] = {}
        done: list[str] = []
        for number in range(start, len(steps) + 1):
            step = steps[number - 1]
            try:
                done.append(self._step(step, number, answers, deadline))
            except (ClientError, BotoCoreError, RemediationError, _OutOfTimeError, KeyError) as exc:
                self._stopped(steps, number, exc, done, start)
        return done

    def _stopped(self, steps: Sequence[Step], number: int, exc: Exception, done: list[str], start: int) -> None:
        step = steps[number - 1]
        what = f"step {number} ({step.operation if isinstance(step, Call) else 'wait'})"
        if isinstance(exc, _OutOfTimeError):
            reason = f"{step.why}: not yet after the time this run had; resume later from step {number}"
        elif isinstance(exc, ClientError):
            reason = f"{error_code(exc)}: {error_message(exc)[:300]}"
        else:
            reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        if not done and start == 1:
            raise RemediationError(f"{what} was refused, nothing was changed: {reason}") from exc
        left = [f"step {i}: {s.why}" for i, s in enumerate(steps[number - 1 :], number)]
        raise PartialChangeError(f"stopped at {what}: {reason}", done, left, first_needed(steps, number)) from exc

    def _step(self, step: Step, number: int, answers: dict[str, Any], deadline: float) -> str:
        if isinstance(step, Wait):
            return f"step {number}: waited {self._wait(step, deadline)}"
        params = resolve(dict(step.params), answers)
        client: Any = {SAGEMAKER: self.sm, AUTOSCALING: self.autoscaling, CLOUDWATCH: self.cloudwatch}[step.service]
        try:
            answer = getattr(client, _snake(step.operation))(**params)
        except ClientError as exc:
            if step.operation in GONE_IS_DONE and is_not_found(exc):
                return f"step {number}: {step.why} (it was already gone)"
            raise
        if step.key:
            answers[step.key] = answer
        return f"step {number}: {step.why}"

    def _wait(self, wait: Wait, deadline: float) -> str:
        """Polls until the wait is over; raises RemediationError when it can never be (the endpoint failed, or
        another update came in between) and _OutOfTimeError when the time is spent."""
        delay, started = FIRST_POLL_SECONDS, time.monotonic()
        while True:
            status, config, reason = self._status(wait)
            if (wait.until == "gone" and status is None) or (wait.until == "InService" and status == "InService"):
                if wait.config and config and config != wait.config:
                    raise RemediationError(
                        f"{wait.name} is InService on endpoint config {config}, not {wait.config}: another update "
                        "came in meanwhile; nothing more is done on top of it"
                    )
                return f"{time.monotonic() - started:.0f} s {wait.why}"
            if status is None and wait.until == "InService":
                raise RemediationError(f"{wait.what} {wait.name} is gone")
            if status in FAILED:
                raise RemediationError(f"{wait.what} {wait.name} is {status}" + (f": {reason[:500]}" if reason else ""))
            if time.monotonic() + delay > deadline:
                raise _OutOfTimeError()
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL_SECONDS)

    def _status(self, wait: Wait) -> tuple[str | None, str | None, str | None]:
        """(status or None when gone, endpoint config, failure reason)."""
        try:
            if wait.what == "endpoint":
                doc: Any = self.sm.describe_endpoint(EndpointName=wait.name)
                return str(doc["EndpointStatus"]), str(doc.get("EndpointConfigName")), doc.get("FailureReason")
            doc = self.sm.describe_inference_component(InferenceComponentName=wait.name)
            return str(doc["InferenceComponentStatus"]), None, doc.get("FailureReason")
        except ClientError as exc:
            if is_not_found(exc):
                return None, None, None
            raise
