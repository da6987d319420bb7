"""Endpoint configs a plan creates, and what variants cost (pure).

A derived config is named after its own content (`<stem>-sw-<10 hex of its SHA-256>`): the same change planned
twice (a dry run and its real run, a run and its resume) names the same config, so the dry run shows the very
name the real run creates, and a config that exists already under that name has that content and is reused.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from sagewatch.catalog import Accelerator, Catalog, accelerator_of

CONFIG_NAME_MAX = 63  # SageMaker's limit
_DERIVED = re.compile(r"-sw(?:-[0-9a-f]{10}|\d{14})$")  # this scheme's suffix, or the earlier timestamped one
STEM_MAX = CONFIG_NAME_MAX - len("-sw-") - 10
READ_ONLY = ("EndpointConfigArn", "CreationTime", "ResponseMetadata")


def config_stem(name: str) -> str:
    """The name a derived config's name starts with: the original's, without an earlier sagewatch suffix."""
    return _DERIVED.sub("", name)[:STEM_MAX]


def named(doc: Mapping[str, Any], stem_of: str) -> dict[str, Any]:
    """`doc` named after its content (stem of `stem_of`, the config it derives from)."""
    body = {k: v for k, v in doc.items() if k != "EndpointConfigName"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return {"EndpointConfigName": f"{config_stem(stem_of)}-sw-{digest}", **body}


def creatable(config: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeEndpointConfig's answer as CreateEndpointConfig input: read-only fields and empty structures go
    (describe may return them, create refuses them)."""
    return {k: copy.deepcopy(v) for k, v in config.items() if k not in READ_ONLY and v not in (None, {}, [])}


def derived_config(
    config: Mapping[str, Any],
    variant: str,
    *,
    remove: bool = False,
    instance_type: str | None = None,
    instance_count: int | None = None,
    counts: Mapping[str, int] | None = None,
    managed_minimum: int | None = None,
    managed_maximum: int | None = None,
    drop_provisioned_concurrency: bool = False,
) -> dict[str, Any]:
    """CreateEndpointConfig input: the live config whole (data capture, async, KMS, network...) with one variant
    changed or removed, named after its content. `counts` sets the other variants' InitialInstanceCount (their
    live counts, for an UpdateEndpoint that does not retain them). Configs are immutable: the old one stays for
    rolling back."""
    doc = creatable(config)
    variants = []
    for v in doc.get("ProductionVariants", []):
        if counts and v["VariantName"] in counts and not v.get("ServerlessConfig"):
            v["InitialInstanceCount"] = int(counts[v["VariantName"]])
        if v["VariantName"] == variant:
            if remove:
                continue
            if instance_type:
                v["InstanceType"] = instance_type
            if instance_count:
                v["InitialInstanceCount"] = instance_count
            if drop_provisioned_concurrency and v.get("ServerlessConfig"):
                v["ServerlessConfig"].pop("ProvisionedConcurrency", None)
            if managed_minimum is not None:
                v["ManagedInstanceScaling"] = {
                    "Status": "ENABLED",
                    "MinInstanceCount": managed_minimum,
                    "MaxInstanceCount": max(1, managed_maximum or 1),
                }
        variants.append(v)
    doc["ProductionVariants"] = variants
    return named(doc, str(config["EndpointConfigName"]))


def restore_config(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """CreateEndpointConfig input that brings back what was running when the snapshot was taken: the config
    with each variant's running instance count (at least 1: CreateEndpointConfig refuses 0, and a variant that
    auto scaling took to 0 comes back at 1 until its minimum of 0 takes it down again), weight and managed
    instance scaling as its initial ones. The snapshot's own config when nothing changed since it was created,
    else one named after its content."""
    config = snapshot["endpoint_config"]
    running = {v.get("VariantName"): v for v in snapshot["endpoint"].get("ProductionVariants", [])}
    doc = creatable(config)
    changed = False
    for v in doc.get("ProductionVariants", []):
        if v.get("ServerlessConfig"):
            continue
        now = running.get(v["VariantName"], {})
        count = now.get("DesiredInstanceCount", now.get("CurrentInstanceCount"))
        wanted = {
            "InitialInstanceCount": max(1, int(count)) if count is not None else None,
            "InitialVariantWeight": now.get("DesiredWeight", now.get("CurrentWeight")),
            "ManagedInstanceScaling": now.get("ManagedInstanceScaling"),
        }
        for key, value in wanted.items():
            if value is not None and v.get(key) != value:
                v[key] = value
                changed = True
    return named(doc, str(config["EndpointConfigName"])) if changed else doc


def monthly_cost(variants: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> float | None:
    total = 0.0
    for v in variants.values():
        if v.get("serverless"):
            warm = catalog.provisioned_concurrency_monthly_cost(
                int(v.get("memory_mb") or 0), int(v.get("provisioned_concurrency") or 0)
            )
            if warm is None:
                return None
            total += warm
            continue
        if not v.get("instance_count"):
            continue
        spec = catalog.get(v.get("instance_type"))
        if spec is None:
            return None
        total += spec.monthly_cost(int(v["instance_count"]))
    return round(total, 2)


ACCELERATOR_NAMES = {
    Accelerator.CPU: "CPU",
    Accelerator.NVIDIA: "NVIDIA GPU",
    Accelerator.INFERENTIA: "AWS Inferentia",
    Accelerator.TRAINIUM: "AWS Trainium",
}


def accelerator_change(current: str | None, new: str | None, catalog: Catalog) -> str | None:
    """ "NVIDIA GPU -> CPU" when `new` runs on another accelerator kind than `current`, else None."""
    if not current or not new:
        return None
    spec_now, spec_new = catalog.get(current), catalog.get(new)
    before = spec_now.accelerator if spec_now else accelerator_of(current)
    after = spec_new.accelerator if spec_new else accelerator_of(new)
    if before is after:
        return None
    return f"{ACCELERATOR_NAMES.get(before, str(before))} -> {ACCELERATOR_NAMES.get(after, str(after))}"
