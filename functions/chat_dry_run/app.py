"""Chatbot's Dry run button (Amazon Q Developer in chat applications custom action): plans the remediation a
notification carried and answers with the plan and the command that applies it. It never changes anything: it
refuses any request that is not a dry run, and its role holds no permission that could."""

from __future__ import annotations

import os
import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.chat import chat_dry_run
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import chat_remediation, stack_catalog
from sagewatch.observability import logger, tracer
from sagewatch.settings import ChatDryRunSettings

SETTINGS = ChatDryRunSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)
CATALOG, _ = stack_catalog(CLIENTS, bucket=SETTINGS.bucket, region=SETTINGS.region)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    account = context.invoked_function_arn.split(":")[4]
    result = chat_dry_run(
        event,
        chat_remediation(SETTINGS, account, CLIENTS, CATALOG),
        region=SETTINGS.region,
        request_id=f"chat-{uuid.uuid4()}",  # the apply command's: a retry of it with the same id acts once
        function=SETTINGS.remediate_function,
    )
    logger.info(
        "chat dry run", extra={"status": result.get("status"), "endpoint": result.get("plan", {}).get("endpoint")}
    )
    return result
