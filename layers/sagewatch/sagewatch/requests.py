"""Event models parsed by Powertools' parser at the edge of each function."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

RUN_NAME = r"^[0-9A-Za-z-]{1,80}$"  # a fanned-out scan's name: its execution's, and its folder scans/RUN/
# endpoints a fan-out's chunk judges (the state machine's ItemBatcher MaxItemsPerBatch: template.yaml says the same),
# fewer when their listing passes a child execution's input (MaxInputBytesPerBatch, Step Functions' 256 KiB)
CHUNK_ENDPOINTS = 1000
CHUNK_BYTES = 262_144


class FanOutRun(BaseModel):
    """One scan fanned out (sagewatch.app.fanout), as the scan function decided it once: every chunk judges with
    the same time, depth and thresholds as the merge step reports. Kept beside the listing (scans/RUN/run.json),
    where each chunk and the merge step read it (the state machine's input carries it too, to be read in the
    console)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: str = Field(pattern=RUN_NAME)  # scans/<run>/ in the stack bucket
    depth: Literal["hourly", "deep"]
    reason: str | None = Field(default=None, max_length=2000)  # why deep (sagewatch.cadence.deep_reason)
    now: AwareDatetime
    endpoints: int = Field(ge=0, le=1_000_000)  # listed
    thresholds: dict[str, Annotated[StrictStr, Field(max_length=64)] | StrictInt | float] = Field(max_length=64)
    owner_tags: list[Annotated[StrictStr, Field(max_length=128)]] = Field(max_length=20)  # AWS tag keys: 128
    why: str = Field(max_length=2000)  # why this scan fanned out
    publish: StrictBool = True  # the merge step announces (false: it returns the report's result only)


class EndpointSummary(BaseModel):
    """One endpoint as ListEndpoints listed it, its place in the listing and the run it is listed for (a chunk's
    Items: ItemBatcher's BatchInput is fixed JSON, so each item names its run)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: str = Field(pattern=RUN_NAME)
    Index: int = Field(ge=0)
    EndpointName: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    EndpointArn: str = Field(max_length=2048)
    EndpointStatus: str = Field(max_length=64)
    CreationTime: AwareDatetime
    LastModifiedTime: AwareDatetime


class ChunkRequest(BaseModel):
    """What the Distributed Map hands a chunk: its endpoints (ItemBatcher), and which attempt it is
    ($$.State.RetryCount): the last one keeps what it could not read as errors instead of raising for a retry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    Items: list[EndpointSummary] = Field(min_length=1, max_length=CHUNK_ENDPOINTS)
    attempt: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _one_run(self) -> ChunkRequest:
        if len({i.run for i in self.Items}) != 1:
            raise ValueError("Items must all belong to one run")
        return self

    @property
    def run(self) -> str:
        return self.Items[0].run


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
    # auto: past ScanFanOutEndpoints listed endpoints, or a fleet the scan would not finish within 80% of its
    # timeout, the scan fans out on the state machine (sagewatch.app.fanout); always: whatever the fleet (to try it)
    fan_out: Literal["auto", "always"] = "auto"
    # the state machine's last step: the chunks of this run (scans/RUN/) are done, report them as one scan
    merge: str | None = Field(default=None, pattern=RUN_NAME)


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
