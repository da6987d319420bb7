"""Turn SageMaker API responses into Endpoint objects (pure; the adapter makes the calls)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sagewatch.models import DataCapture, Endpoint, ManagedScaling, ServerlessSpec, Variant

IGNORE_TAG = "sagewatch:ignore"


def tags_to_dict(tags: Sequence[Mapping[str, str]]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags}


def is_ignored(tags: Mapping[str, str]) -> bool:
    return tags.get(IGNORE_TAG, "").strip().lower() == "true"


def _serverless(raw: Mapping[str, Any] | None) -> ServerlessSpec | None:
    if not raw:
        return None
    return ServerlessSpec(
        memory_mb=int(raw.get("MemorySizeInMB", 0)),
        max_concurrency=int(raw.get("MaxConcurrency", 0)),
        provisioned_concurrency=int(raw.get("ProvisionedConcurrency", 0) or 0),
    )


def _managed(doc: Mapping[str, Any] | None) -> ManagedScaling | None:
    if not doc:
        return None
    low, high = doc.get("MinInstanceCount"), doc.get("MaxInstanceCount")
    return ManagedScaling(
        enabled=doc.get("Status") == "ENABLED",
        min_instances=int(low) if isinstance(low, int) else None,
        max_instances=int(high) if isinstance(high, int) else None,
    )


def _data_capture(doc: object) -> DataCapture | None:
    """DataCaptureConfig (EnableCapture is optional: a config that has one captures unless it says false)."""
    if not isinstance(doc, Mapping) or not doc:
        return None
    pct = doc.get("InitialSamplingPercentage")
    modes = [o.get("CaptureMode") for o in doc.get("CaptureOptions") or [] if isinstance(o, Mapping)]
    return DataCapture(
        enabled=doc.get("EnableCapture") is not False,
        sampling_pct=float(pct) if isinstance(pct, int | float) and not isinstance(pct, bool) else 0.0,
        destination=str(doc["DestinationS3Uri"])[:1024] if doc.get("DestinationS3Uri") else None,
        modes=tuple(str(m) for m in modes if m),
    )


def _variants(
    live_variants: Sequence[Mapping[str, Any]] | None,
    config_variants: Sequence[Mapping[str, Any]] | None,
    components: Mapping[str, Sequence[str]],
) -> list[Variant]:
    """DescribeEndpoint's variants (live counts) with their config's (instance types, models)."""
    configured = {v["VariantName"]: v for v in config_variants or []}
    out: list[Variant] = []
    for live in live_variants or []:
        name = live["VariantName"]
        conf = configured.get(name, {})
        serverless = _serverless(live.get("CurrentServerlessConfig") or conf.get("ServerlessConfig"))
        count = live.get("CurrentInstanceCount", conf.get("InitialInstanceCount", 0))
        out.append(
            Variant(
                name=name,
                instance_type=None if serverless else conf.get("InstanceType"),
                instance_count=0 if serverless else int(count or 0),
                serverless=serverless,
                # A variant defined without a model hosts inference components instead.
                uses_inference_components=not serverless and not conf.get("ModelName"),
                inference_components=tuple(sorted(components.get(name, ()))),
                managed_scaling=_managed(live.get("ManagedInstanceScaling") or conf.get("ManagedInstanceScaling")),
            )
        )
    return out


def endpoint_from_api(
    description: Mapping[str, Any],
    config: Mapping[str, Any],
    tags: Mapping[str, str],
    components: Mapping[str, Sequence[str]],
    *,
    components_known: bool = True,
) -> Endpoint:
    """Merge DescribeEndpoint (live counts) with DescribeEndpointConfig (instance types).

    `components` maps variant name to the inference components ListInferenceComponents reported on it.
    """
    variants = _variants(description.get("ProductionVariants"), config.get("ProductionVariants"), components)
    shadows = _variants(description.get("ShadowProductionVariants"), config.get("ShadowProductionVariants"), {})
    return Endpoint(
        name=description["EndpointName"],
        arn=description["EndpointArn"],
        status=description["EndpointStatus"],
        creation_time=description["CreationTime"],
        last_modified_time=description.get("LastModifiedTime", description["CreationTime"]),
        config_name=description["EndpointConfigName"],
        is_async=bool(config.get("AsyncInferenceConfig")),
        variants=tuple(variants),
        tags=dict(tags),
        inference_components_known=components_known,
        enhanced_metrics=bool((description.get("MetricsConfig") or {}).get("EnableEnhancedMetrics")),
        failure_reason=str(description["FailureReason"])[:1000] if description.get("FailureReason") else None,
        data_capture=_data_capture(config.get("DataCaptureConfig")),
        shadow_variants=tuple(shadows),
    )
