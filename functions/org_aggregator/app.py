"""The central account's aggregator: what members forward to the organization's bus -> the org table (findings,
scan and cost summaries) or straight to the central topic (Model Monitor and endpoint alerts, remediation
notices, with the member's account and region).

EventBridge may deliver an event twice: each is handled once (Powertools idempotency on the event id). The
account and region are EventBridge's envelope (the account that put the event), never the member's detail.
Events of an unexpected shape are logged and acknowledged; transient AWS failures raise, so Lambda retries
them and then dead-letters them (nothing is lost).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
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

from sagewatch.app.org import OrgEvent, ingest
from sagewatch.app.ports import DeliveryError
from sagewatch.aws.clients import Clients, is_transient
from sagewatch.aws.wiring import org_dependencies
from sagewatch.observability import REFUSED_EVENTS_METRIC, count, logger, tracer, unexpected_error
from sagewatch.org import OrgEventError, Origin
from sagewatch.settings import OrgSettings, SettingsError

SETTINGS = OrgSettings.from_env(os.environ)
if not SETTINGS.idempotency_table:
    raise SettingsError("SAGEWATCH_IDEMPOTENCY_TABLE is required but not set")
CLIENTS = Clients(SETTINGS.region)


def clock() -> datetime:
    """Now; tests replace it (the time a sample event was stamped, or a day in 2028)."""
    return datetime.now(UTC)


CONFIG = IdempotencyConfig(
    event_key_jmespath="id",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=2 * 24 * 3600,  # EventBridge retries for up to 24 hours
)
PERSISTENCE = DynamoDBPersistenceLayer(table_name=SETTINGS.idempotency_table)


# Powertools' decorator is untyped; the function keeps its signature.
@idempotent_function(data_keyword_argument="event", config=CONFIG, persistence_store=PERSISTENCE)  # type: ignore[untyped-decorator]
def process(event: dict[str, Any], parsed: OrgEvent) -> dict[str, Any]:
    return ingest(parsed, org_dependencies(SETTINGS, CLIENTS))


def read(event: Any) -> OrgEvent:
    """The envelope checked by Powertools' EventBridge model; the detail by the use case."""
    envelope = parse(event=event, model=EventBridgeModel)
    if not isinstance(envelope.detail, dict):
        raise OrgEventError("the event's detail is not an object")
    origin = Origin.of(envelope.account, envelope.region, clock())
    return OrgEvent(envelope.id, envelope.detail_type, origin, envelope.detail)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    CONFIG.register_lambda_context(context)
    try:
        parsed = read(event)
    except (ValidationError, OrgEventError) as exc:
        logger.error("event of an unexpected shape: acknowledged, not retried", extra={"problem": str(exc)[:1000]})
        return {"status": "rejected", "reason": str(exc)[:1000]}
    try:
        result: dict[str, Any] = process(event=event, parsed=parsed)
    except (IdempotencyAlreadyInProgressError, IdempotencyPersistenceLayerError, DeliveryError):
        raise  # in progress, the table unreachable, or the alert not sent: Lambda retries, then the DLQ keeps it
    except OrgEventError as exc:
        logger.error(
            "a member sent what sagewatch does not send: acknowledged, counted, not retried",
            extra={"problem": str(exc)[:1000], "account": parsed.origin.account, "region": parsed.origin.region},
        )
        count(REFUSED_EVENTS_METRIC, DetailType=parsed.detail_type[:64])
        return {"status": "rejected", "reason": str(exc)[:1000]}
    except Exception as exc:
        if is_transient(exc):
            raise
        # No one foresaw this: counted apart from refusals (UnexpectedErrors pages), logged, not looped on.
        unexpected_error("could not handle the event")
        return {"status": "failed", "reason": f"{type(exc).__name__}: {str(exc)[:500]}"}
    logger.info("handled", extra=result)
    return result
