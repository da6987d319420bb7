"""An endpoint as remediation reads it (and as a snapshot keeps it): every fact a plan depends on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROTECT_TAG = "sagewatch:protect"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
PROVISIONED_CONCURRENCY_DIMENSION = "sagemaker:variant:DesiredProvisionedConcurrency"
SNAPSHOT_SCHEMA = "sagewatch.snapshot/1"
# Endpoint states a delete may act in. A deployment in progress (Creating, Updating, SystemUpdating,
# RollingBack) or a delete already under way is refused: someone is changing the endpoint.
DELETABLE_STATES = ("InService", "Failed", "OutOfService")
OFFHOURS_PREFIX = "sagewatch-offhours-"  # the scheduled actions of sagewatch's off-hours schedules


_POLICY_ARN = re.compile(r":resource/sagemaker/(?P<resource>.+):policyName/(?P<name>[^:]+)")


def policy_of_arn(arn: str) -> tuple[str, str] | None:
    """(resource, policy name) a scaling policy's ARN names (arn:...:scalingPolicy:ID:resource/sagemaker/
    RESOURCE:policyName/NAME), else None."""
    found = _POLICY_ARN.search(arn)
    return (found["resource"], found["name"]) if found else None


def policy_key(resource: str, name: str) -> str:
    """The key of the PutScalingPolicy call that makes this policy (what a Ref to its PolicyARN names)."""
    return f"policy {resource} {name}"


def variant_resource(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def component_resource(component: str) -> str:
    return f"inference-component/{component}"


@dataclass(frozen=True)
class LiveEndpoint:
    """An endpoint as it is now: DescribeEndpoint, its config, tags and inference components, and the Application
    Auto Scaling of its variants and components (targets, policies, scheduled actions) with the CloudWatch alarms
    those policies are driven by."""

    description: dict[str, Any]
    config: dict[str, Any]
    tags: dict[str, str]
    components: list[dict[str, Any]] = field(default_factory=list)  # DescribeInferenceComponent answers
    scalable_targets: list[dict[str, Any]] = field(default_factory=list)  # DescribeScalableTargets items
    scaling_policies: list[dict[str, Any]] = field(default_factory=list)  # DescribeScalingPolicies items
    scheduled_actions: list[dict[str, Any]] = field(default_factory=list)  # DescribeScheduledActions items
    alarms: list[dict[str, Any]] = field(default_factory=list)  # DescribeAlarms MetricAlarms of those policies
    # endpoint configs that exist with this config's name as their stem (sagewatch's derived ones among them):
    # a plan creates a config only where its name is not taken
    configs: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return str(self.description["EndpointName"])

    @property
    def status(self) -> str:
        return str(self.description.get("EndpointStatus", ""))

    @property
    def is_async(self) -> bool:
        return bool(self.config.get("AsyncInferenceConfig"))

    @property
    def config_name(self) -> str:
        return str(self.description.get("EndpointConfigName", self.config.get("EndpointConfigName")))

    def config_variant(self, variant: str) -> dict[str, Any]:
        return next((v for v in self.config.get("ProductionVariants", []) if v.get("VariantName") == variant), {})

    def variants(self) -> dict[str, dict[str, Any]]:
        """variant -> {instance_type, instance_count, serverless, ...}: the count the endpoint is asked to run
        (DesiredInstanceCount, else the current one), the type its config names."""
        live = {v["VariantName"]: v for v in self.description.get("ProductionVariants", [])}
        out = {}
        for conf in self.config.get("ProductionVariants", []):
            name = conf["VariantName"]
            now = live.get(name, {})
            count = now.get("DesiredInstanceCount", now.get("CurrentInstanceCount", conf.get("InitialInstanceCount")))
            out[name] = {
                "instance_type": conf.get("InstanceType"),
                "instance_count": int(count or 0),
                "serverless": bool(conf.get("ServerlessConfig")),
            }
            serverless = conf.get("ServerlessConfig") or {}
            if serverless:
                # the live provisioned concurrency when DescribeEndpoint has it (auto scaling may have moved it)
                running = now.get("CurrentServerlessConfig") or serverless
                out[name]["memory_mb"] = int(serverless.get("MemorySizeInMB") or 0)
                out[name]["provisioned_concurrency"] = int(running.get("ProvisionedConcurrency") or 0)
        return out

    def target(self, resource: str, dimension: str | None = None) -> dict[str, Any] | None:
        return next(
            (
                t
                for t in self.scalable_targets
                if t.get("ResourceId") == resource and (dimension is None or t.get("ScalableDimension") == dimension)
            ),
            None,
        )

    def scaling_target(self, variant: str, dimension: str = VARIANT_DIMENSION) -> dict[str, Any] | None:
        return self.target(variant_resource(self.name, variant), dimension)

    def policies_of(self, resource: str) -> list[dict[str, Any]]:
        return [p for p in self.scaling_policies if p.get("ResourceId") == resource]

    def scheduled_of(self, resource: str) -> list[dict[str, Any]]:
        return [a for a in self.scheduled_actions if a.get("ResourceId") == resource]

    def components_of(self, variant: str) -> list[dict[str, Any]]:
        return [c for c in self.components if c.get("VariantName") == variant]

    @property
    def protected(self) -> bool:
        return self.tags.get(PROTECT_TAG, "").strip().lower() == "true"

    def snapshot_document(self, taken_at: str) -> dict[str, Any]:
        """Everything needed to put the endpoint back as it is now (what a sealed snapshot holds)."""
        return {
            "schema": SNAPSHOT_SCHEMA,
            "taken_at": taken_at,
            "endpoint": self.description,
            "endpoint_config": self.config,
            "tags": self.tags,
            "inference_components": self.components,
            "scalable_targets": self.scalable_targets,
            "scaling_policies": self.scaling_policies,
            "scheduled_actions": self.scheduled_actions,
            "alarms": self.alarms,
            # the configs that existed when it was taken: a resume plans exactly the calls the first run planned
            "configs": sorted(self.configs),
        }

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> LiveEndpoint:
        """The endpoint as the snapshot saw it (a snapshot an earlier version took has no alarms or configs: none)."""
        return cls(
            dict(snapshot["endpoint"]),
            dict(snapshot["endpoint_config"]),
            dict(snapshot.get("tags") or {}),
            list(snapshot.get("inference_components") or []),
            list(snapshot.get("scalable_targets") or []),
            list(snapshot.get("scaling_policies") or []),
            list(snapshot.get("scheduled_actions") or []),
            list(snapshot.get("alarms") or []),
            frozenset(str(c) for c in snapshot.get("configs") or []),
        )
