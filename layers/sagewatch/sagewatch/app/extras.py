"""Enrichments never block a notice (the owner, the route, tags, the monitoring type, account names).

An alert or a digest is the point; what enriches it is not. `extra` runs one enrichment: whatever goes wrong
(an AWS error, a parsing error, a bug) leaves that field unknown, is logged at ERROR with its traceback, and
the notice goes out all the same. Only a failure to send the notice itself may fail an invocation (Lambda
then retries it and, after that, the dead-letter queue holds it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Powertools' Logger for the service (POWERTOOLS_SERVICE_NAME) is this standard logger with its JSON handler.
log = logging.getLogger("sagewatch")


def extra(what: str, enrich: Callable[[], T], unknown: T) -> T:
    """`enrich()`, or `unknown` when it fails for any reason (logged with the traceback, naming `what`)."""
    try:
        return enrich()
    except Exception:
        log.exception("an enrichment failed: the notice goes out without it", extra={"enrichment": what})
        return unknown
