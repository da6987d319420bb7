"""Manual remediation, invoked synchronously by a person (sam remote invoke, aws lambda invoke, or
`sagewatch remediate`). Dry run unless told otherwise; see sagewatch.remediation for the rules.

Real runs are idempotent on request_id: the AWS CLI retries a synchronous invoke after its 60-second
read timeout, and the retry must not act twice. The key binds the whole request: the same request_id with
another payload is refused, never answered with the first one's result. Only executed runs are remembered;
a refusal is not, so a corrected request may reuse its id. Reserved concurrency 1: one change at a time.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from aws_lambda_powertools.utilities.parser import ValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.chat import chat_dry_run
from sagewatch.app.remediate import answer, refusal, remediate
from sagewatch.aws.clients import Clients
from sagewatch.aws.routes import load_routing
from sagewatch.aws.wiring import function_remediation, stack_catalog
from sagewatch.bounds import bounded
from sagewatch.observability import logger, tracer
from sagewatch.remediation import RemediationError, RemediationRequest, describe_validation_error
from sagewatch.settings import RemediateSettings

SETTINGS = RemediateSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)
CATALOG, _ = stack_catalog(CLIENTS, bucket=SETTINGS.bucket, region=SETTINGS.region)
load_routing(
    SETTINGS.notifications.routing_parameter, SETTINGS.notifications.email_domains
)  # a bad routing table fails the cold start, naming it
CONFIG = IdempotencyConfig(
    event_key_jmespath="request_id",
    payload_validation_jmespath="@",  # the whole request: a reused id with another payload is refused
    raise_on_no_idempotency_key=True,
    expires_after_seconds=30 * 24 * 3600,
)
PERSISTENCE = DynamoDBPersistenceLayer(table_name=SETTINGS.idempotency_table)
MARGIN_SECONDS = 60


# Powertools' decorator is untyped; the function keeps its signature.
@idempotent_function(data_keyword_argument="event", config=CONFIG, persistence_store=PERSISTENCE)  # type: ignore[untyped-decorator]
def _run_once(
    event: dict[str, Any], request: RemediationRequest, account: str, asker: dict[str, Any], seconds: float
) -> dict[str, Any]:
    """`request` is `event` validated; a refusal raises, so that its idempotency record is not kept."""
    return remediate(request, function_remediation(SETTINGS, account, CLIENTS, CATALOG, asker), seconds=seconds)


def requested_by(context: LambdaContext) -> dict[str, Any]:
    """Who asked, as far as Lambda can tell: the caller's own claim in the client context (the CLI sends its
    credentials' ARN), or the Cognito identity; Lambda itself does not name the invoking principal. A claim
    is labelled as one (verified false); the Lambda request id finds the invocation in CloudTrail and logs."""
    known: dict[str, Any] = {"lambda_request_id": bounded(getattr(context, "aws_request_id", "") or "", 64) or None}
    custom = getattr(getattr(context, "client_context", None), "custom", None)
    claimed = custom.get("requested_by") if isinstance(custom, dict) else None
    slack = slack_people(custom.get("slack") if isinstance(custom, dict) else None)
    if isinstance(claimed, str) and claimed.strip():
        source = "slack" if slack else "client-context"  # the Slack app verified Slack's signature; here, a claim
        return {"principal": bounded(claimed.strip(), 2048), "source": source, "verified": False, **slack, **known}
    identity = getattr(getattr(context, "identity", None), "cognito_identity_id", None)
    if isinstance(identity, str) and identity:
        return {"principal": bounded(identity, 256), "source": "cognito", "verified": True, **known}
    return {"principal": None, "source": None, "verified": False, **known}


def slack_people(doc: object) -> dict[str, Any]:
    """Who asked for the dry run and who applied it, as the Slack app says (ids and names, bounded)."""
    if not isinstance(doc, dict):
        return {}
    out: dict[str, Any] = {}
    for role in ("asked_by", "applied_by"):
        person = doc.get(role)
        if isinstance(person, dict) and isinstance(person.get("id"), str):
            out[f"slack_{role}"] = {"id": bounded(person["id"], 32), "name": bounded(str(person.get("name") or ""), 80)}
    return out


def _answer(
    event: dict[str, Any], request: RemediationRequest, account: str, asker: dict[str, Any], seconds: float
) -> dict[str, Any]:
    # Plans, and a real run missing its request_id (refused), are not remembered; real runs are, once.
    if request.dry_run or not request.request_id:
        return answer(request, function_remediation(SETTINGS, account, CLIENTS, CATALOG, asker), seconds=seconds)
    try:
        result: dict[str, Any] = _run_once(event=event, request=request, account=account, asker=asker, seconds=seconds)
        return result
    except RemediationError as exc:
        return refusal(exc)
    except IdempotencyValidationError:
        return {
            "status": "refused",
            "error": f"request_id {request.request_id} was already used for a different request: send a new "
            "request_id for a new request (the same request_id is only for retrying the same request)",
        }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    CONFIG.register_lambda_context(context)
    account = context.invoked_function_arn.split(":")[4]
    if isinstance(event, dict) and "chat_request" in event:
        # Chatbot's Dry run button: only ever a plan of what a finding recommends (sagewatch.chat), answered with
        # the exact command that applies it, for a person to run
        chat = chat_dry_run(
            event,
            function_remediation(SETTINGS, account, CLIENTS, CATALOG, requested_by(context)),
            region=SETTINGS.region,
            request_id=f"chat-{uuid.uuid4()}",
            function=context.function_name,
        )
        logger.info("chat dry run", extra={"result": chat})
        return chat
    if not isinstance(event, dict):
        # Powertools' parser would json-decode a string: a request is a JSON object, nothing else.
        message = f"invalid remediation request: the request must be a JSON object, not a {type(event).__name__}"
        logger.warning("invalid remediation request", extra={"problem": message})
        return {"status": "invalid", "error": message}
    try:
        request = RemediationRequest.model_validate(event)
    except ValidationError as exc:
        message = describe_validation_error(exc)
        logger.warning("invalid remediation request", extra={"problem": message})
        return {"status": "invalid", "error": message}
    logger.info("remediation request", extra={"request": request.model_dump(mode="json")})
    # the waits between steps may use what the invocation has left, less a minute to audit and announce
    seconds = max(0.0, context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS)
    result = _answer(event, request, account, requested_by(context), seconds)
    # the whole result: what was done stays in the log even if the audit write or the announcement failed
    logger.info("remediation result", extra={"result": result})
    return result
