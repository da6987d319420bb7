"""A remediation request: one action on one endpoint, checked strictly before anything is read (pure).

Which actions exist and which fields each takes come from the registry (sagewatch.remediation.registry); a
field an action does not take is refused, naming it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from sagewatch.remediation.live import OFFHOURS_PREFIX
from sagewatch.remediation.registry import ACTIONS, OPTIONAL_FIELDS

Action = str  # one of registry.ACTIONS' names (the request refuses any other)
NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # SageMaker's pattern for endpoint and variant names
# Every string a request carries has a maximum length, checked before anything else (SageMaker's own limits
# where it has them): an answer, an audit record or a notice can then never grow past its budget.
INSTANCE_TYPE = r"^ml\.[a-z0-9-]+\.[a-z0-9]+$"
INSTANCE_TYPE_MAX = 32
FINDING_ID = r"^[A-Za-z0-9._:-]{1,64}$"
SNAPSHOT_MAX = 1024  # an S3 key
MAX_STEPS = 500  # no plan has more steps than this
# The cron sagewatch writes (sagewatch.schedule.cron): minute, hour, every day or a list of weekdays.
CRON = (
    r"^cron\((?:[0-5]?[0-9]) (?:[01]?[0-9]|2[0-3]) "
    r"(?:\* \* \?|\? \* (?:MON|TUE|WED|THU|FRI|SAT|SUN)(?:,(?:MON|TUE|WED|THU|FRI|SAT|SUN)){0,6}) \*\)$"
)
TIMEZONE = r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,2}$"


class Expectation(BaseModel):
    """What the finding saw (and the dry run showed); a real run is refused (unless forced) when the endpoint no
    longer matches, and whatever `force` says when the plan is not the one the dry run showed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    finding_id: str | None = Field(default=None, max_length=64, pattern=FINDING_ID)
    instance_type: str | None = Field(default=None, max_length=INSTANCE_TYPE_MAX, pattern=INSTANCE_TYPE)
    instance_count: StrictInt | None = Field(default=None, ge=0, le=10_000)
    idle: StrictBool = False
    # the largest auto scaling maximum the finding recommends: a request may raise a maximum to it, never past it
    max_capacity: StrictInt | None = Field(default=None, ge=0, le=1000)
    # the dry run's plan.digest: the real run carries out that plan or nothing
    plan_digest: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class ScheduledActionSpec(BaseModel):
    """One scheduled action of an off-hours schedule (a finding's recommendation.schedule.scheduled_actions[])."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    name: str = Field(max_length=128, pattern=rf"^{OFFHOURS_PREFIX}[A-Za-z0-9-]{{1,100}}$")
    schedule: str = Field(max_length=80, pattern=CRON)
    # -1: the limits the scalable target has now (an inference component's working-hours copies)
    min_capacity: StrictInt = Field(ge=-1, le=1000)
    max_capacity: StrictInt = Field(ge=-1, le=1000)
    resource_id: str | None = Field(
        default=None,
        max_length=160,
        pattern=r"^(endpoint/[A-Za-z0-9-]{1,63}/variant/[A-Za-z0-9-]{1,63}|inference-component/[A-Za-z0-9-]{1,63})$",
    )
    scalable_dimension: (
        Literal["sagemaker:variant:DesiredInstanceCount", "sagemaker:inference-component:DesiredCopyCount"] | None
    ) = None
    timezone: str | None = Field(default=None, max_length=64, pattern=TIMEZONE)


class ScheduleSpec(BaseModel):
    """schedule-scaling's schedule: a finding's recommendation.schedule as it is, or its timezone and actions."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    timezone: str = Field(max_length=64, pattern=TIMEZONE)
    scheduled_actions: list[ScheduledActionSpec] = Field(min_length=2, max_length=30)
    # what the finding said: its limits bound what the schedule may ask for (max_capacity), the rest is
    # informational (the plan works the cost out from the actions themselves)
    min_capacity: StrictInt | None = Field(default=None, ge=0, le=1000)
    max_capacity: StrictInt | None = Field(default=None, ge=0, le=1000)
    hours_per_week: StrictInt | None = Field(default=None, ge=0, le=168)
    monthly_savings_usd: float | None = Field(default=None, ge=0, le=1e9)
    note: str | None = Field(default=None, max_length=1000)


class RemediationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    action: str = Field(json_schema_extra={"enum": list(ACTIONS)})  # the registry's actions, checked below
    endpoint: str = Field(max_length=63, pattern=NAME)
    variant: str | None = Field(default=None, max_length=63, pattern=NAME)
    instance_type: str | None = Field(default=None, max_length=INSTANCE_TYPE_MAX, pattern=INSTANCE_TYPE)
    instance_count: StrictInt | None = Field(default=None, ge=1, le=100)
    min_capacity: StrictInt | None = Field(default=None, ge=0, le=1000)  # set-scaling-limits, resize-variant
    max_capacity: StrictInt | None = Field(default=None, ge=1, le=1000)
    snapshot: str | None = Field(default=None, min_length=1, max_length=SNAPSHOT_MAX)
    # with snapshot: go on with a run that stopped half way, from this step of its plan (its answer says which)
    resume_from: StrictInt | None = Field(default=None, ge=1, le=MAX_STEPS)
    schedule: ScheduleSpec | None = None  # schedule-scaling
    expect: Expectation | None = None
    dry_run: StrictBool = True
    confirm: str | None = Field(default=None, max_length=63)
    force: StrictBool = False
    # resize-variant across CPU / NVIDIA GPU / Inferentia / Trainium: a model built for one rarely runs on another
    allow_accelerator_change: StrictBool = False
    request_id: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9._:-]{8,128}$")

    @field_validator("action", mode="before")
    @classmethod
    def _known_action(cls, value: Any) -> Any:
        if not isinstance(value, str) or value not in ACTIONS:
            names = [f"'{a}'" for a in ACTIONS]
            expected = ", ".join(names[:-1]) + f" or {names[-1]}"
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return value

    @model_validator(mode="after")
    def _fields_for_the_action(self) -> RemediationRequest:
        spec = ACTIONS[self.action]
        given = [f for f in OPTIONAL_FIELDS if getattr(self, f) is not None]
        extra = [f for f in given if f not in spec.fields]
        if extra:
            takes = ", ".join(sorted(spec.fields)) or "none of them"
            raise ValueError(f"{self.action} takes no {' or '.join(extra)} (it takes {takes})")
        if self.resume_from is not None and not self.snapshot:
            raise ValueError("resume_from needs snapshot (the key the stopped run returned)")
        if self.snapshot and spec.snapshot_first and self.resume_from is None:
            raise ValueError(
                f"{self.action} takes a snapshot only to resume a run that stopped half way: with resume_from (the "
                "stopped run's answer gives the whole request)"
            )
        problem = spec.check(self)
        if problem:
            raise ValueError(problem)
        return self


def request_schema() -> dict[str, Any]:
    """The JSON schema of a remediation request (schemas/remediation-request.schema.json is this, written out)."""
    schema = RemediationRequest.model_json_schema()
    schema["$id"] = "https://github.com/sagewatch/sagewatch/schemas/remediation-request.schema.json"
    schema["title"] = "sagewatch remediation request"
    return schema


def describe_validation_error(exc: Exception) -> str:
    """A pydantic validation error as one line naming each bad field."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    found = errors()
    for err in found[:10]:
        where = ".".join(str(p)[:64] for p in err.get("loc", ())) or "request"  # an unknown key can be huge
        parts.append(f"{where}: {str(err.get('msg'))[:200]}")
    more = f"; and {len(found) - 10} more" if len(found) > 10 else ""
    return "invalid remediation request: " + "; ".join(parts) + more
