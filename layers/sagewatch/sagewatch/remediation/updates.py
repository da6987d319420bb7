"""An endpoint moved to another config the way AWS allows it (pure).

"Update endpoints that use auto scaling" (SageMaker developer guide, endpoint-auto-scaling-update.html): an
UpdateEndpoint that changes the instance type of, or removes, a variant that is an Application Auto Scaling
target fails. So: delete that variant's scaling policies and deregister it, create the new config, update the
endpoint, wait until it is InService, then register it again and put its policies (and scheduled actions,
which the deregistration deleted) back. Auto scaling of that variant is paused while the update runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagewatch.remediation.calls import SAGEMAKER, Call, Step
from sagewatch.remediation.live import variant_resource
from sagewatch.remediation.model import State
from sagewatch.remediation.scaling import put_back, take_down


@dataclass
class Update:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # the config's document, when it exists already (named by its content: this very content) and is not created
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)


def moved_variants(state: State, new_config: Mapping[str, Any]) -> list[str]:
    """Variants with a scalable target whose instance type the new config changes, or which it removes."""
    then = {str(v["VariantName"]): v for v in new_config.get("ProductionVariants", [])}
    return [
        name
        for name, v in sorted(state.config_variants().items())
        if variant_resource(state.name, name) in state.targets
        and (name not in then or then[name].get("InstanceType") != v.get("InstanceType"))
    ]


def update_to(
    state: State,
    new_config: Mapping[str, Any],
    *,
    retain: bool,
    why: str,
    limits: Mapping[str, tuple[int, int]] | None = None,
    put_back_scaling: bool = True,
) -> Update:
    """The calls that move `state`'s endpoint to `new_config`. `retain`: RetainAllVariantProperties (every variant
    keeps its live instance count; else each gets the new config's InitialInstanceCount). `limits`: new auto
    scaling limits of variants that are taken down and put back (else they come back with their own).
    `put_back_scaling` false: the caller puts auto scaling back itself (a restore puts back the snapshot's)."""
    out = Update()
    moved = moved_variants(state, new_config)
    kept = {str(v["VariantName"]) for v in new_config.get("ProductionVariants", [])}
    for variant in moved:
        resource = variant_resource(state.name, variant)
        reason = "SageMaker refuses to change the instance type of, or remove, an auto scaled variant"
        out.steps += take_down(state, resource, reason)
    name = str(new_config["EndpointConfigName"])
    if name not in state.known:
        out.steps.append(Call(SAGEMAKER, "CreateEndpointConfig", dict(new_config), f"create endpoint config {name}"))
    else:
        out.configs[name] = dict(new_config)
    params: dict[str, Any] = {"EndpointName": state.name, "EndpointConfigName": name}
    if retain:
        params["RetainAllVariantProperties"] = True
    counts = (
        "every variant keeps its instance count"
        if retain
        else "each variant gets the count the config names (the others their live counts)"
    )
    out.steps.append(
        Call(
            SAGEMAKER,
            "UpdateEndpoint",
            params,
            f"update {state.name} to {name}: {why} ({counts}; SageMaker keeps serving during the update)",
        )
    )
    for variant in moved:
        if variant not in kept or not put_back_scaling:
            continue
        resource = variant_resource(state.name, variant)
        out.steps += put_back(state, resource, (limits or {}).get(variant), "once the update is done")
    if moved and put_back_scaling:
        paused = ", ".join(moved)
        out.notes.append(
            f"auto scaling of {paused} is paused from its deregistration until it is registered again after the "
            "update (typically 5-15 minutes): the variant keeps its instance count meanwhile"
        )
    return out
