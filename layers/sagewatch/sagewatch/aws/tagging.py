"""Endpoint tags in pages of 100: the Resource Groups Tagging API instead of one ListTags per endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.inventory import tags_to_dict

if TYPE_CHECKING:
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient


def arn_key(arn: str) -> str:
    # SageMaker lower-cases names in its ARNs; compare ARNs the same way whatever the source wrote.
    return arn.lower()


class EndpointTags:
    """Every tagged SageMaker endpoint of the region with its tags, from `GetResources` (100 a page).

    The answer is eventually consistent and leaves out resources that were never tagged: the inventory reads
    `ListTags` itself for an endpoint missing here or created in the last hour.
    """

    def __init__(self, client: ResourceGroupsTaggingAPIClient):
        self.client = client

    def by_arn(self) -> dict[str, dict[str, str]]:
        pages = self.client.get_paginator("get_resources").paginate(
            ResourceTypeFilters=["sagemaker:endpoint"], PaginationConfig={"PageSize": 100}
        )
        return {
            arn_key(item["ResourceARN"]): tags_to_dict(
                [{"Key": t["Key"], "Value": t.get("Value", "")} for t in item.get("Tags", [])]
            )
            for page in pages
            for item in page.get("ResourceTagMappingList", [])
        }
