"""Slack notifier: the alert topic -> this function -> Block Kit messages on an incoming webhook.

Failures raise: Lambda retries the asynchronous SNS delivery twice, then sends the event to the
on-failure destination (an SQS dead-letter queue) with its message intact.
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagewatch.app.slack import deliver_to_slack
from sagewatch.observability import logger, tracer
from sagewatch.settings import SlackSettings
from sagewatch.webhook import WebhookPoster, webhook_url

SETTINGS = SlackSettings.from_env(os.environ)
SAFETY_MARGIN_SECONDS = 5.0
sleep = time.sleep  # how Retry-After is waited out (tests replace it and read the wait)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=SnsModel)
def lambda_handler(event: SnsModel, context: LambdaContext) -> dict[str, Any]:
    # Cached for five minutes: a rotated webhook URL is picked up without a redeploy.
    secret = parameters.get_secret(SETTINGS.webhook_secret_arn, max_age=300)
    url = webhook_url(str(secret), SETTINGS.slack_url_prefix)
    poster = WebhookPoster(url, prefix=SETTINGS.slack_url_prefix, sleep=sleep)
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    messages = [str(record.Sns.Message) for record in event.Records]
    result = deliver_to_slack(messages, poster, deadline=deadline, buttons=SETTINGS.buttons)
    logger.info("delivered to Slack", extra=result)
    return result
