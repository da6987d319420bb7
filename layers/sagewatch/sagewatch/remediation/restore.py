"""The calls that put an endpoint back as a snapshot saw it (pure): restore-endpoint, and every plan's undo.

From what the snapshot kept (`then`) and what is there now (`now`, read or predicted): the endpoint recreated
if it is gone (once a delete under way has finished), or moved back to the config it ran (auto scaled variants
whose type changes taken down first, as AWS requires); then, for every variant and inference component the
snapshot covers, its scalable target, scaling policies and scheduled actions as they were (registered, put,
deleted, deregistered), missing components recreated, the alarms of step scaling policies pointed at the
policies put back, sagewatch's own later alarms removed, and instance and copy counts set back. Only what
differs gets a call: a restore of what is already restored plans nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sagewatch.remediation.calls import CLOUDWATCH, SAGEMAKER, Call, Ref, Step
from sagewatch.remediation.configs import restore_config
from sagewatch.remediation.live import component_resource, policy_key, policy_of_arn, variant_resource
from sagewatch.remediation.model import Builder, State, alarm_facts
from sagewatch.remediation.scaling import (
    delete_policy,
    delete_scheduled,
    deregister,
    put_policy,
    put_scheduled,
    register,
)
from sagewatch.remediation.updates import update_to

SAGEWATCH_ALARMS = "sagewatch-"  # alarms sagewatch made (scale-to-zero's): removed when the snapshot had none
SPEC_FIELDS = (  # botocore's InferenceComponentSpecification members (a unit test holds them equal)
    "InstanceType",
    "ModelName",
    "Container",
    "StartupParameters",
    "ComputeResourceRequirements",
    "BaseInferenceComponentName",
    "DataCacheConfig",
    "SchedulingConfig",
)


def creatable_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeInferenceComponent's Specification as CreateInferenceComponent takes it: its container's
    DeployedImage (SpecifiedImage, ResolvedImage) becomes Image, the digest that ran where SageMaker resolved
    one, so that the restored component runs the very image the snapshot saw."""
    out = {k: copy.deepcopy(spec[k]) for k in SPEC_FIELDS if spec.get(k) not in (None, {}, [])}
    container = dict(out.get("Container") or {})
    deployed = container.pop("DeployedImage", None)
    if isinstance(deployed, Mapping) and not container.get("Image"):
        image = deployed.get("ResolvedImage") or deployed.get("SpecifiedImage")
        if image:
            container["Image"] = image
    if container:
        out["Container"] = container
    return out


def restore_steps(then: State, now: State, snapshot: Mapping[str, Any]) -> tuple[list[Step], list[str]]:
    """The steps (waits included) that bring `now` back to `then`, and notes on them. The config they put back
    (restore_config of the snapshot) may exist already: its document is known (the planner passes it on)."""
    notes: list[str] = []
    config = restore_config(snapshot)
    name = str(config["EndpointConfigName"])
    built = Builder(now)
    built.state.configs.setdefault(name, dict(config))  # its content is known: it is made from the snapshot
    if not now.exists or now.status == "Deleting":
        calls = []
        if name not in now.known:
            calls.append(Call(SAGEMAKER, "CreateEndpointConfig", config, f"create endpoint config {name} as it ran"))
        args: dict[str, Any] = {"EndpointName": then.name, "EndpointConfigName": name}
        if then.tags:
            args["Tags"] = [{"Key": k, "Value": v} for k, v in then.tags.items()]
        calls.append(Call(SAGEMAKER, "CreateEndpoint", args, f"create endpoint {then.name} with it and its tags"))
        built.add(calls)
    elif _config_differs(then, now):
        update = update_to(
            built.state, config, retain=False, why="back to the config the snapshot saw", put_back_scaling=False
        )
        built.add(update.steps)
    built.add(_scaling(then, built.state, [variant_resource(then.name, v) for v in then.config_variants()]))
    built.add(_components(then, built.state))
    built.add(_scaling(then, built.state, [component_resource(n) for n in then.components]))
    put = {
        (str(s.params["ResourceId"]), str(s.params["PolicyName"]))
        for s in built.steps
        if isinstance(s, Call) and s.operation == "PutScalingPolicy"
    }
    built.add(_alarms(then, built.state, put))
    built.add(_counts(then, built.state, notes))
    return built.steps, notes


def _config_differs(then: State, now: State) -> bool:
    """Whether the endpoint runs another config than the snapshot's (counts aside: those are set directly)."""
    a, b = then.footprint(), now.footprint()
    shapes = [
        {v: {k: x for k, x in facts.items() if k != "count"} for v, facts in f["variants"].items()} for f in (a, b)
    ]
    return bool(shapes[0] != shapes[1] or a["config"] != b["config"])


