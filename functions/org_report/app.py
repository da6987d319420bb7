"""The organization's weekly cost report: EventBridge Scheduler -> this function -> CSV, HTML and JSON in the
central bucket (org-reports/), and a digest on the central topic, from the cost summaries members forwarded."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.org import org_cost_report
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import org_archive, org_dependencies
from sagewatch.observability import logger, tracer
from sagewatch.requests import ReportRequest
from sagewatch.settings import OrgSettings

SETTINGS = OrgSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)


def clock() -> datetime:
    """Now; tests replace it (the time a sample event was stamped, or a day in 2028)."""
    return datetime.now(UTC)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ReportRequest)
def lambda_handler(event: ReportRequest, context: LambdaContext) -> dict[str, Any]:
    deps = org_dependencies(SETTINGS, CLIENTS)
    _, result = org_cost_report(SETTINGS, deps, org_archive(SETTINGS, CLIENTS), clock(), publish=event.publish)
    logger.info("organization cost report written", extra=result)
    return result
