"""Endpoint discovery through the SageMaker control plane."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import error_code, error_message, is_not_found
from sagewatch.inventory import IGNORE_TAG, endpoint_from_api, is_ignored, tags_to_dict
from sagewatch.models import ScanError, Skipped
from sagewatch.scan import Discovery

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

IN_SERVICE = "InService"


class SageMakerInventory:
    """Lists every endpoint once per scan; endpoint configs (immutable) are fetched once each."""

    def __init__(self, client: SageMakerClient):
        self.client = client
        self._configs: dict[str, dict[str, Any]] = {}

    def _summaries(self) -> list[dict[str, Any]]:
        pages = self.client.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 100})
        return [dict(s) for page in pages for s in page["Endpoints"]]

    def _inference_components(self) -> dict[str, dict[str, list[str]]]:
        """endpoint -> variant -> component names, from one paginated listing for the whole region."""
        by_endpoint: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        token: str | None = None
        for _ in range(10_000):  # bounded: 100 per page
            kwargs: dict[str, Any] = {"MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = self.client.list_inference_components(**kwargs)
            for ic in page.get("InferenceComponents", []):
                by_endpoint[ic["EndpointName"]][ic["VariantName"]].append(ic["InferenceComponentName"])
            token = page.get("NextToken")
            if not token:
                break
        return by_endpoint

    def _config(self, name: str) -> dict[str, Any]:
        if name not in self._configs:
            self._configs[name] = dict(self.client.describe_endpoint_config(EndpointConfigName=name))
        return self._configs[name]

    def _tags(self, arn: str) -> dict[str, str]:
        pages = self.client.get_paginator("list_tags").paginate(ResourceArn=arn)
        return tags_to_dict(
            [{"Key": t["Key"], "Value": t.get("Value", "")} for page in pages for t in page.get("Tags", [])]
        )

    def discover(self) -> Discovery:
        found = Discovery()
        self._configs = {}  # once per scan: a config name could be deleted and reused between scans
        summaries = self._summaries()
        try:
            components = self._inference_components()
            components_known = True
        except (ClientError, BotoCoreError) as exc:
            # Without the listing, component-hosting endpoints' traffic is unknown: never call them idle.
            components, components_known = {}, False
            code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            message = error_message(exc) if isinstance(exc, ClientError) else str(exc)
            found.errors.append(ScanError("ListInferenceComponents", code, message))
        for summary in summaries:
            name = summary["EndpointName"]
            if summary["EndpointStatus"] != IN_SERVICE:
                found.skipped.append(Skipped(name, f"status is {summary['EndpointStatus']}", summary["EndpointStatus"]))
                continue
            operation = "ListTags"
            try:
                tags = self._tags(summary["EndpointArn"])
                if is_ignored(tags):
                    found.skipped.append(Skipped(name, f"tagged {IGNORE_TAG}=true", IN_SERVICE))
                    continue
                operation = "DescribeEndpoint"
                description: dict[str, Any] = dict(self.client.describe_endpoint(EndpointName=name))
                if description["EndpointStatus"] != IN_SERVICE:
                    status = description["EndpointStatus"]
                    found.skipped.append(Skipped(name, f"status is {status}", status))
                    continue
                operation = "DescribeEndpointConfig"
                config = self._config(description["EndpointConfigName"])
            except ClientError as exc:
                code = "ResourceNotFound" if is_not_found(exc) else error_code(exc)
                found.errors.append(ScanError(operation, code, error_message(exc), name))
                continue
            found.endpoints.append(
                endpoint_from_api(
                    description, config, tags, components.get(name, {}), components_known=components_known
                )
            )
        return found
