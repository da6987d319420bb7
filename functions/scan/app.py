"""Scheduled fleet scan: EventBridge Scheduler -> this function -> SNS summary + EMF metrics. Past one function's
reach it starts the fan-out state machine instead, whose last step invokes it again with {"merge": ...}."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.scan import exclusive_scan
from sagewatch.aws.clients import Clients
from sagewatch.aws.routes import load_routing
from sagewatch.aws.wiring import scan_dependencies, stack_catalog
from sagewatch.observability import SCANS_SKIPPED_METRIC, count, logger, new_metrics, record_scan_metrics, tracer
from sagewatch.requests import ScanRequest
from sagewatch.settings import ScanSettings

# Cold start: a missing or bad setting (or catalog) fails here, naming it.
SETTINGS = ScanSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)
# The region's prices the catalog refresh keeps in the bucket; the bundled ones (and a warning) otherwise.
CATALOG, CATALOG_PROBLEM = stack_catalog(
    CLIENTS, bucket=SETTINGS.bucket, region=SETTINGS.region, path=SETTINGS.catalog_path
)
load_routing(
    SETTINGS.notifications.routing_parameter, SETTINGS.notifications.email_domains
)  # a bad routing table fails the cold start, naming it
metrics = new_metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ScanRequest)
def lambda_handler(event: ScanRequest, context: LambdaContext) -> dict[str, Any]:
    account = context.invoked_function_arn.split(":")[4]
    budget = context.get_remaining_time_in_millis() / 1000  # what this invocation may run: a scan warns near it
    report, result = exclusive_scan(
        SETTINGS,
        event,
        scan_dependencies(SETTINGS, account, CLIENTS, CATALOG),
        holder=context.aws_request_id,
        # the lease outlives this invocation by a minute at most: a run that dies blocks the next one no longer
        lease_seconds=budget + 60,
        budget_seconds=budget,
    )
    if report is None and result.get("status") == "fanned-out":  # the state machine's merge step reports
        for warning in result["warnings"]:
            logger.warning(warning)
        logger.info("scan fanned out", extra=result)
        return result
    if report is None:  # another scan holds the lock (ReserveConcurrency=false)
        logger.warning("scan skipped", extra=result)
        count(SCANS_SKIPPED_METRIC)  # one skip is an overlap; ScansSkippedAlarm pages when scans keep skipping
        return result
    record_scan_metrics(metrics, report, result.get("timing"))
    for error in report.errors:
        # nested: a top-level "message" key would clash with the log record's own
        logger.warning("not judged", extra={"scan_error": error.to_dict()})
    if CATALOG_PROBLEM:
        logger.warning("the stack's catalog was not used", extra={"problem": CATALOG_PROBLEM})
    for warning in result["warnings"]:
        logger.warning(warning)
    logger.info("scan finished", extra=result)
    return result
