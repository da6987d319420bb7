"""The organization digest: EventBridge Scheduler every few minutes -> this function -> at most one digest per
scan cycle (members report within minutes of each other; it waits until they are done), and the SilentMembers
metric an alarm watches (a member that stopped reporting must not look like a clean one)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.org import digest_tick
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import org_dependencies
from sagewatch.observability import logger, new_metrics, record_org_metrics, tracer
from sagewatch.settings import OrgSettings

SETTINGS = OrgSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)


def clock() -> datetime:
    """Now; tests replace it (the time a sample event was stamped, or a day in 2028)."""
    return datetime.now(UTC)


metrics = new_metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    # The figures go to the metrics as soon as they are known, before any rendering: a digest that fails
    # still reports SilentMembers (log_metrics flushes them in its own `finally`). When even the table
    # cannot be read, no figure is emitted, and the alarm treats the missing data as breaching.
    result = digest_tick(
        SETTINGS,
        org_dependencies(SETTINGS, CLIENTS),
        clock(),
        observe=lambda r: record_org_metrics(metrics, r),
    )
    if result["silent_members"]:
        logger.warning("members have stopped reporting", extra={"silent_members": result["silent_members"]})
    if result.get("account_names_problem"):
        logger.info("account names not available", extra={"problem": result["account_names_problem"]})
    logger.info("digest tick", extra=result)
    return result
