"""Manual remediation (pure): the request, its validation, the plan of exact AWS calls, and the rails.

Nothing here runs on a schedule. A person asks for one action on one endpoint; a dry run (the default) returns
the plan: the very calls a real run makes (sagewatch.aws.remediate executes them and nothing else), their undo,
before, after and the monthly cost change. A real run needs `confirm` equal to the endpoint name and a
`request_id`, and is refused for endpoints tagged sagewatch:protect=true.

One module per action in sagewatch.remediation.actions, declared in sagewatch.remediation.registry. This package
re-exports what callers import from it.
"""

from sagewatch.remediation.calls import Call, Ref, Step, Wait
from sagewatch.remediation.checks import check_real_run, in_service, resume_differences, stale_reasons
from sagewatch.remediation.configs import (
    ACCELERATOR_NAMES,
    accelerator_change,
    derived_config,
    monthly_cost,
    restore_config,
)
from sagewatch.remediation.errors import InvalidTargetError, PartialChangeError, RemediationError, SnapshotRef
from sagewatch.remediation.live import (
    COMPONENT_DIMENSION,
    DELETABLE_STATES,
    OFFHOURS_PREFIX,
    PROTECT_TAG,
    PROVISIONED_CONCURRENCY_DIMENSION,
    SNAPSHOT_SCHEMA,
    VARIANT_DIMENSION,
    LiveEndpoint,
)
from sagewatch.remediation.plan import ActionPlan
from sagewatch.remediation.planner import plan_action, restore_plan
from sagewatch.remediation.registry import ACTIONS, DESTRUCTIVE, NAMES, SNAPSHOT_FIRST, ActionSpec
from sagewatch.remediation.request import (
    CRON,
    FINDING_ID,
    INSTANCE_TYPE,
    INSTANCE_TYPE_MAX,
    NAME,
    SNAPSHOT_MAX,
    TIMEZONE,
    Action,
    Expectation,
    RemediationRequest,
    ScheduledActionSpec,
    ScheduleSpec,
    describe_validation_error,
    request_schema,
)
from sagewatch.remediation.schedules import (
    ScheduledChange,
    hours_any_up_per_week,
    instance_hours_per_week,
    schedule_changes,
)

__all__ = [
    "ACCELERATOR_NAMES",
    "ACTIONS",
    "COMPONENT_DIMENSION",
    "CRON",
    "DELETABLE_STATES",
    "DESTRUCTIVE",
    "FINDING_ID",
    "INSTANCE_TYPE",
    "INSTANCE_TYPE_MAX",
    "NAME",
    "NAMES",
    "OFFHOURS_PREFIX",
    "PROTECT_TAG",
    "PROVISIONED_CONCURRENCY_DIMENSION",
    "SNAPSHOT_FIRST",
    "SNAPSHOT_MAX",
    "SNAPSHOT_SCHEMA",
    "TIMEZONE",
    "VARIANT_DIMENSION",
    "Action",
    "ActionPlan",
    "ActionSpec",
    "Call",
    "Expectation",
    "InvalidTargetError",
    "LiveEndpoint",
    "PartialChangeError",
    "Ref",
    "RemediationError",
    "RemediationRequest",
    "ScheduleSpec",
    "ScheduledActionSpec",
    "ScheduledChange",
    "SnapshotRef",
    "Step",
    "Wait",
    "accelerator_change",
    "check_real_run",
    "derived_config",
    "describe_validation_error",
    "hours_any_up_per_week",
    "in_service",
    "instance_hours_per_week",
    "monthly_cost",
    "plan_action",
    "request_schema",
    "restore_config",
    "restore_plan",
    "resume_differences",
    "schedule_changes",
    "stale_reasons",
]
