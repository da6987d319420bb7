"""The only code in sagewatch that changes endpoints. Called by the remediation service after every check."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sagewatch.aws.clients import error_code, error_message, is_not_found
from sagewatch.inventory import tags_to_dict
from sagewatch.remediation import (
    OFFHOURS_PREFIX,
    LiveEndpoint,
    PartialChangeError,
    RemediationError,
    ScheduledChange,
    SnapshotRef,
    restore_config,
)

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

SNAPSHOT_SCHEMA = "sagewatch.snapshot/1"
COMPONENT_DELETE_WAIT_SECONDS = 240  # inference components delete asynchronously; the endpoint waits for them


def _copies(runtime: dict[str, Any]) -> int:
    """The copies that were running (Current), else those asked for (Desired)."""
    for key in ("CurrentCopyCount", "DesiredCopyCount", "CopyCount"):
        if runtime.get(key) is not None:
            return int(runtime[key])
    return 1


def _json(doc: Any) -> bytes:
    return json.dumps(doc, default=str, indent=1).encode()


class _Progress(list[str]):
    """The steps an action has done so far. An error after the first one is a PartialChangeError (what was done,
    what is left), never a refusal that says nothing was changed."""

    def __init__(self) -> None:
        super().__init__()
        self.left: list[str] = []

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None or not self:
            return
        if isinstance(exc, PartialChangeError):
            raise PartialChangeError(str(exc), [*self, *exc.done], exc.left or self.left) from exc
        reason = str(exc) if isinstance(exc, RemediationError) else f"{type(exc).__name__}: {str(exc)[:300]}"
        raise PartialChangeError(f"stopped after {len(self)} steps: {reason}", list(self), self.left) from exc


def _seal_key(snapshot_key: str) -> str:
    """Where the digest of a snapshot is kept: under seals/, which (like snapshots/ and audit/) only the
    remediation role may write (the stack bucket's policy)."""
    return f"seals/{snapshot_key}"


@dataclass(frozen=True)
class _ZeroScaling:
    """How one resource scales to zero and back (async variant, or inference component)."""

    resource: str
    dimension: str
    maximum: int
    policy: str
    aggregation: str
    cooldown: int
    alarm: str
    metric: str
    dimensions: dict[str, str]
    statistic: str
    period: int
    evaluations: int
    missing: str


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
        variants: list[Any] = config.get("ProductionVariants") or []  # type: ignore[assignment]
        names = [str(v["VariantName"]) for v in variants]
        targets, policies = self._scaling(endpoint, names)
        resources = [f"endpoint/{endpoint}/variant/{v}" for v in names] + [
            f"inference-component/{c['InferenceComponentName']}" for c in components
        ]
        return LiveEndpoint(description, config, tags, components, targets, policies, self._scheduled(resources))

    def _scheduled(self, resources: list[str]) -> list[dict[str, Any]]:
        """Scheduled actions on the variants and components: an off-hours schedule must not fight others, and a
        snapshot keeps them. Asked per resource (a few per endpoint): listing the account's whole namespace
        cost pages in an account of many schedules, and a cap on it could miss one."""
        out: list[dict[str, Any]] = []
        for resource in resources:
            pages = self.autoscaling.get_paginator("describe_scheduled_actions").paginate(
                ServiceNamespace="sagemaker", ResourceId=resource
            )
            for page in pages:
                out += [dict(a) for a in page.get("ScheduledActions", []) if a.get("ResourceId") == resource]
        return out

    def _scaling(self, endpoint: str, variants: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Auto scaling targets and policies of the variants: a snapshot must restore them too."""
        ids = [f"endpoint/{endpoint}/variant/{v}" for v in variants]
        if not ids:
            return [], []
        targets: list[dict[str, Any]] = []
        for page in self.autoscaling.get_paginator("describe_scalable_targets").paginate(
            ServiceNamespace="sagemaker", ResourceIds=ids
        ):
            targets += [dict(t) for t in page["ScalableTargets"]]
        policies: list[dict[str, Any]] = []
        for resource in sorted({str(t["ResourceId"]) for t in targets}):
            for policy_page in self.autoscaling.get_paginator("describe_scaling_policies").paginate(
                ServiceNamespace="sagemaker", ResourceId=resource
            ):
                policies += [dict(p) for p in policy_page["ScalingPolicies"]]
        return targets, policies

    def _bucket(self) -> str:
        if not self.bucket:
            raise RemediationError("no snapshot and audit bucket is configured (SAGEWATCH_BUCKET / --bucket)")
        return self.bucket

    # --- snapshots and audit -------------------------------------------------------------------
    def snapshot(self, live: LiveEndpoint, now: datetime) -> SnapshotRef:
        """Everything needed to recreate the endpoint, written once; its version id and SHA-256 are sealed
        beside the audit records (the bucket policy lets only the remediation role write either)."""
        key = f"snapshots/{live.name}/{now:%Y%m%dT%H%M%SZ}.json"
        doc = {
            "schema": SNAPSHOT_SCHEMA,
            "taken_at": now.isoformat(),
            "endpoint": live.description,
            "endpoint_config": live.config,
            "tags": live.tags,
            "inference_components": live.components,
            "scalable_targets": live.scalable_targets,
            "scaling_policies": live.scaling_policies,
            "scheduled_actions": live.scheduled_actions,
        }
        body = _json(doc)
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
            raise RemediationError(f"snapshot {key} is not a key under snapshots/ (the key a delete printed)")
        try:
            seal = json.loads(self.s3.get_object(Bucket=self._bucket(), Key=_seal_key(key))["Body"].read())
            ref = SnapshotRef(str(seal["key"]), seal.get("version_id"), str(seal["sha256"]))
        except ClientError as exc:
            raise RemediationError(
                f"snapshot {key} has no seal ({_seal_key(key)}: {error_code(exc)}): sagewatch did not take it, "
                "so it will not restore it"
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
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

    def audit(self, record: dict[str, Any], now: datetime) -> str:
        key = f"audit/{now:%Y/%m/%d}/{now:%H%M%S}-{record['request']['endpoint']}-{record['request']['action']}.json"
        self.s3.put_object(Bucket=self._bucket(), Key=key, Body=_json(record), ContentType="application/json")
        return key

    # --- actions -------------------------------------------------------------------------------
    def delete(self, live: LiveEndpoint) -> list[str]:
        with _Progress() as done:
            for ic in live.components:
                name = ic["InferenceComponentName"]
                try:
                    self.sm.delete_inference_component(InferenceComponentName=name)
                    done.append(f"deleted inference component {name}")
                except ClientError as exc:
                    if not is_not_found(exc):
                        raise
                    done.append(f"inference component {name} was already gone")
            done.left = [f"delete endpoint {live.name} once its inference components are gone"]
            self._wait_for_components_gone([ic["InferenceComponentName"] for ic in live.components])
            try:
                self.sm.delete_endpoint(EndpointName=live.name)
                done.append(f"deleted endpoint {live.name}")
            except ClientError as exc:
                if not is_not_found(exc):  # deleted meanwhile: what was asked is done
                    raise
                done.append(f"endpoint {live.name} was already gone")
            self._mark_deleted(live.name)
            return list(done)

    def _mark_deleted(self, endpoint: str) -> None:
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
                        f"inference components {', '.join(pending)} are still being deleted after {waited:.0f} s"
                    )
                self.sleep(5)
                waited += 5

    def restore(self, snapshot: dict[str, Any]) -> list[str]:
        """Recreate what the snapshot saw running: the config with its current counts (restore_config), the
        endpoint with its tags; once it is InService, the auto scaling targets and policies, then the
        inference components with their copy counts. Run again, it does only what is still missing."""
        endpoint = snapshot["endpoint"]
        name, config = endpoint["EndpointName"], restore_config(snapshot)
        self._check_roles(snapshot)
        with _Progress() as done:
            existing = self.read(name)
            if existing is None:
                existing = self._recreate(name, config, snapshot, done)
            targets = snapshot.get("scalable_targets") or []
            components = snapshot.get("inference_components") or []
            if existing is not None and existing.status == "InService":
                done += self._undo_schedules(existing, snapshot)
            if not (targets or components):
                return list(done)
            if existing is None or existing.status != "InService":
                done.append(
                    f"auto scaling ({len(targets)} targets) and {len(components)} inference components wait for "
                    f"{name} to be InService: run the same restore request again then"
                )
                return list(done)
            done.left = ["the rest of the auto scaling and inference components: run the same restore again"]
            done += self._restore_scaling(existing, targets, snapshot.get("scaling_policies") or [])
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
                    RuntimeConfig={"CopyCount": _copies(runtime)},
                )
                done.append(f"recreated inference component {ic['InferenceComponentName']}")
            return list(done)

    def _check_roles(self, snapshot: dict[str, Any]) -> None:
        """The execution role a restore passes to SageMaker is the one the endpoint's original config named
        (configs are never deleted by sagewatch): a snapshot cannot name another role."""
        original = str(snapshot["endpoint_config"].get("EndpointConfigName", ""))
        wanted = snapshot["endpoint_config"].get("ExecutionRoleArn")
        try:
            config = self.sm.describe_endpoint_config(EndpointConfigName=original)
        except ClientError as exc:
            if is_not_found(exc):
                return  # gone: the sealed snapshot is the only record of it
            raise
        if config.get("ExecutionRoleArn") != wanted:
            raise RemediationError(
                f"the snapshot names execution role {str(wanted)[:200]!r}, but endpoint config {original} "
                f"names {str(config.get('ExecutionRoleArn'))[:200]!r}: refused"
            )

    def _recreate(
        self, name: str, config: dict[str, Any], snapshot: dict[str, Any], done: _Progress
    ) -> LiveEndpoint | None:
        try:
            self.sm.describe_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            self.sm.create_endpoint_config(**config)
            done.append(f"created endpoint config {config['EndpointConfigName']} as it ran when deleted")
        done.left = [f"create endpoint {name} with endpoint config {config['EndpointConfigName']}"]
        create_args: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config["EndpointConfigName"]}
        tags = [{"Key": k, "Value": v} for k, v in snapshot.get("tags", {}).items()]
        if tags:
            create_args["Tags"] = tags
        self.sm.create_endpoint(**create_args)
        done.append(f"created endpoint {name} with endpoint config {config['EndpointConfigName']}")
        return self.read(name)

    def _undo_schedules(self, live: LiveEndpoint, snapshot: dict[str, Any]) -> list[str]:
        """What schedule-scaling changed, undone: its sagewatch-offhours-* actions deleted, a scalable target it
        registered deregistered (one the snapshot had gets its limits back), each variant's instance count
        back to the snapshot's when no auto scaling is left to move it."""
        done: list[str] = []
        kept = {(a.get("ResourceId"), a.get("ScheduledActionName")) for a in snapshot.get("scheduled_actions") or []}
        ours = [
            a
            for a in live.scheduled_actions
            if str(a.get("ScheduledActionName", "")).startswith(OFFHOURS_PREFIX)
            and (a.get("ResourceId"), a.get("ScheduledActionName")) not in kept
        ]
        for a in ours:
            self._delete_scheduled(a)
            done.append(f"deleted scheduled action {a['ScheduledActionName']} on {a['ResourceId']}")
        if not ours:
            return done
        before = {t["ResourceId"]: t for t in snapshot.get("scalable_targets") or []}
        policies = {p.get("ResourceId") for p in live.scaling_policies}
        for t in live.scalable_targets:
            resource = t["ResourceId"]
            if resource in before:
                was = before[resource]
                if (int(was["MinCapacity"]), int(was["MaxCapacity"])) != (int(t["MinCapacity"]), int(t["MaxCapacity"])):
                    self.autoscaling.register_scalable_target(
                        ServiceNamespace="sagemaker",
                        ResourceId=resource,
                        ScalableDimension=t["ScalableDimension"],
                        MinCapacity=int(was["MinCapacity"]),
                        MaxCapacity=int(was["MaxCapacity"]),
                    )
                    done.append(f"auto scaling of {resource} back to {was['MinCapacity']}-{was['MaxCapacity']}")
            elif resource in {a["ResourceId"] for a in ours} and resource not in policies:
                self.autoscaling.deregister_scalable_target(
                    ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=t["ScalableDimension"]
                )
                done.append(f"deregistered the scalable target sagewatch registered on {resource}")
        done += self._counts_back(live, snapshot, set(before))
        return done

    def _counts_back(self, live: LiveEndpoint, snapshot: dict[str, Any], scaled: set[str]) -> list[str]:
        """Variants whose count a schedule moved and no auto scaling will move back: set to the snapshot's."""
        then = {v.get("VariantName"): v for v in snapshot["endpoint"].get("ProductionVariants", [])}
        wanted: list[Any] = []
        for name, now in live.variants().items():
            count = then.get(name, {}).get("CurrentInstanceCount")
            if now["serverless"] or count is None or f"endpoint/{live.name}/variant/{name}" in scaled:
                continue
            if int(count) != now["instance_count"]:
                wanted.append({"VariantName": name, "DesiredInstanceCount": int(count)})
        if not wanted:
            return []
        self.sm.update_endpoint_weights_and_capacities(EndpointName=live.name, DesiredWeightsAndCapacities=wanted)
        return [f"{live.name}/{w['VariantName']} back to {w['DesiredInstanceCount']} instances" for w in wanted]

    def schedule_scaling(self, live: LiveEndpoint, changes: list[ScheduledChange]) -> list[str]:
        """The scalable targets registered where there are none (the working-hours limits; existing ones and
        their policies are kept), then the scheduled actions put, then earlier sagewatch ones no longer in the
        schedule deleted."""
        with _Progress() as done:
            have = {t["ResourceId"] for t in live.scalable_targets}
            for resource in sorted({c.resource for c in changes}):
                if resource in have:
                    continue
                day = max((c for c in changes if c.resource == resource), key=lambda c: c.minimum)
                dimension: Any = day.dimension
                self.autoscaling.register_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=resource,
                    ScalableDimension=dimension,
                    MinCapacity=day.minimum,
                    MaxCapacity=day.maximum,
                )
                done.append(f"registered auto scaling of {resource} ({day.minimum}-{day.maximum})")
            done.left = [f"put the scheduled actions {', '.join(c.name for c in changes)}"]
            for c in changes:
                dimension = c.dimension
                self.autoscaling.put_scheduled_action(
                    ServiceNamespace="sagemaker",
                    ScheduledActionName=c.name,
                    ResourceId=c.resource,
                    ScalableDimension=dimension,
                    Schedule=c.cron,
                    Timezone=c.timezone,
                    ScalableTargetAction={"MinCapacity": c.minimum, "MaxCapacity": c.maximum},
                )
                done.append(f"scheduled {c.name} on {c.resource}: {c.cron} {c.timezone} -> {c.minimum}-{c.maximum}")
            wanted = {(c.resource, c.name) for c in changes}
            resources = {c.resource for c in changes}
            for a in live.scheduled_actions:
                key = (a.get("ResourceId"), a.get("ScheduledActionName"))
                if key in wanted or key[0] not in resources or not str(key[1] or "").startswith(OFFHOURS_PREFIX):
                    continue
                self._delete_scheduled(a)
                done.append(f"deleted the earlier scheduled action {a['ScheduledActionName']} on {a['ResourceId']}")
            return list(done)

    def _delete_scheduled(self, action: dict[str, Any]) -> None:
        self.autoscaling.delete_scheduled_action(
            ServiceNamespace="sagemaker",
            ScheduledActionName=action["ScheduledActionName"],
            ResourceId=action["ResourceId"],
            ScalableDimension=action["ScalableDimension"],
        )

    def _restore_scaling(
        self, live: LiveEndpoint, targets: list[dict[str, Any]], policies: list[dict[str, Any]]
    ) -> list[str]:
        done = []
        have = {t["ResourceId"] for t in live.scalable_targets}
        have_policies = {(p["ResourceId"], p["PolicyName"]) for p in live.scaling_policies}
        for t in targets:
            if t["ResourceId"] not in have:
                self.autoscaling.register_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=t["ResourceId"],
                    ScalableDimension=t["ScalableDimension"],
                    MinCapacity=int(t["MinCapacity"]),
                    MaxCapacity=int(t["MaxCapacity"]),
                )
                done.append(f"registered auto scaling of {t['ResourceId']} ({t['MinCapacity']}-{t['MaxCapacity']})")
        for p in policies:
            if (p["ResourceId"], p["PolicyName"]) in have_policies:
                continue
            args: dict[str, Any] = {
                k: p[k]
                for k in (
                    "PolicyName",
                    "ServiceNamespace",
                    "ResourceId",
                    "ScalableDimension",
                    "PolicyType",
                    "TargetTrackingScalingPolicyConfiguration",
                    "StepScalingPolicyConfiguration",
                )
                if p.get(k)
            }
            self.autoscaling.put_scaling_policy(**args)
            done.append(f"put scaling policy {p['PolicyName']} on {p['ResourceId']}")
        return done

    def update_config(self, live: LiveEndpoint, new_config: dict[str, Any]) -> list[str]:
        with _Progress() as done:
            self.sm.create_endpoint_config(**new_config)
            done.append(f"created endpoint config {new_config['EndpointConfigName']}")
            done.left = [f"update endpoint {live.name} to endpoint config {new_config['EndpointConfigName']}"]
            self.sm.update_endpoint(EndpointName=live.name, EndpointConfigName=new_config["EndpointConfigName"])
            done.append(
                f"updating endpoint {live.name} to it (previous config {live.description['EndpointConfigName']} kept)"
            )
            return list(done)

    def set_instance_count(self, endpoint: str, variant: str, count: int) -> list[str]:
        self.sm.update_endpoint_weights_and_capacities(
            EndpointName=endpoint,
            DesiredWeightsAndCapacities=[{"VariantName": variant, "DesiredInstanceCount": count}],
        )
        return [f"set {endpoint}/{variant} to {count} instances"]

    def set_scaling_limits(self, endpoint: str, variant: str, minimum: int, maximum: int) -> list[str]:
        resource = f"endpoint/{endpoint}/variant/{variant}"
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            MinCapacity=minimum,
            MaxCapacity=maximum,
        )
        return [f"auto scaling of {resource} set to minimum {minimum}, maximum {maximum}"]

    def components_to_zero(self, live: LiveEndpoint, variant: str, new_config: dict[str, Any]) -> list[str]:
        """Managed instance scaling to a minimum of 0 (a new config), then each component's copies may reach 0
        and come back: a step scaling policy on an alarm on NoCapacityInvocationFailures adds a copy."""
        with _Progress() as done:
            done += self.update_config(live, new_config)
            done.left = ["let the inference components' copies scale to 0 (auto scaling and alarm)"]
            self._components_scalable_to_zero(live, variant, done)
            return list(done)

    def _components_scalable_to_zero(self, live: LiveEndpoint, variant: str, done: list[str]) -> None:
        for ic in live.components:
            if ic.get("VariantName") != variant:
                continue
            name = str(ic["InferenceComponentName"])
            resource = f"inference-component/{name}"
            copies = _copies(ic.get("RuntimeConfig") or {})
            self._scalable_to_zero(
                _ZeroScaling(
                    resource=resource,
                    dimension="sagemaker:inference-component:DesiredCopyCount",
                    maximum=max(1, copies),
                    policy=f"sagewatch-scale-up-from-zero-{name}",
                    aggregation="Maximum",
                    cooldown=60,
                    alarm=f"sagewatch-{name}-no-capacity",
                    metric="NoCapacityInvocationFailures",
                    dimensions={"InferenceComponentName": name},
                    statistic="Maximum",
                    period=30,
                    evaluations=1,
                    missing="missing",
                )
            )
            done.append(
                f"inference component {name}: copies may scale to 0 and back (alarm on NoCapacityInvocationFailures)"
            )

    def _scalable_to_zero(self, z: _ZeroScaling) -> None:
        """A scalable target with minimum 0, and the way back up: a step scaling policy adding one unit,
        triggered by an alarm on the metric that says requests arrived with nothing to serve them."""
        dimension: Any = z.dimension  # the stubs type it as a literal
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=z.resource,
            ScalableDimension=dimension,
            MinCapacity=0,
            MaxCapacity=z.maximum,
        )
        step: Any = {  # the stubs type these strings as literals; ours come from _ZeroScaling
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": z.aggregation,
            "Cooldown": z.cooldown,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        }
        policy = self.autoscaling.put_scaling_policy(
            PolicyName=z.policy[:256],
            ServiceNamespace="sagemaker",
            ResourceId=z.resource,
            ScalableDimension=dimension,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration=step,
        )
        statistic: Any = z.statistic
        self.cloudwatch.put_metric_alarm(
            AlarmName=z.alarm[:255],
            Namespace="AWS/SageMaker",
            MetricName=z.metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in z.dimensions.items()],
            Statistic=statistic,
            Period=z.period,
            EvaluationPeriods=z.evaluations,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData=z.missing,
            AlarmActions=[policy["PolicyARN"]],
        )

    def scale_to_zero(self, endpoint: str, variant: str, current: int) -> list[str]:
        resource = f"endpoint/{endpoint}/variant/{variant}"
        targets = self.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource]).get(
            "ScalableTargets", []
        )
        maximum = max([int(t["MaxCapacity"]) for t in targets] + [current, 1])
        # Without the alarm, requests would wait in the queue forever once the endpoint is at zero.
        self._scalable_to_zero(
            _ZeroScaling(
                resource=resource,
                dimension="sagemaker:variant:DesiredInstanceCount",
                maximum=maximum,
                policy=f"sagewatch-scale-up-from-zero-{endpoint}",
                aggregation="Average",
                cooldown=300,
                alarm=f"sagewatch-{endpoint}-backlog-without-capacity",
                metric="HasBacklogWithoutCapacity",
                dimensions={"EndpointName": endpoint},
                statistic="Average",
                period=60,
                evaluations=2,
                missing="notBreaching",
            )
        )
        return [
            f"auto scaling minimum of {resource} set to 0 (maximum {maximum})",
            "scale-up-from-zero policy and HasBacklogWithoutCapacity alarm in place",
        ]
