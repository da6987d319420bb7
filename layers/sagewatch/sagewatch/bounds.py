"""How long a string that came from another system may be inside sagewatch (pure).

Strings from data (violations files, EventBridge events, DescribeProcessingJob, tags) are cut to these
lengths, with an ellipsis, the moment they enter; renderings (sagewatch.notify) may cut them further.
"""

from __future__ import annotations

import re

NAME_MAX = 256  # feature, metric, facet, label, endpoint, schedule, job and tag values (tag values are <= 256)
TEXT_MAX = 1000  # descriptions, failure reasons, exit messages
URI_MAX = 1024  # S3 URIs (an S3 key is at most 1,024 bytes)

ELLIPSIS = "…"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clip(text: str, limit: int) -> str:
    """`text` in at most `limit` characters; a cut one ends with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS if limit > 0 else ""


def bounded(value: object, limit: int = NAME_MAX) -> str:
    """A string from data, as sagewatch keeps it: str()'d, control characters dropped, cut at `limit`."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit * 4:  # don't scan megabytes for control characters we are about to cut off
        text = text[: limit * 4]
    return clip(_CONTROL.sub("", text), limit)


def optional(value: object, limit: int = NAME_MAX) -> str | None:
    """bounded(), or None for a missing, empty or non-scalar value (an object where a name belongs)."""
    if value is None or isinstance(value, dict | list | tuple | set) or value == "":
        return None
    return bounded(value, limit)
