"""What each AWS call of a plan does to an endpoint, and what AWS refuses, as a pure model.

Planners write the calls an action needs; `sequence` runs them through this model from the endpoint as it was
read: it puts in the waits AWS needs between them (an UpdateEndpoint leaves the endpoint Updating for minutes,
and the next change is refused until it is InService again), refuses a plan AWS would refuse (PlanError), and
gives the state the plan ends in. That state prices the plan (the cost line comes from the very calls the run
makes) and is what the undo (restore-endpoint from the run's snapshot) is planned against.

The rules, with the documentation they follow:
- UpdateEndpoint, UpdateEndpointWeightsAndCapacities, CreateInferenceComponent need the endpoint InService
  ("Cannot update in-progress endpoint"; API_UpdateEndpoint.html), and leave it Updating.
- UpdateEndpoint fails when it changes the instance type of, or removes, a variant that is an Application Auto
  Scaling target ("Update endpoints that use auto scaling", endpoint-auto-scaling-update.html).
- UpdateEndpoint gives each variant its new config's InitialInstanceCount unless RetainAllVariantProperties
  (API_UpdateEndpoint.html).
- DeregisterScalableTarget deletes the target's scaling policies and scheduled actions
  (API_DeregisterScalableTarget.html); DeleteEndpoint deregisters its variants' targets
  (endpoint-auto-scaling-delete-endpoint.html); a scaling policy or scheduled action needs a registered target.
- RegisterScalableTarget moves a capacity outside the new limits into them (an endpoint then updates).
- DeleteEndpoint is refused while inference components remain; CreateEndpointConfig of a name in use is refused.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagewatch.remediation.calls import AUTOSCALING, CLOUDWATCH, SAGEMAKER, Call, Ref, Step, Wait
from sagewatch.remediation.errors import RemediationError
from sagewatch.remediation.live import (
    COMPONENT_DIMENSION,
    VARIANT_DIMENSION,
    LiveEndpoint,
    component_resource,
    policy_of_arn,
    variant_resource,
)

IN_PROGRESS = ("Creating", "Updating", "SystemUpdating", "RollingBack")
POLICY_FIELDS = (
    "PolicyName",
    "ServiceNamespace",
    "ResourceId",
    "ScalableDimension",
    "PolicyType",
    "TargetTrackingScalingPolicyConfiguration",
    "StepScalingPolicyConfiguration",
    "PredictiveScalingPolicyConfiguration",
)
SCHEDULED_FIELDS = (
    "ServiceNamespace",
    "Schedule",
    "Timezone",
    "ScheduledActionName",
    "ResourceId",
    "ScalableDimension",
    "StartTime",
    "EndTime",
    "ScalableTargetAction",
)
ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


class PlanError(RemediationError):
    """The calls would be refused by AWS in this state (a planner's mistake, never sent)."""


def _kept(doc: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {k: copy.deepcopy(doc[k]) for k in fields if doc.get(k) not in (None, [], {})}


def policy_args(policy: Mapping[str, Any]) -> dict[str, Any]:
    """PutScalingPolicy's parameters that recreate a DescribeScalingPolicies item."""
    return _kept(policy, POLICY_FIELDS)


def scheduled_args(action: Mapping[str, Any]) -> dict[str, Any]:
    """PutScheduledAction's parameters that recreate a DescribeScheduledActions item."""
    return _kept(action, SCHEDULED_FIELDS)


def alarm_args(alarm: Mapping[str, Any]) -> dict[str, Any]:
    """PutMetricAlarm's parameters that recreate a DescribeAlarms MetricAlarms item."""
    return _kept(alarm, ALARM_FIELDS)


def _without_policy_ids(value: Any) -> Any:
    """A policy ARN carries an id that changes when the policy is made again (and a plan names it before it exists,
    by a Ref): compared as the policy it names."""
    if isinstance(value, Ref) and value.call.startswith("policy "):
        _, resource, name = value.call.split(" ", 2)
        return f"scaling policy {resource} {name}"
    if isinstance(value, str):
        policy = policy_of_arn(value)
        return f"scaling policy {policy[0]} {policy[1]}" if policy else value
    if isinstance(value, Mapping):
        return {k: _without_policy_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_policy_ids(v) for v in value]
    return value


@dataclass
class Component:
    variant: str
    copies: int
    status: str
    spec: dict[str, Any]


@dataclass
class State:
    """An endpoint as the model sees it, before, between and after a plan's calls."""

    name: str
    exists: bool
    status: str
    config: str | None
    configs: dict[str, dict[str, Any]]  # documents of the configs whose content is known, by name
    known: set[str]  # names of the configs that exist
    counts: dict[str, int]  # desired instances of each instance variant
    targets: dict[str, dict[str, Any]]  # resource -> {ScalableDimension, MinCapacity, MaxCapacity}
    policies: dict[tuple[str, str], dict[str, Any]]
    scheduled: dict[tuple[str, str], dict[str, Any]]
    components: dict[str, Component]
    alarms: dict[str, dict[str, Any]]
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, live: LiveEndpoint | None, name: str = "", configs: Iterable[str] = ()) -> State:
        if live is None:
            return cls(name, False, "", None, {}, set(configs), {}, {}, {}, {}, {}, {})
        counts = {v: int(a["instance_count"]) for v, a in live.variants().items() if not a["serverless"]}
        return cls(
            live.name,
            True,
            live.status,
            live.config_name,
            {live.config_name: copy.deepcopy(live.config)},
            {*live.configs, *configs, live.config_name},
            counts,
            {
                str(t["ResourceId"]): {
                    "ScalableDimension": t.get("ScalableDimension") or _dimension_of(str(t["ResourceId"])),
                    "MinCapacity": int(t["MinCapacity"]),
                    "MaxCapacity": int(t["MaxCapacity"]),
                }
                for t in live.scalable_targets
            },
            {(str(p["ResourceId"]), str(p["PolicyName"])): policy_args(p) for p in live.scaling_policies},
            {(str(a["ResourceId"]), str(a["ScheduledActionName"])): scheduled_args(a) for a in live.scheduled_actions},
            {
                str(c["InferenceComponentName"]): Component(
                    str(c.get("VariantName")),
                    _copies(c),
                    str(c.get("InferenceComponentStatus") or "InService"),
                    copy.deepcopy(dict(c.get("Specification") or {})),
                )
                for c in live.components
            },
            {str(a["AlarmName"]): alarm_args(a) for a in live.alarms},
            dict(live.tags),
        )

    # --- what the endpoint runs -------------------------------------------------------------------------
    def config_doc(self) -> dict[str, Any]:
        return self.configs.get(self.config or "", {})

    def config_variants(self) -> dict[str, dict[str, Any]]:
        return {str(v["VariantName"]): v for v in self.config_doc().get("ProductionVariants", [])}

    def variants(self) -> dict[str, dict[str, Any]]:
        """The shape LiveEndpoint.variants() gives, for pricing: type, count, serverless settings."""
        out: dict[str, dict[str, Any]] = {}
        for name, v in self.config_variants().items():
            serverless = v.get("ServerlessConfig") or {}
            out[name] = {
                "instance_type": v.get("InstanceType"),
                "instance_count": int(self.counts.get(name, 0)),
                "serverless": bool(serverless),
            }
            if serverless:
                out[name]["memory_mb"] = int(serverless.get("MemorySizeInMB") or 0)
                out[name]["provisioned_concurrency"] = int(serverless.get("ProvisionedConcurrency") or 0)
        return out

    def resources(self) -> set[str]:
        """The Application Auto Scaling resources of this endpoint: its variants and its components."""
        return {variant_resource(self.name, v) for v in self.config_variants()} | {
            component_resource(c) for c in self.components
        }

    def footprint(self) -> dict[str, Any]:
        """What an undo must bring back, comparably: the variants (type, count, serverless and managed scaling
        settings, model), the rest of the config, every target, policy, scheduled action, component and alarm.
        Not names that only say when something was made (a restored config may have a new name)."""
        if not self.exists or self.status == "Deleting":
            return {"exists": False}
        doc = self.config_doc()
        variants = {}
        for name, v in self.config_variants().items():
            facts = {k: v.get(k) for k in ("InstanceType", "ModelName", "ServerlessConfig", "ManagedInstanceScaling")}
            variants[name] = {**facts, "count": self.counts.get(name)}
        rest = {
            k: v for k, v in doc.items() if k not in ("EndpointConfigName", "ProductionVariants", "EndpointConfigArn")
        }
        rest = {k: v for k, v in rest.items() if k != "CreationTime" and v not in (None, {}, [])}
        return {
            "exists": True,
            "variants": variants,
            "config": json.loads(json.dumps(rest, sort_keys=True, default=str)),
            "targets": {r: [t["MinCapacity"], t["MaxCapacity"]] for r, t in sorted(self.targets.items())},
            "policies": {f"{r} {n}": _without_policy_ids(p) for (r, n), p in sorted(self.policies.items())},
            "scheduled": {f"{r} {n}": _scheduled_facts(a) for (r, n), a in sorted(self.scheduled.items())},
            "components": {
                n: {"variant": c.variant, "copies": c.copies}
                for n, c in sorted(self.components.items())
                if c.status != "Deleting"
            },
            "alarms": {n: alarm_facts(a) for n, a in sorted(self.alarms.items()) if self._observed(n, a)},
        }

    def _observed(self, name: str, alarm: Mapping[str, Any]) -> bool:
        """Whether a read of the endpoint finds this alarm: sagewatch's own (read by name), or one whose actions
        invoke a policy the endpoint still has (found through DescribeScalingPolicies' Alarms). An owner's alarm
        whose policy went with its target stays in CloudWatch, out of the endpoint's sight."""
        if name.startswith("sagewatch-"):
            return True
        for action in alarm.get("AlarmActions") or []:
            if isinstance(action, Ref) and action.call.startswith("policy "):
                _, resource, policy = action.call.split(" ", 2)
                key: tuple[str, str] | None = (resource, policy)
            else:
                key = policy_of_arn(str(action))
            if key in self.policies:
                return True
        return False

    # --- the calls ------------------------------------------------------------------------------------
    def wait_needed(self, call: Call) -> list[Wait]:
        """The waits AWS needs before `call` can be made in this state."""
        if call.service == SAGEMAKER and call.operation == "CreateEndpoint" and self.exists:
            return [Wait("endpoint", self.name, "gone", f"until {self.name} is deleted")]
        if call.service == SAGEMAKER and call.operation == "DeleteEndpoint":
            return [
                Wait("inference-component", n, "gone", f"until inference component {n} is deleted")
                for n, c in self.components.items()
                if c.status == "Deleting"
            ]
        waits: list[Wait] = []
        component = _component_of(call)
        if component and component in self.components and self.components[component].status in IN_PROGRESS:
            waits.append(Wait("inference-component", component, "InService", f"until {component} is InService"))
        if self._needs_in_service(call) and self.exists and self.status in IN_PROGRESS:
            waits.insert(
                0,
                Wait(
                    "endpoint",
                    self.name,
                    "InService",
                    f"until {self.name} is InService (it is {self.status} for some minutes; SageMaker refuses "
                    "the next change until then)",
                    self.config,
                ),
            )
        return waits

    def _needs_in_service(self, call: Call) -> bool:
        if call.service == SAGEMAKER:
            return call.operation in (
                "UpdateEndpoint",
                "UpdateEndpointWeightsAndCapacities",
                "CreateInferenceComponent",
                "UpdateInferenceComponentRuntimeConfig",
            )
        # the documented order: register (again) once the endpoint is InService
        resource = str(call.params.get("ResourceId", ""))
        return call.operation == "RegisterScalableTarget" and resource.startswith(f"endpoint/{self.name}/")

    def apply(self, step: Step) -> None:
        """The state after `step`; PlanError when AWS would refuse it here."""
        if isinstance(step, Wait):
            self._wait(step)
            return
        handler = _HANDLERS.get((step.service, step.operation))
        if handler is None:
            raise PlanError(f"no model of {step.service} {step.operation}")
        handler(self, dict(step.params))

    def _wait(self, wait: Wait) -> None:
        if wait.what == "endpoint":
            if wait.until == "gone":
                self.exists, self.status = False, ""
            elif self.exists:
                self.status = "InService"
        elif wait.name in self.components:
            if wait.until == "gone":
                del self.components[wait.name]
            else:
                self.components[wait.name].status = "InService"

    def _require(self, ok: bool, message: str) -> None:
        if not ok:
            raise PlanError(f"AWS would refuse this plan: {message}")

    def _in_service(self, what: str) -> None:
        self._require(self.exists, f"{what}: endpoint {self.name} does not exist")
        self._require(self.status == "InService", f"{what}: endpoint {self.name} is {self.status}, not InService")

    # sagemaker
    def _create_config(self, p: dict[str, Any]) -> None:
        name = str(p["EndpointConfigName"])
        self._require(name not in self.known, f"endpoint config {name} exists already")
        self.known.add(name)
        self.configs[name] = copy.deepcopy(p)

    def _update_endpoint(self, p: dict[str, Any]) -> None:
        self._in_service("UpdateEndpoint")
        new = self.configs.get(str(p["EndpointConfigName"]))
        self._require(new is not None, f"endpoint config {p['EndpointConfigName']} is not known to exist")
        assert new is not None
        now, then = self.config_variants(), {str(v["VariantName"]): v for v in new.get("ProductionVariants", [])}
        for name, v in now.items():
            resource = variant_resource(self.name, name)
            changed = name not in then or then[name].get("InstanceType") != v.get("InstanceType")
            self._require(
                not (changed and resource in self.targets),
                f"UpdateEndpoint would change the instance type of (or remove) {name}, an auto scaling target: "
                "its policies must be deleted and it must be deregistered first",
            )
        retain = bool(p.get("RetainAllVariantProperties"))
        counts = {}
        for name, v in then.items():
            if v.get("ServerlessConfig"):
                continue
            counts[name] = self.counts[name] if retain and name in self.counts else int(v["InitialInstanceCount"])
        self.counts, self.config, self.status = counts, str(p["EndpointConfigName"]), "Updating"

    def _weights_and_capacities(self, p: dict[str, Any]) -> None:
        self._in_service("UpdateEndpointWeightsAndCapacities")
        for item in p["DesiredWeightsAndCapacities"]:
            self._require(item["VariantName"] in self.counts, f"{item['VariantName']} is not an instance variant")
            if "DesiredInstanceCount" in item:
                self.counts[item["VariantName"]] = int(item["DesiredInstanceCount"])
        self.status = "Updating"

    def _create_endpoint(self, p: dict[str, Any]) -> None:
        self._require(not self.exists, f"endpoint {self.name} exists")
        config = self.configs.get(str(p["EndpointConfigName"]))
        self._require(config is not None, f"endpoint config {p['EndpointConfigName']} is not known to exist")
        assert config is not None
        self.exists, self.status, self.config = True, "Creating", str(p["EndpointConfigName"])
        self.counts = {
            str(v["VariantName"]): int(v["InitialInstanceCount"])
            for v in config.get("ProductionVariants", [])
            if not v.get("ServerlessConfig")
        }
        self.tags = {t["Key"]: t["Value"] for t in p.get("Tags", [])}

    def _delete_endpoint(self, p: dict[str, Any]) -> None:
        self._require(self.exists, f"endpoint {self.name} does not exist")
        self._require(not self.components, "SageMaker refuses to delete an endpoint that has inference components")
        for resource in [r for r in self.targets if r.startswith(f"endpoint/{self.name}/")]:
            self._deregister(resource)
        self.status = "Deleting"

    def _create_component(self, p: dict[str, Any]) -> None:
        self._in_service("CreateInferenceComponent")
        name = str(p["InferenceComponentName"])
        self._require(name not in self.components, f"inference component {name} exists")
        copies = int(p.get("RuntimeConfig", {}).get("CopyCount", 1))
        self.components[name] = Component(str(p["VariantName"]), copies, "Creating", dict(p["Specification"]))

    def _delete_component(self, p: dict[str, Any]) -> None:
        name = str(p["InferenceComponentName"])
        self._require(name in self.components, f"inference component {name} does not exist")
        resource = component_resource(name)
        if resource in self.targets:
            self._deregister(resource)
        self.components[name].status = "Deleting"

    def _component_copies(self, p: dict[str, Any]) -> None:
        name = str(p["InferenceComponentName"])
        self._require(name in self.components, f"inference component {name} does not exist")
        self._require(self.components[name].status == "InService", f"inference component {name} is not InService")
        self.components[name].copies = int(p["DesiredRuntimeConfig"]["CopyCount"])
        self.components[name].status = "Updating"

    # application-autoscaling
    def _exists(self, resource: str) -> bool:
        if resource.startswith("inference-component/"):
            c = self.components.get(resource.split("/", 1)[1])
            return c is not None and c.status != "Deleting"
        return self.exists and resource in self.resources()

    def _register(self, p: dict[str, Any]) -> None:
        resource = str(p["ResourceId"])
        self._require(self._exists(resource), f"RegisterScalableTarget: {resource} does not exist")
        was = self.targets.get(resource, {})
        low = int(p.get("MinCapacity", was.get("MinCapacity", 0)))
        high = int(p.get("MaxCapacity", was.get("MaxCapacity", low)))
        self._require(low <= high, f"RegisterScalableTarget {resource}: minimum {low} above maximum {high}")
        self.targets[resource] = {"ScalableDimension": p["ScalableDimension"], "MinCapacity": low, "MaxCapacity": high}
        self._clamp(resource, low, high)

    def _clamp(self, resource: str, low: int, high: int) -> None:
        """Application Auto Scaling moves a capacity outside new limits into them at once."""
        if resource.startswith("inference-component/"):
            c = self.components[resource.split("/", 1)[1]]
            clamped = min(max(c.copies, low), high)
            if clamped != c.copies:
                c.copies, c.status = clamped, "Updating"
            return
        variant = resource.rsplit("/", 1)[1]
        if variant in self.counts:
            clamped = min(max(self.counts[variant], low), high)
            if clamped != self.counts[variant]:
                self.counts[variant] = clamped
                if self.status == "InService":
                    self.status = "Updating"

    def _deregister(self, resource: str) -> None:
        self.targets.pop(resource, None)
        self.policies = {k: v for k, v in self.policies.items() if k[0] != resource}
        self.scheduled = {k: v for k, v in self.scheduled.items() if k[0] != resource}

    def _deregister_call(self, p: dict[str, Any]) -> None:
        resource = str(p["ResourceId"])
        self._require(resource in self.targets, f"DeregisterScalableTarget: {resource} is not registered")
        self._deregister(resource)

    def _put_policy(self, p: dict[str, Any]) -> None:
        resource = str(p["ResourceId"])
        self._require(resource in self.targets, f"PutScalingPolicy {p['PolicyName']}: {resource} is not registered")
        self.policies[(resource, str(p["PolicyName"]))] = policy_args(p)

    def _delete_policy(self, p: dict[str, Any]) -> None:
        key = (str(p["ResourceId"]), str(p["PolicyName"]))
        self._require(key in self.policies, f"DeleteScalingPolicy: no policy {key[1]} on {key[0]}")
        del self.policies[key]

    def _put_scheduled(self, p: dict[str, Any]) -> None:
        resource = str(p["ResourceId"])
        self._require(resource in self.targets, f"PutScheduledAction: {resource} is not registered")
        self.scheduled[(resource, str(p["ScheduledActionName"]))] = scheduled_args(p)

    def _delete_scheduled(self, p: dict[str, Any]) -> None:
        key = (str(p["ResourceId"]), str(p["ScheduledActionName"]))
        self._require(key in self.scheduled, f"DeleteScheduledAction: no action {key[1]} on {key[0]}")
        del self.scheduled[key]

    # cloudwatch
    def _put_alarm(self, p: dict[str, Any]) -> None:
        self.alarms[str(p["AlarmName"])] = alarm_args(p)

    def _delete_alarms(self, p: dict[str, Any]) -> None:
        for name in p["AlarmNames"]:
            self.alarms.pop(str(name), None)


_HANDLERS: dict[tuple[str, str], Any] = {
    (SAGEMAKER, "CreateEndpointConfig"): State._create_config,
    (SAGEMAKER, "UpdateEndpoint"): State._update_endpoint,
    (SAGEMAKER, "UpdateEndpointWeightsAndCapacities"): State._weights_and_capacities,
    (SAGEMAKER, "CreateEndpoint"): State._create_endpoint,
    (SAGEMAKER, "DeleteEndpoint"): State._delete_endpoint,
    (SAGEMAKER, "CreateInferenceComponent"): State._create_component,
    (SAGEMAKER, "DeleteInferenceComponent"): State._delete_component,
    (SAGEMAKER, "UpdateInferenceComponentRuntimeConfig"): State._component_copies,
    (AUTOSCALING, "RegisterScalableTarget"): State._register,
    (AUTOSCALING, "DeregisterScalableTarget"): State._deregister_call,
    (AUTOSCALING, "PutScalingPolicy"): State._put_policy,
    (AUTOSCALING, "DeleteScalingPolicy"): State._delete_policy,
    (AUTOSCALING, "PutScheduledAction"): State._put_scheduled,
    (AUTOSCALING, "DeleteScheduledAction"): State._delete_scheduled,
    (CLOUDWATCH, "PutMetricAlarm"): State._put_alarm,
    (CLOUDWATCH, "DeleteAlarms"): State._delete_alarms,
}
OPERATIONS = frozenset(_HANDLERS)  # every call a plan may contain


def _dimension_of(resource: str) -> str:
    return COMPONENT_DIMENSION if resource.startswith("inference-component/") else VARIANT_DIMENSION


def _copies(component: Mapping[str, Any]) -> int:
    """The copies a component runs (Desired: what it is asked to run), else those it was created with."""
    runtime = component.get("RuntimeConfig") or {}
    for key in ("DesiredCopyCount", "CurrentCopyCount", "CopyCount"):
        if runtime.get(key) is not None:
            return int(runtime[key])
    return 1


def _component_of(call: Call) -> str | None:
    if call.service == SAGEMAKER and call.operation == "UpdateInferenceComponentRuntimeConfig":
        return str(call.params["InferenceComponentName"])
    resource = str(call.params.get("ResourceId", ""))
    if call.service == AUTOSCALING and resource.startswith("inference-component/"):
        return resource.split("/", 1)[1]
    return None


def alarm_facts(alarm: Mapping[str, Any]) -> dict[str, Any]:
    """An alarm as compared: its defaults as absent (actions enabled), policy ARNs as the policies they name."""
    facts = {k: v for k, v in alarm.items() if not (k == "ActionsEnabled" and v is True)}
    return dict(_without_policy_ids(facts))


def _scheduled_facts(action: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("Schedule", "Timezone", "ScalableTargetAction", "StartTime", "EndTime")
    return {k: action.get(k) for k in keep if action.get(k) is not None}


class Builder:
    """Steps added in order from a start state, with the waits AWS needs put in before each call that needs one;
    `state` is always the state the steps so far leave. PlanError when AWS would refuse a call."""

    def __init__(self, start: State):
        self.state = copy.deepcopy(start)
        self.steps: list[Step] = []

    def add(self, steps: Iterable[Step]) -> None:
        for step in steps:
            if isinstance(step, Call):
                for wait in self.state.wait_needed(step):
                    self.steps.append(wait)
                    self.state.apply(wait)
            self.steps.append(step)
            self.state.apply(step)


def sequence(start: State, steps: Iterable[Step]) -> tuple[list[Step], State]:
    """The steps with the waits AWS needs put in, and the state they end in."""
    built = Builder(start)
    built.add(steps)
    return built.steps, built.state


def run(start: State, steps: Iterable[Step]) -> State:
    """The state after `steps` (already sequenced)."""
    state = copy.deepcopy(start)
    for step in steps:
        state.apply(step)
    return state
