"""Rebuild the instance catalog from the AWS Price List API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_pricing import PricingClient


def hosting_price_list(client: PricingClient, region: str) -> Iterator[str]:
    """Every AmazonSageMaker on-demand Hosting product of `region`, as Price List JSON strings."""
    paginator = client.get_paginator("get_products")
    pages = paginator.paginate(
        ServiceCode="AmazonSageMaker",
        Filters=[
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
        ],
        FormatVersion="aws_v1",
        PaginationConfig={"PageSize": 100},
    )
    for page in pages:
        yield from page.get("PriceList", [])


class PriceList:
    """The Price List API's SageMaker hosting prices (its endpoint is in us-east-1 whatever the region)."""

    def __init__(self, client: PricingClient):
        self.client = client

    def hosting_prices(self, region: str) -> Iterator[str]:
        return hosting_price_list(self.client, region)
