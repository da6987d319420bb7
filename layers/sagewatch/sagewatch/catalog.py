"""The catalog of ml.* hosting instance types: sizes, accelerator kind and on-demand price."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
CATALOG_SCHEMA = "sagewatch.catalog/1"


class Accelerator(StrEnum):
    CPU = "cpu"
    NVIDIA = "nvidia"
    INFERENTIA = "inferentia"
    TRAINIUM = "trainium"


class CatalogError(ValueError):
    """The catalog file or a price list entry cannot be used."""


@dataclass(frozen=True)
class InstanceSpec:
    instance_type: str
    vcpu: int
    memory_gib: float
    accelerator: Accelerator
    accelerator_count: int
    accelerator_memory_gib: float  # total over all GPUs / Neuron devices
    price_per_hour_usd: float

    @cached_property  # the sizing search asks ~100 times per candidate per variant: work it out once
    def family(self) -> str:
        return self.instance_type.split(".")[1]

    @cached_property
    def arm64(self) -> bool:
        """AWS Graviton (c7g, m7g, r7g, c6gn...): the model container must be built for arm64."""
        return re.fullmatch(r"[a-z]+\d+g[a-z]*", self.family) is not None

    @property
    def gpus(self) -> int:
        """NVIDIA GPUs, the devices CloudWatch's GPU figures are summed over (0 for CPU and Neuron types)."""
        return self.accelerator_count if self.accelerator is Accelerator.NVIDIA else 0

    @property
    def burstable(self) -> bool:
        # t2/t3 run on CPU credits: fine to keep, never a target for production right-sizing.
        return self.family.startswith("t")

    def monthly_cost(self, count: int) -> float:
        return round(self.price_per_hour_usd * count * HOURS_PER_MONTH, 2)


def accelerator_of(instance_type: str) -> Accelerator:
    """Accelerator kind from the instance family (ml.g5.xlarge -> NVIDIA)."""
    family = instance_type.split(".")[1] if instance_type.count(".") >= 2 else instance_type
    if family.startswith("inf"):
        return Accelerator.INFERENTIA
    if family.startswith("trn"):
        return Accelerator.TRAINIUM
    if family[:1] in ("g", "p"):
        return Accelerator.NVIDIA
    return Accelerator.CPU