def _scaling(then: State, now: State, resources: list[str]) -> list[Call]:
    """Each resource's target, policies and scheduled actions as `then` had them."""
    calls: list[Call] = []
    for resource in sorted(set(resources)):
        was, target = then.targets.get(resource), now.targets.get(resource)
        if was is None:
            if target is not None:
                calls.append(
                    deregister(
                        resource,
                        str(target["ScalableDimension"]),
                        f"deregister {resource}: the "
                        "snapshot saw no auto scaling there (its policies and scheduled actions go "
                        "with it)",
                    )
                )
            continue
        low, high = int(was["MinCapacity"]), int(was["MaxCapacity"])
        if target is None or (int(target["MinCapacity"]), int(target["MaxCapacity"])) != (low, high):
            calls.append(
                register(
                    resource,
                    str(was["ScalableDimension"]),
                    low,
                    high,
                    f"auto scaling of {resource} back to {low}-{high}",
                )
            )
        calls += [
            delete_policy(p, f"delete scaling policy {n} of {resource}: the snapshot had none")
            for (r, n), p in sorted(now.policies.items())
            if r == resource and (r, n) not in then.policies
        ]
        calls += [
            put_policy(p, f"put scaling policy {n} on {resource} back")
            for (r, n), p in sorted(then.policies.items())
            if r == resource and now.policies.get((r, n)) != p
        ]
        calls += [
            delete_scheduled(a, f"delete scheduled action {n} on {resource}: the snapshot had none")
            for (r, n), a in sorted(now.scheduled.items())
            if r == resource and (r, n) not in then.scheduled
        ]
        calls += [
            put_scheduled(a, f"put scheduled action {n} on {resource} back")
            for (r, n), a in sorted(then.scheduled.items())
            if r == resource and now.scheduled.get((r, n)) != a
        ]
    return calls


def _components(then: State, now: State) -> list[Call]:
    """The snapshot's inference components that are gone, created again (their copies at least 1)."""
    calls = []
    for name, c in sorted(then.components.items()):
        if name in now.components:
            continue
        spec = creatable_spec(c.spec)
        image = " (its image by the digest that ran)" if "Image" in (spec.get("Container") or {}) else ""
        calls.append(
            Call(
                SAGEMAKER,
                "CreateInferenceComponent",
                {
                    "InferenceComponentName": name,
                    "EndpointName": then.name,
                    "VariantName": c.variant,
                    "Specification": spec,
                    "RuntimeConfig": {"CopyCount": max(1, c.copies)},
                },
                f"create inference component {name} with {max(1, c.copies)} copies{image}",
            )
        )
    return calls


def _alarms(then: State, now: State, put: set[tuple[str, str]]) -> list[Call]:
    """sagewatch's alarms the snapshot did not have, deleted; the snapshot's alarms put back where they are
    missing, differ, or name a policy this restore puts again (a policy put again has a new ARN)."""
    calls: list[Call] = []
    gone = sorted(n for n in now.alarms if n not in then.alarms and n.startswith(SAGEWATCH_ALARMS))
    if gone:
        calls.append(
            Call(
                CLOUDWATCH,
                "DeleteAlarms",
                {"AlarmNames": gone},
                f"delete {', '.join(gone)}: made by sagewatch after the snapshot",
            )
        )
    for name, alarm in sorted(then.alarms.items()):
        actions = list(alarm.get("AlarmActions") or [])
        # the ARN each policy has now, as the alarm names it today (a policy put back earlier has a new id)
        current = {policy_of_arn(str(a)): a for a in (now.alarms.get(name) or {}).get("AlarmActions") or []}
        new_actions: list[Any] = []
        for action in actions:
            policy = policy_of_arn(str(action))
            if policy and policy in put:
                new_actions.append(Ref(policy_key(*policy), "PolicyARN"))
            else:
                new_actions.append(current.get(policy, action) if policy else action)
        unchanged = name in now.alarms and alarm_facts(now.alarms[name]) == alarm_facts(alarm)
        if unchanged and not any(isinstance(a, Ref) for a in new_actions):
            continue  # the same alarm on the same policies: nothing to put back
        calls.append(
            Call(
                CLOUDWATCH,
                "PutMetricAlarm",
                {**alarm, "AlarmActions": new_actions},
                f"alarm {name} as the snapshot saw it, on the policies put back",
            )
        )
    return calls


def _counts(then: State, now: State, notes: list[str]) -> list[Call]:
    """Instance counts and copy counts back to the snapshot's (within the limits put back)."""
    calls: list[Call] = []
    wanted = []
    for variant, count in sorted(then.counts.items()):
        if variant not in now.counts or now.counts[variant] == count:
            continue
        if count == 0:
            notes.append(
                f"{then.name}/{variant} ran 0 instances: it comes back at 1 (CreateEndpointConfig and "
                "UpdateEndpointWeightsAndCapacities keep a real-time count at 1 or more), and its auto "
                "scaling minimum of 0 takes it down again when its queue is empty"
            )
            continue
        wanted.append({"VariantName": variant, "DesiredInstanceCount": count})
    if wanted:
        said = ", ".join(f"{w['VariantName']} to {w['DesiredInstanceCount']}" for w in wanted)
        calls.append(
            Call(
                SAGEMAKER,
                "UpdateEndpointWeightsAndCapacities",
                {"EndpointName": then.name, "DesiredWeightsAndCapacities": wanted},
                f"instance counts back as the snapshot saw them: {said}",
            )
        )
    for name, c in sorted(then.components.items()):
        current = now.components.get(name)
        if current is None or current.copies == c.copies or c.copies == 0:
            continue
        calls.append(
            Call(
                SAGEMAKER,
                "UpdateInferenceComponentRuntimeConfig",
                {"InferenceComponentName": name, "DesiredRuntimeConfig": {"CopyCount": c.copies}},
                f"inference component {name} back to {c.copies} copies",
            )
        )
    return calls
