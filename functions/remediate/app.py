"""Manual remediation, invoked synchronously by a person (sam remote invoke, aws lambda invoke, or
`python -m sagewatch remediate`). Dry run unless told otherwise; see sagewatch.remediation for the rules.

Real runs are idempotent on request_id: the AWS CLI retries a synchronous invoke after its 60-second
read timeout, and the retry must not act twice. Reserved concurrency 1: one change at a time.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.aws.clients import Clients
from sagewatch.aws.cloudwatch import CloudWatchMetrics
from sagewatch.aws.remediate import RemediationTarget
from sagewatch.aws.sns import TopicPublisher
from sagewatch.catalog import Catalog
from sagewatch.observability import logger, tracer
from sagewatch.remediation import RemediationError, RemediationRequest, describe_validation_error
from sagewatch.service import RemediationDependencies, remediate
from sagewatch.settings import RemediateSettings

SETTINGS = RemediateSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)
CATALOG = Catalog.load()
CONFIG = IdempotencyConfig(
    event_key_jmespath="request_id", raise_on_no_idempotency_key=True, expires_after_seconds=30 * 24 * 3600
)
PERSISTENCE = DynamoDBPersistenceLayer(table_name=SETTINGS.idempotency_table)


def _dependencies(account: str) -> RemediationDependencies:
    return RemediationDependencies(
        actor=RemediationTarget(
            CLIENTS.sagemaker(), CLIENTS.s3(), CLIENTS.autoscaling(), CLIENTS.cloudwatch(), SETTINGS.bucket
        ),
        metrics=CloudWatchMetrics(CLIENTS.cloudwatch()),
        announcer=TopicPublisher(CLIENTS.sns(), SETTINGS.topic_arn),
        catalog=CATALOG,
        thresholds=SETTINGS.thresholds,
        account=account,
    )


def _run(event: dict[str, Any], account: str) -> dict[str, Any]:
    try:
        return remediate(RemediationRequest.model_validate(event), _dependencies(account))
    except RemediationError as exc:
        return {"status": "refused", "error": str(exc)}


# Powertools' decorator is untyped; the function keeps its signature.
@idempotent_function(data_keyword_argument="event", config=CONFIG, persistence_store=PERSISTENCE)  # type: ignore[untyped-decorator]
def _run_once(event: dict[str, Any], account: str) -> dict[str, Any]:
    return _run(event, account)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    CONFIG.register_lambda_context(context)
    account = context.invoked_function_arn.split(":")[4]
    try:
        request = parse(event=event, model=RemediationRequest)
    except ValidationError as exc:
        message = describe_validation_error(exc)
        logger.warning("invalid remediation request", extra={"problem": message})
        return {"status": "invalid", "error": message}
    logger.info("remediation request", extra={"request": request.model_dump(mode="json")})
    # Plans, and a real run missing its request_id (refused), are not remembered; real runs are, once.
    once = not request.dry_run and bool(request.request_id)
    result: dict[str, Any] = _run_once(event=event, account=account) if once else _run(event, account)
    logger.info("remediation result", extra={"status": result.get("status")})
    return result
