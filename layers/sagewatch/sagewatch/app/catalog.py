"""Keep the stack's price catalog its own region's: read the Price List API, store the catalog in the stack
bucket, where every function loads it at cold start (sagewatch.aws.wiring.stack_catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, Protocol

from sagewatch.catalog import Catalog, merge_price_list


class PriceSource(Protocol):
    def hosting_prices(self, region: str) -> Iterator[str]: ...


class CatalogArchive(Protocol):
    def put(self, catalog: Catalog) -> str: ...


def regional_catalog(
    prices: PriceSource, region: str, today: date, *, provisioned_concurrency_rate: float | None = None
) -> Catalog:
    """`region`'s catalog from the Price List, with the operator's provisioned concurrency rate if given.
    Raises CatalogError when the Price List has no hosting prices for the region."""
    catalog = merge_price_list(Catalog.load(), prices.hosting_prices(region), region=region, as_of=today.isoformat())
    return catalog.with_provisioned_concurrency_rate(provisioned_concurrency_rate)


def refresh_catalog(
    prices: PriceSource,
    archive: CatalogArchive,
    region: str,
    today: date,
    *,
    provisioned_concurrency_rate: float | None = None,
) -> dict[str, Any]:
    """Rebuild `region`'s catalog from the Price List and store it; returns where, and how many types.
    Raises CatalogError when the Price List has no hosting prices for the region (nothing is stored)."""
    catalog = regional_catalog(prices, region, today, provisioned_concurrency_rate=provisioned_concurrency_rate)
    key = archive.put(catalog)
    return {
        "region": region,
        "as_of": catalog.as_of,
        "instance_types": len(catalog),
        "provisioned_concurrency_usd_per_gb_second": catalog.provisioned_concurrency_usd_per_gb_second,
        "key": key,
    }
