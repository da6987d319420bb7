"""Model Monitor runs, endpoint health and AWS Health notices about SageMaker: EventBridge -> this function -> one
alert per run or failure (one per affected endpoint for an AWS Health event).

Duplicate deliveries of one state change produce one alert (Powertools idempotency, keyed on the job
ARN and status, the endpoint, status and modification time, or the Health event's ARN, status, update time and
page). Events of an unexpected shape, at any depth
(and DescribeProcessingJob documents likewise), are logged and acknowledged: retrying them could only fail
again. Transient AWS failures (throttling, 5xx, the network, the idempotency table) raise, so Lambda retries.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.monitor import handle_monitor_event
from sagewatch.app.ports import DeliveryError
from sagewatch.aws.clients import Clients, is_transient
from sagewatch.aws.routes import load_routing
from sagewatch.aws.wiring import monitor_dependencies
from sagewatch.monitoring import EventShapeError, Ignored, Incoming, classify
from sagewatch.observability import logger, tracer, unexpected_error
from sagewatch.settings import MonitorSettings

SETTINGS = MonitorSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)
load_routing(
    SETTINGS.notifications.routing_parameter, SETTINGS.notifications.email_domains
)  # a bad routing table fails the cold start, naming it
IDEMPOTENCY_KEY = (
    "detail.eventArn && [detail.eventArn, detail.statusCode, detail.lastUpdatedTime, detail.page, account]"
    " || detail.ProcessingJobStatus"
    " && [detail.ProcessingJobArn || detail.ProcessingJobName, detail.ProcessingJobStatus]"
    " || [detail.EndpointArn || detail.EndpointName, detail.EndpointStatus, detail.LastModifiedTime]"
)
CONFIG = IdempotencyConfig(
    event_key_jmespath=IDEMPOTENCY_KEY,
    raise_on_no_idempotency_key=True,
    expires_after_seconds=7 * 24 * 3600,  # SageMaker's repeats arrive within minutes; a week is plenty
)
PERSISTENCE = DynamoDBPersistenceLayer(table_name=SETTINGS.idempotency_table)


# Powertools' decorator is untyped; the function keeps its signature.
@idempotent_function(data_keyword_argument="event", config=CONFIG, persistence_store=PERSISTENCE)  # type: ignore[untyped-decorator]
def process(event: dict[str, Any], incoming: Incoming, account: str) -> dict[str, Any]:
    """`incoming` is `event` classified (once, by the handler); the event is the idempotency record's key."""
    return handle_monitor_event(incoming, event, monitor_dependencies(SETTINGS, account, CLIENTS))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    CONFIG.register_lambda_context(context)
    try:
        parse(event=event, model=EventBridgeModel)
        incoming = classify(event)
    except (ValidationError, EventShapeError) as exc:
        logger.error("event of an unexpected shape: acknowledged, not retried", extra={"problem": str(exc)[:1000]})
        return {"status": "rejected", "reason": str(exc)[:1000]}
    if isinstance(incoming, Ignored):
        logger.info("ignored", extra={"reason": incoming.reason})
        return {"status": "ignored", "reason": incoming.reason}
    try:
        result: dict[str, Any] = process(
            event=event, incoming=incoming, account=context.invoked_function_arn.split(":")[4]
        )
    except (IdempotencyAlreadyInProgressError, IdempotencyPersistenceLayerError, DeliveryError):
        raise  # in progress, the table unreachable, or the alert not sent: Lambda retries, then the DLQ keeps it
    except Exception as exc:
        if is_transient(exc):
            raise
        # No one foresaw this: counted apart from refusals (UnexpectedErrors pages), logged, not looped on.
        unexpected_error("could not handle the event")
        return {"status": "failed", "reason": f"{type(exc).__name__}: {str(exc)[:500]}"}
    logger.info("handled", extra=result)
    return result
