"""Event models parsed by Powertools' parser at the edge of each function."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictBool


class ScanRequest(BaseModel):
    """What starts a scan: the schedule's input, or a hand-made invocation.

    Unknown keys are ignored so that EventBridge scheduled-event envelopes parse as well.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    # False runs the scan and returns the report without notifying anyone.
    publish: StrictBool = True


class ReportRequest(BaseModel):
    """What starts the weekly cost report: the schedule's input, or a hand-made invocation."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # False writes the report to the bucket without notifying anyone.
    publish: StrictBool = True
