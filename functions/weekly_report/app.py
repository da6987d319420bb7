"""Weekly cost report: EventBridge Scheduler -> this function -> CSV, HTML and JSON in the stack bucket, and a
short digest (top costs, top waste, trend against the previous report) on the topic. Read-only on SageMaker."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.weekly import weekly_report
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import stack_catalog, weekly_dependencies
from sagewatch.observability import logger, tracer
from sagewatch.requests import ReportRequest
from sagewatch.settings import ReportSettings

# Cold start: a missing or bad setting fails here, naming it.
SETTINGS = ReportSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)
CATALOG, CATALOG_PROBLEM = stack_catalog(CLIENTS, bucket=SETTINGS.bucket, region=SETTINGS.region)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ReportRequest)
def lambda_handler(event: ReportRequest, context: LambdaContext) -> dict[str, Any]:
    account = context.invoked_function_arn.split(":")[4]
    result = weekly_report(SETTINGS, event, weekly_dependencies(SETTINGS, account, CLIENTS, CATALOG))
    logger.info("cost report written", extra=result)
    return result