class Catalog:
    def __init__(
        self,
        specs: Iterable[InstanceSpec],
        *,
        region: str,
        as_of: str,
        sources: list[str],
        provisioned_concurrency_usd_per_gb_second: float | None = None,
        unpriced: Iterable[InstanceSpec] = (),
    ):
        self._specs = {s.instance_type: s for s in specs}
        # Types whose sizes are known but whose price this catalog does not have (newer families in the bundled
        # catalog): never priced or proposed, only named in warnings and used for sizes by a Price List merge.
        self._unpriced = {s.instance_type: s for s in unpriced if s.instance_type not in self._specs}
        self.region = region
        self.as_of = as_of
        self.sources = sources
        # Serverless provisioned concurrency is billed per GB-second of provisioned memory, used or not. The
        # bundled catalog has no rate (none could be sourced); a catalog document or the stack parameter sets it.
        self.provisioned_concurrency_usd_per_gb_second = provisioned_concurrency_usd_per_gb_second

    def provisioned_concurrency_monthly_cost(self, memory_mb: int, provisioned: int) -> float | None:
        """What `provisioned` warm slots of `memory_mb` cost a month (None: the catalog has no rate)."""
        if provisioned <= 0:
            return 0.0
        rate = self.provisioned_concurrency_usd_per_gb_second
        if rate is None:
            return None
        return round(provisioned * memory_mb / 1024 * rate * SECONDS_PER_MONTH, 2)

    def with_provisioned_concurrency_rate(self, rate: float | None) -> Catalog:
        """This catalog with the provisioned concurrency rate set (unchanged when `rate` is None)."""
        if rate is None:
            return self
        return Catalog(
            self._specs.values(),
            region=self.region,
            as_of=self.as_of,
            sources=self.sources,
            provisioned_concurrency_usd_per_gb_second=rate,
            unpriced=self._unpriced.values(),
        )

    def warnings_for(self, region: str) -> list[str]:
        """What a report priced with this catalog must say when it is used for `region`: never silently."""
        if self.region == region:
            return []
        return [
            f"prices are {self.region} on-demand (as of {self.as_of}); this is {region}: every dollar figure is "
            f"off by the difference. Run `sagewatch catalog refresh --region {region} --cache` (the CLI) "
            "or let the stack's catalog refresh run (the functions)"
        ]

    def unpriced_warnings(self, instance_types: Iterable[str | None]) -> list[str]:
        """What a report must say when some instance types in use have no price here (their cost is unknown)."""
        missing = sorted({t for t in instance_types if t and t not in self._specs})
        if not missing:
            return []
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        return [
            f"no {self.region} price for {shown} in the catalog (as of {self.as_of}): their findings carry no dollar "
            "figures and they are never proposed. A catalog refresh reads every type the region sells"
        ]

    def size_of(self, instance_type: str) -> InstanceSpec | None:
        """Sizes of a type, priced or not (a Price List merge fills what the Price List leaves blank)."""
        return self._specs.get(instance_type) or self._unpriced.get(instance_type)

    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[InstanceSpec]:
        return iter(self._specs.values())

    def get(self, instance_type: str | None) -> InstanceSpec | None:
        return self._specs.get(instance_type) if instance_type else None

    def to_document(self) -> dict[str, Any]:
        return {
            "schema": CATALOG_SCHEMA,
            "region": self.region,
            "currency": "USD",
            "as_of": self.as_of,
            "sources": self.sources,
            "serverless": {"provisioned_concurrency_usd_per_gb_second": self.provisioned_concurrency_usd_per_gb_second},
            "instances": [
                {**asdict(s), "accelerator": s.accelerator.value}
                for s in sorted(self._specs.values(), key=lambda s: s.instance_type)
            ]
            + [
                {**asdict(s), "accelerator": s.accelerator.value, "price_per_hour_usd": None}
                for s in sorted(self._unpriced.values(), key=lambda s: s.instance_type)
            ],
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Catalog:
        if not isinstance(doc, Mapping):  # a file another process wrote may hold any JSON
            raise CatalogError(f"catalog is a JSON {type(doc).__name__}, not an object")
        if doc.get("schema") != CATALOG_SCHEMA:
            raise CatalogError(f"catalog schema is {doc.get('schema')!r}, expected {CATALOG_SCHEMA!r}")
        specs: list[InstanceSpec] = []
        unpriced: list[InstanceSpec] = []
        for i, row in enumerate(doc.get("instances", [])):
            try:
                price = row["price_per_hour_usd"]
                spec = InstanceSpec(
                    instance_type=str(row["instance_type"]),
                    vcpu=int(row["vcpu"]),
                    memory_gib=float(row["memory_gib"]),
                    accelerator=Accelerator(row["accelerator"]),
                    accelerator_count=int(row["accelerator_count"]),
                    accelerator_memory_gib=float(row["accelerator_memory_gib"]),
                    price_per_hour_usd=0.0 if price is None else float(price),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise CatalogError(f"catalog instance #{i} is malformed: {exc!r}") from exc
            if price is not None and not spec.price_per_hour_usd > 0:
                raise CatalogError(f"catalog instance #{i} ({spec.instance_type}) has price {price!r}: null or above 0")
            (unpriced if price is None else specs).append(spec)
        if not specs:
            raise CatalogError("catalog has no priced instances")
        return cls(
            specs,
            region=str(doc["region"]),
            as_of=str(doc["as_of"]),
            sources=list(doc["sources"]),
            provisioned_concurrency_usd_per_gb_second=_pc_rate(doc.get("serverless")),
            unpriced=unpriced,
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """The catalog at `path`, or the one bundled with the package."""
        if path is None:
            text = resources.files("sagewatch").joinpath("data/catalog.json").read_text(encoding="utf-8")
        else:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CatalogError(f"cannot read catalog {path}: {exc.strerror}") from exc
        try:
            return cls.from_document(json.loads(text))
        except json.JSONDecodeError as exc:
            raise CatalogError(f"catalog is not JSON: {exc}") from exc


def pc_rate_in_range(rate: float) -> bool:
    """A provisioned concurrency price per GB-second, wherever it comes from (catalog file, setting, flag)."""
    return 0 < rate < 1


def _pc_rate(serverless: Any) -> float | None:
    if serverless is None:
        return None
    if not isinstance(serverless, Mapping):
        raise CatalogError(f"catalog serverless is a JSON {type(serverless).__name__}, not an object")
    rate = serverless.get("provisioned_concurrency_usd_per_gb_second")
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not pc_rate_in_range(rate):
        raise CatalogError(
            f"catalog serverless.provisioned_concurrency_usd_per_gb_second is {rate!r}: a price per GB-second "
            "in USD, above 0 and below 1"
        )
    return float(rate)


# --- Price List API parsing (pure; the adapter in sagewatch.aws.pricing fetches the pages) ----------

_NUMBER = re.compile(r"[\d.]+")


def _number(text: str | None) -> float:
    match = _NUMBER.search(text or "")
    return float(match.group()) if match else 0.0


def spec_from_price_list_entry(entry: str | Mapping[str, Any]) -> InstanceSpec | None:
    """One AmazonSageMaker PriceList entry (a JSON string) -> an instance spec.

    Returns None for entries that are not an on-demand hourly ml.* hosting price.
    """
    doc: Mapping[str, Any] = json.loads(entry) if isinstance(entry, str) else entry
    attrs = doc.get("product", {}).get("attributes", {})
    name = attrs.get("instanceName", "")
    if not name.startswith("ml.") or attrs.get("component", "Hosting") != "Hosting":
        return None
    price = None
    for term in doc.get("terms", {}).get("OnDemand", {}).values():
        for dim in term.get("priceDimensions", {}).values():
            if dim.get("unit", "").lower().startswith("hr") and "USD" in dim.get("pricePerUnit", {}):
                price = float(dim["pricePerUnit"]["USD"])
    if not price:
        return None
    gpu_count = int(_number(attrs.get("gpu") or attrs.get("physicalGpu")))
    # gpuMemory is per GPU in the Price List ("24 GB").
    gpu_memory = _number(attrs.get("gpuMemory")) * gpu_count
    accelerator = accelerator_of(name)
    return InstanceSpec(
        instance_type=name,
        vcpu=int(_number(attrs.get("vCpu"))),
        memory_gib=_number(attrs.get("memory")),
        accelerator=accelerator,
        accelerator_count=gpu_count if accelerator is not Accelerator.CPU else 0,
        accelerator_memory_gib=gpu_memory if accelerator is not Accelerator.CPU else 0.0,
        price_per_hour_usd=price,
    )


def merge_price_list(base: Catalog, entries: Iterable[str | Mapping[str, Any]], *, region: str, as_of: str) -> Catalog:
    """A catalog of the Price List's instances and prices; sizes it leaves blank come from `base`.

    Only priced entries are kept: an instance type the region does not sell has no place in it.
    """
    specs: dict[str, InstanceSpec] = {}
    for entry in entries:
        spec = spec_from_price_list_entry(entry)
        if spec is None:
            continue
        known = base.size_of(spec.instance_type)
        if known is not None:
            # Neuron device counts and memory are often blank in the Price List: keep what we know.
            spec = InstanceSpec(
                instance_type=spec.instance_type,
                vcpu=spec.vcpu or known.vcpu,
                memory_gib=spec.memory_gib or known.memory_gib,
                accelerator=spec.accelerator,
                accelerator_count=spec.accelerator_count or known.accelerator_count,
                accelerator_memory_gib=spec.accelerator_memory_gib or known.accelerator_memory_gib,
                price_per_hour_usd=spec.price_per_hour_usd,
            )
        specs[spec.instance_type] = spec
    if not specs:
        raise CatalogError(f"the Price List returned no ml.* hosting prices for {region}")
    return Catalog(
        specs.values(),
        region=region,
        as_of=as_of,
        sources=[f"AWS Price List API, AmazonSageMaker, component Hosting, regionCode {region}, on-demand"],
    )
