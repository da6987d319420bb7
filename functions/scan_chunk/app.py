"""One chunk of a fanned-out scan: the state machine's Distributed Map -> this function -> its part in S3."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.fanout import scan_chunk
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import chunk_dependencies, stack_catalog
from sagewatch.observability import logger, tracer
from sagewatch.requests import ChunkRequest
from sagewatch.settings import ScanChunkSettings

# Cold start: a missing or bad setting fails here, naming it.
SETTINGS = ScanChunkSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)
# the prices the scan function uses (the catalog refresh keeps them in the bucket): the same costs in every part
CATALOG, CATALOG_PROBLEM = stack_catalog(
    CLIENTS, bucket=SETTINGS.bucket, region=SETTINGS.region, path=SETTINGS.catalog_path
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ChunkRequest)
def lambda_handler(event: ChunkRequest, context: LambdaContext) -> dict[str, Any]:
    if CATALOG_PROBLEM:
        logger.warning("the stack's catalog was not used", extra={"problem": CATALOG_PROBLEM})
    account = context.invoked_function_arn.split(":")[4]  # the daily checks are kept per account and region
    result = scan_chunk(event, chunk_dependencies(SETTINGS, CLIENTS, CATALOG, account))
    logger.info("chunk scanned", extra=result | {"run": event.run})
    return result
