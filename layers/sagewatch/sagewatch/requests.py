"""Event models parsed by Powertools' parser at the edge of each function."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class ScanRequest(BaseModel):
    """What starts a scan: the schedule's input, or a hand-made invocation.

    Unknown keys are ignored so that EventBridge scheduled-event envelopes parse as well.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    # False runs the scan and returns the report without notifying anyone.
    publish: StrictBool = True
    # auto: the day's first scan from DeepScanHour judges everything, the others read hourly series and carry
    # its conclusions (sagewatch.cadence); deep or hourly: that one, by hand
    depth: Literal["auto", "hourly", "deep"] = "auto"


class ReportRequest(BaseModel):
    """What starts the weekly cost report: the schedule's input, or a hand-made invocation."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # False writes the report to the bucket without notifying anyone.
    publish: StrictBool = True


class CatalogRefreshRequest(BaseModel):
    """The weekly schedule's input (or a hand-made invocation) of the catalog refresh."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    refresh: StrictBool = True


class CustomResourceRequest(BaseModel):
    """What CloudFormation sends a custom resource's function (the catalog refresh at deploy time)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    RequestType: Literal["Create", "Update", "Delete"]
    ResponseURL: str = Field(pattern=r"^https?://", max_length=4096)
    StackId: str = Field(max_length=2048)
    RequestId: str = Field(max_length=512)
    LogicalResourceId: str = Field(max_length=512)
    PhysicalResourceId: str | None = Field(default=None, max_length=1024)
