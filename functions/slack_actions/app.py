"""The Slack app's buttons (Dry run, Apply): Slack -> this function's URL -> an answer within three seconds, and
the work in this function's own asynchronous invocation, answered through the click's response_url.

The URL is public by necessity (Slack calls it): what stops abuse is Slack's signature over every request, the
five-minute window, the approver and channel lists, and tokens that only sagewatch can mint (sagewatch.app.
slack_actions). Any other request gets 401 or 400 and nothing is done.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.slack_actions import receive, work
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import slack_actions_dependencies
from sagewatch.observability import SLACK_CLICKS_METRIC, SLACK_REFUSED_METRIC, count, logger, tracer
from sagewatch.settings import SlackActionsSettings
from sagewatch.slackapp import signing_secret

SETTINGS = SlackActionsSettings.from_env(os.environ)
CLIENTS = Clients(SETTINGS.region)


def clock() -> datetime:
    """Now; tests replace it."""
    return datetime.now(UTC)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    deps = slack_actions_dependencies(SETTINGS, CLIENTS, context.invoked_function_arn)
    if not isinstance(event, dict):
        return {"statusCode": 400, "body": "not a request"}
    # Cached for five minutes: a rotated signing secret is picked up without a redeploy.
    secret = signing_secret(parameters.get_secret(SETTINGS.signing_secret_arn, max_age=300))
    if "sagewatch_slack_click" in event:  # the work, in this function's own asynchronous invocation
        outcome = work(event, SETTINGS, secret, deps, clock())
        logger.info("slack click", extra={"outcome": outcome})
        count(SLACK_CLICKS_METRIC, Outcome=str(outcome.get("status"))[:32])
        return outcome
    answer = receive(event, SETTINGS, secret, deps, clock())
    logger.info("slack request", extra={"status": answer["statusCode"], "why": answer["body"][:200]})
    if answer["statusCode"] >= 400:  # forged, stale, oversized or not Slack's: a public URL's noise, counted
        count(SLACK_REFUSED_METRIC, Status=str(answer["statusCode"]))
    return answer
