"""Catalog refresh: weekly (EventBridge Scheduler) and once at deploy (a CloudFormation custom resource) ->
the Price List API's hosting prices of this stack's region -> catalog/<region>.json in the stack bucket,
which the other functions load at cold start.

At deploy the refresh never fails the stack: a Price List outage answers SUCCESS with the reason, and the
functions use the bundled prices (their reports say whose) until the weekly run succeeds. On schedule a
failure raises, so the errors alarm sees it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import ValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.app.catalog import refresh_catalog
from sagewatch.aws.cfn_response import respond
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import catalog_refresh
from sagewatch.catalog import CatalogError
from sagewatch.observability import logger, tracer
from sagewatch.requests import CatalogRefreshRequest, CustomResourceRequest
from sagewatch.settings import CatalogSettings

SETTINGS = CatalogSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)


def _refresh() -> dict[str, Any]:
    prices, store = catalog_refresh(CLIENTS, SETTINGS.bucket)
    return refresh_catalog(
        prices,
        store,
        SETTINGS.region,
        datetime.now(UTC).date(),
        provisioned_concurrency_rate=SETTINGS.provisioned_concurrency_rate,
    )


def _deploy(request: CustomResourceRequest) -> dict[str, Any]:
    physical = request.PhysicalResourceId or f"sagewatch-catalog-{SETTINGS.region}"
    if request.RequestType == "Delete":  # the catalog stays with the bucket: nothing to undo
        respond(request, success=True, reason="nothing to delete", physical_id=physical, data={})
        return {"status": "deleted"}
    try:
        result = _refresh()
        reason = f"{result['instance_types']} instance types priced for {SETTINGS.region}"
    except (ClientError, BotoCoreError, CatalogError) as exc:
        result = {"prices": "bundled, until the weekly refresh"}
        reason = f"the Price List could not be read ({exc}); the bundled prices stay until the weekly refresh"
        logger.error("catalog refresh at deploy failed", extra={"problem": str(exc)[:1000]})
    respond(request, success=True, reason=reason, physical_id=physical, data=result)
    return {"status": "refreshed" if "key" in result else "kept", **result}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "RequestType" in event:
        try:
            request = CustomResourceRequest.model_validate(event)
        except ValidationError as exc:
            logger.error("not a custom resource request", extra={"problem": str(exc)[:1000]})
            return {"status": "invalid", "error": str(exc)[:1000]}
        return _deploy(request)
    try:
        CatalogRefreshRequest.model_validate(event)
    except ValidationError as exc:
        return {"status": "invalid", "error": str(exc)[:1000]}
    result = _refresh()  # raises on failure: the errors alarm
    logger.info("catalog refreshed", extra=result)
    return {"status": "refreshed", **result}
