"""What SageMaker and Application Auto Scaling refuse, and when, taught to moto (the test kit's AWS).

moto accepts what AWS refuses and finishes at once what takes minutes. These rules make the embedded AWS behave
like the real one where remediation depends on it; each names the documentation page it follows (DOCS):

- UpdateEndpoint and UpdateEndpointWeightsAndCapacities are refused unless the endpoint is InService
  ("Cannot update in-progress endpoint"), and leave it Updating for a while (DOCS["update"]); during an update
  DescribeEndpoint shows the running config and the new one under PendingDeploymentSummary (DOCS["describe"]).
- UpdateEndpoint is refused when it changes the instance type of, or removes, a variant that is an Application
  Auto Scaling target (DOCS["autoscaling-update"]).
- UpdateEndpoint gives each variant the new config's InitialInstanceCount unless RetainAllVariantProperties
  (or the count is excluded from it) (DOCS["update"]).
- Endpoints pass through Creating and Deleting, inference components through Creating, Updating and Deleting,
  each for a configurable simulated time (DURATIONS) on a virtual clock (CLOCK) that the remediation's waits
  advance instead of sleeping (DOCS["describe"], DOCS["describe-ic"]).
- Deleting an endpoint deregisters its variants' scalable targets with their policies and scheduled actions
  (DOCS["autoscaling-delete"]); deleting an inference component deregisters its target.
- DeregisterScalableTarget deletes the target's scaling policies and scheduled actions (DOCS["deregister"]).
- RegisterScalableTarget is refused for a resource that does not exist (DOCS["register"]), and moves a capacity
  outside the new limits into them (DOCS["register"]); PutScalingPolicy and PutScheduledAction need a registered
  target (DOCS["put-policy"], DOCS["put-scheduled"]).
- Scheduled actions change their target's limits at their times, in their time zone (DOCS["scheduled"]).
- DescribeInferenceComponent answers in its real shape: the container's image as DeployedImage {SpecifiedImage,
  ResolvedImage, ResolutionTime}, copies as DesiredCopyCount and CurrentCopyCount (DOCS["describe-ic"]);
  UpdateInferenceComponentRuntimeConfig exists (DOCS["ic-runtime"]).
- DeleteEndpointConfig of a config an endpoint runs succeeds, as in AWS: the API reference only warns that one
  then loses sight of what the endpoint runs (DOCS["delete-config"]). The endpoint serves on; AWS can no longer
  patch or recover it, and sagewatch's broken-dependency check says so. sagewatch itself never deletes a config:
  no role of the stack is granted sagemaker:DeleteEndpointConfig (tests/unit/test_permissions_doc.py).
- CloudTrail delivers an event minutes after its call (DOCS["cloudtrail"]): LookupEvents shows a call's record
  only once DURATIONS.trail_delivery has passed.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError

SM = "https://docs.aws.amazon.com/sagemaker/latest"
AAS = "https://docs.aws.amazon.com/autoscaling/application"
DOCS = {
    "update": f"{SM}/APIReference/API_UpdateEndpoint.html",
    "weights": f"{SM}/APIReference/API_UpdateEndpointWeightsAndCapacities.html",
    "describe": f"{SM}/APIReference/API_DescribeEndpoint.html",
    "autoscaling-update": f"{SM}/dg/endpoint-auto-scaling-update.html",
    "autoscaling-delete": f"{SM}/dg/endpoint-auto-scaling-delete-endpoint.html",
    "describe-ic": f"{SM}/APIReference/API_DescribeInferenceComponent.html",
    "ic-runtime": f"{SM}/APIReference/API_UpdateInferenceComponentRuntimeConfig.html",
    "delete-config": f"{SM}/APIReference/API_DeleteEndpointConfig.html",
    "deregister": f"{AAS}/APIReference/API_DeregisterScalableTarget.html",
    "register": f"{AAS}/APIReference/API_RegisterScalableTarget.html",
    "put-policy": f"{AAS}/APIReference/API_PutScalingPolicy.html",
    "put-scheduled": f"{AAS}/APIReference/API_PutScheduledAction.html",
    "scheduled": f"{AAS}/userguide/application-auto-scaling-scheduled-scaling.html",
    "cloudtrail": "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html",
}


# --- simulated time ----------------------------------------------------------------------------------


class Clock:
    """Wall-clock time plus an offset that `sleep` advances: a wait of minutes passes at once, and every state
    that depends on time (an update finishing, a scheduled action firing) moves with it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += max(0.0, float(seconds))

    def reset(self) -> None:
        self.offset = 0.0


CLOCK = Clock()


@dataclass
class Durations:
    """How long each state lasts, in simulated seconds (typical values; 0: done at once)."""

    endpoint_create: float = 360.0
    endpoint_update: float = 480.0
    endpoint_delete: float = 120.0
    component_create: float = 240.0
    component_update: float = 120.0
    component_delete: float = 60.0
    trail_delivery: float = 300.0  # CloudTrail: "typically within about 5 minutes" (DOCS["cloudtrail"])


DURATIONS = Durations()


def set_durations(**changes: float) -> dict[str, float]:
    """Change some durations; returns what they were (to put back)."""
    was = {f.name: getattr(DURATIONS, f.name) for f in fields(DURATIONS)}
    for key, value in changes.items():
        if key not in was:
            raise KeyError(f"no duration {key} (there are {', '.join(was)})")
        setattr(DURATIONS, key, float(value))
    return was


def _naive(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None)


# --- per-backend state (on the backend: moto's reset clears it with everything else) --------------------


def _store(backend: Any, name: str) -> dict[str, Any]:
    store: dict[str, Any] = backend.__dict__.setdefault(f"_sagewatch_{name}", {})
    return store


def endpoints_state(backend: Any) -> dict[str, dict[str, Any]]:
    """endpoint name -> {"until": datetime, "then": what happens when it is reached}."""
    return _store(backend, "endpoint_transitions")


def _sm_backend(account: str, region: str) -> Any:
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account][region]


def _aas_backend(account: str, region: str) -> Any:
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    return applicationautoscaling_backends[account][region]


def _components(backend: Any) -> dict[str, dict[str, Any]]:
    store: dict[str, dict[str, Any]] = backend.__dict__.setdefault("_sagewatch_components", {})
    return store


def begin(
    backend: Any, name: str, status: str, seconds: float, then: dict[str, Any], at: datetime | None = None
) -> None:
    """Endpoint `name` is `status` until `seconds` after `at` (now, unless it began earlier: a scheduled action
    that fired while the clock was slept over); then `then` happens (see _finish)."""
    start = at or CLOCK.now()
    endpoint = backend.endpoints[name]
    endpoint.endpoint_status = status
    endpoint.last_modified_time = _naive(start)
    endpoints_state(backend)[name] = {"until": start + timedelta(seconds=seconds), "then": then}
    settle(backend)


def settle(backend: Any) -> None:
    """Every transition whose time has come, done (called before any SageMaker or auto scaling request)."""
    now = CLOCK.now()
    pending = endpoints_state(backend)
    for name in [n for n, t in pending.items() if t["until"] <= now]:
        transition = pending.pop(name)
        _finish(backend, name, transition["then"])
    for name, c in list(_components(backend).items()):
        until = c.get("_until")
        if until is None or until > now:
            continue
        c.pop("_until")
        if c["InferenceComponentStatus"] == "Deleting":
            del _components(backend)[name]
        else:
            c["InferenceComponentStatus"] = "InService"
            c["RuntimeConfig"]["CurrentCopyCount"] = c["RuntimeConfig"]["DesiredCopyCount"]
    _fire_scheduled(backend.account_id, backend.region_name, now)


def wait_until_settled(account: str, region: str, step: float = 60.0, most: float = 7200.0) -> float:
    """Sleep the clock a minute at a time until no endpoint or component of the region is in a transition (what
    an operator waits for before the next change: a scheduled action may have begun an update while the clock was
    slept over); the simulated seconds waited. Bounded: `most` seconds at most."""
    backend = _sm_backend(account, region)
    waited = 0.0
    while True:
        settle(backend)
        busy = endpoints_state(backend) or any("_until" in c for c in _components(backend).values())
        if not busy or waited >= most:
            return waited
        CLOCK.sleep(step)
        waited += step


def _finish(backend: Any, name: str, then: dict[str, Any]) -> None:
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        return
    kind = then.get("kind")
    if kind == "delete":
        del backend.endpoints[name]
        return
    if kind == "update":
        endpoint.endpoint_config_name = then["config"]
        endpoint.production_variants = then["variants"]
    for v in endpoint.production_variants:
        if "DesiredInstanceCount" in v:
            v["CurrentInstanceCount"] = v["DesiredInstanceCount"]
        if "DesiredWeight" in v:
            v["CurrentWeight"] = v["DesiredWeight"]
    endpoint.endpoint_status = "InService"
    endpoint.last_modified_time = _naive(CLOCK.now())


def pending_summary(backend: Any, name: str) -> dict[str, Any] | None:
    """DescribeEndpoint's PendingDeploymentSummary while an UpdateEndpoint runs."""
    transition = endpoints_state(backend).get(name)
    if not transition or transition["then"].get("kind") != "update":
        return None
    then = transition["then"]
    config = backend.endpoint_configs[then["config"]]
    types = {v["VariantName"]: v for v in config.production_variants}
    variants = []
    for v in then["variants"]:
        shown = {k: v[k] for k in ("VariantName", "DesiredInstanceCount", "DesiredWeight") if k in v}
        if types.get(v["VariantName"], {}).get("InstanceType"):
            shown["InstanceType"] = types[v["VariantName"]]["InstanceType"]
        shown["CurrentInstanceCount"] = 0
        variants.append(shown)
    return {"EndpointConfigName": then["config"], "ProductionVariants": variants, "StartTime": then["started"]}


def settle_now(region: str, name: str, account: str) -> None:
    """Finish at once whatever endpoint `name` is going through (fixtures: a fleet starts InService)."""
    backend = _sm_backend(account, region)
    transition = endpoints_state(backend).pop(name, None)
    if transition is not None:
        _finish(backend, name, transition["then"])


# --- SageMaker ------------------------------------------------------------------------------------------


def _refuse(message: str, rule: str) -> SageMakerValidationError:
    return SageMakerValidationError(message=f"{message} (test kit rule, {DOCS[rule]})")


def _endpoint(backend: Any, name: str) -> Any:
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:endpoint/{name}"
        raise SageMakerValidationError(message=f'Could not find endpoint "{arn}".')
    return endpoint


def _in_service(endpoint: Any, rule: str) -> None:
    if endpoint.endpoint_status != "InService":
        raise _refuse(f'Cannot update in-progress endpoint "{endpoint.arn}".', rule)


def _scaled_variants(backend: Any, endpoint: str) -> set[str]:
    aas = _aas_backend(backend.account_id, backend.region_name)
    prefix = f"endpoint/{endpoint}/variant/"
    return {r[len(prefix) :] for targets in aas.targets.values() for r in targets if r.startswith(prefix)}


def update_endpoint(self: Any) -> ActionResult:
    backend = self.sagemaker_backend
    name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    endpoint = _endpoint(backend, name)
    _in_service(endpoint, "update")
    new = backend.describe_endpoint_config(config_name)  # raises if missing, as SageMaker does
    old = {v["VariantName"]: v for v in backend.endpoint_configs[endpoint.endpoint_config_name].production_variants}
    then = {v["VariantName"]: v for v in new["ProductionVariants"]}
    blocked = sorted(
        v
        for v in _scaled_variants(backend, name)
        if v in old and (v not in then or then[v].get("InstanceType") != old[v].get("InstanceType"))
    )
    if blocked:
        raise _refuse(
            f"The variant(s) {blocked} of endpoint {name} are registered with Application Auto Scaling: an update "
            "that changes their instance type or removes them is refused; delete their scaling policies and "
            "deregister them first",
            "autoscaling-update",
        )
    retain = bool(self._get_param("RetainAllVariantProperties"))
    excluded = {e.get("VariantPropertyType") for e in self._get_param("ExcludeRetainedVariantProperties") or []}
    live = {v["VariantName"]: v for v in endpoint.production_variants}
    variants = endpoint._process_production_variants(new["ProductionVariants"])
    for v in variants:
        now = live.get(v["VariantName"])
        if retain and now is not None:
            if "DesiredInstanceCount" not in excluded and "DesiredInstanceCount" in now:
                v["DesiredInstanceCount"] = v["CurrentInstanceCount"] = now["DesiredInstanceCount"]
            if "DesiredWeight" not in excluded and "DesiredWeight" in now:
                v["DesiredWeight"] = v["CurrentWeight"] = now["DesiredWeight"]
    begin(
        backend,
        name,
        "Updating",
        DURATIONS.endpoint_update,
        {"kind": "update", "config": config_name, "variants": variants, "started": CLOCK.now()},
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def update_weights_and_capacities(self: Any) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    endpoint = _endpoint(backend, name)
    _in_service(endpoint, "weights")
    wanted = self._get_param("DesiredWeightsAndCapacities") or []
    variants = {v["VariantName"]: v for v in endpoint.production_variants}
    for item in wanted:
        if item.get("VariantName") not in variants:
            raise SageMakerValidationError(
                message=f'The variant name(s) "{item.get("VariantName")}" is/are not present within endpoint '
                f'configuration "{endpoint.endpoint_config_name}".'
            )
    for item in wanted:
        variant = variants[item["VariantName"]]
        if item.get("DesiredInstanceCount") is not None:
            variant["DesiredInstanceCount"] = int(item["DesiredInstanceCount"])
        if item.get("DesiredWeight") is not None:
            variant["DesiredWeight"] = float(item["DesiredWeight"])
    begin(backend, name, "Updating", DURATIONS.endpoint_update, {"kind": "capacity"})
    return ActionResult({"EndpointArn": endpoint.arn})


def set_capacity(backend: Any, endpoint_name: str, variant: str, count: int, at: datetime | None = None) -> None:
    """What an Application Auto Scaling activity does to a variant (UpdateEndpointWeightsAndCapacities), when the
    endpoint is InService (else the activity waits, as AWS's does: not modelled further)."""
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None or endpoint.endpoint_status != "InService":
        return
    for v in endpoint.production_variants:
        if v["VariantName"] == variant and v.get("DesiredInstanceCount") != count:
            v["DesiredInstanceCount"] = count
            begin(backend, endpoint_name, "Updating", DURATIONS.endpoint_update, {"kind": "capacity"}, at)


# --- Application Auto Scaling -----------------------------------------------------------------------------


def _aas_refuse(message: str, rule: str) -> AWSValidationException:
    return AWSValidationException(f"{message} (test kit rule, {DOCS[rule]})")


def resource_exists(account: str, region: str, resource: str) -> bool:
    backend = _sm_backend(account, region)
    settle(backend)
    if resource.startswith("inference-component/"):
        c = _components(backend).get(resource.split("/", 1)[1])
        return c is not None and c["InferenceComponentStatus"] != "Deleting"
    found = re.fullmatch(r"endpoint/([^/]+)/variant/([^/]+)", resource)
    if not found:
        return True  # not a SageMaker resource: moto's own checks apply
    endpoint = backend.endpoints.get(found[1])
    if endpoint is None or endpoint.endpoint_status == "Deleting":
        return False
    return any(v["VariantName"] == found[2] for v in endpoint.production_variants)


def capacity_of(account: str, region: str, resource: str) -> int | None:
    backend = _sm_backend(account, region)
    if resource.startswith("inference-component/"):
        c = _components(backend).get(resource.split("/", 1)[1])
        return None if c is None else int(c["RuntimeConfig"]["DesiredCopyCount"])
    found = re.fullmatch(r"endpoint/([^/]+)/variant/([^/]+)", resource)
    endpoint = backend.endpoints.get(found[1]) if found else None
    if endpoint is None or found is None:
        return None
    variant = next((v for v in endpoint.production_variants if v["VariantName"] == found[2]), {})
    count = variant.get("DesiredInstanceCount")
    return None if count is None else int(count)


def clamp(
    account: str, region: str, resource: str, low: int | None, high: int | None, at: datetime | None = None
) -> None:
    """Application Auto Scaling moves a capacity outside the limits into them (DOCS["register"]), from `at` (now
    unless earlier)."""
    now = capacity_of(account, region, resource)
    if now is None:
        return
    wanted = now
    if low is not None:
        wanted = max(wanted, int(low))
    if high is not None:
        wanted = min(wanted, int(high))
    if wanted == now:
        return
    backend = _sm_backend(account, region)
    if resource.startswith("inference-component/"):
        c = _components(backend)[resource.split("/", 1)[1]]
        if c["InferenceComponentStatus"] == "InService":
            c["RuntimeConfig"]["DesiredCopyCount"] = wanted
            c["InferenceComponentStatus"] = "Updating"
            c["_until"] = (at or CLOCK.now()) + timedelta(seconds=DURATIONS.component_update)
        return
    endpoint, variant = resource.split("/")[1], resource.split("/")[3]
    set_capacity(backend, endpoint, variant, wanted, at)


def deregister_everything_of(account: str, region: str, resource_prefix: str) -> None:
    """Every scalable target whose resource starts with `resource_prefix`, with its policies and scheduled actions,
    gone (the endpoint or component it scales was deleted: DOCS["autoscaling-delete"])."""
    aas = _aas_backend(account, region)
    for dimension in list(aas.targets):
        for resource in [r for r in aas.targets[dimension] if r == resource_prefix or r.startswith(resource_prefix)]:
            _drop_target(aas, resource, dimension)


def _drop_target(aas: Any, resource: str, dimension: str) -> None:
    aas.targets.get(dimension, {}).pop(resource, None)
    for key in [k for k, p in aas.policies.items() if p.resource_id == resource and p.scalable_dimension == dimension]:
        del aas.policies[key]
    aas.scheduled_actions = [
        a for a in aas.scheduled_actions if not (a.resource_id == resource and a.scalable_dimension == dimension)
    ]


# The service-linked role Application Auto Scaling uses for SageMaker (DescribeScalableTargets names it in RoleARN)
SERVICE_LINKED_ROLE = (
    "arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def register_scalable_target(self: Any, original: Any) -> str:
    params = json.loads(self.body or "{}")
    resource = str(params.get("ResourceId", ""))
    if params.get("ServiceNamespace") == "sagemaker" and not resource_exists(
        self.current_account, self.region, resource
    ):
        raise _aas_refuse(
            f"Unable to find the resource {resource}: it does not exist (or is being deleted)", "register"
        )
    answer = original(self)
    target = self.applicationautoscaling_backend.targets[params["ScalableDimension"]][resource]
    if not target.role_arn:
        target.role_arn = SERVICE_LINKED_ROLE.format(account=self.current_account)
    clamp(self.current_account, self.region, resource, params.get("MinCapacity"), params.get("MaxCapacity"))
    return str(answer)


def deregister_scalable_target(self: Any, original: Any) -> str:
    params = json.loads(self.body or "{}")
    answer = original(self)  # refuses an unknown target, as AWS does
    _drop_target(self.applicationautoscaling_backend, params["ResourceId"], params["ScalableDimension"])
    return str(answer)


def _needs_target(self: Any, rule: str) -> None:
    params = json.loads(self.body or "{}")
    aas = self.applicationautoscaling_backend
    if params.get("ResourceId") not in aas.targets.get(params.get("ScalableDimension"), {}):
        raise _aas_refuse(
            f"No scalable target registered for service namespace: {params.get('ServiceNamespace')}, resource ID: "
            f"{params.get('ResourceId')}, scalable dimension: {params.get('ScalableDimension')}",
            rule,
        )


def put_scaling_policy(self: Any, original: Any) -> str:
    _needs_target(self, "put-policy")
    return str(original(self))


def put_scheduled_action(self: Any, original: Any) -> str:
    _needs_target(self, "put-scheduled")
    return str(original(self))


# --- scheduled actions at their times ----------------------------------------------------------------------

_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)
}


def _field(text: str, value: int, names: dict[str, int]) -> bool:
    """Whether `value` matches one cron field (*, ?, lists, ranges, steps, names)."""
    if text in ("*", "?"):
        return True
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            low, high = 0, 10**6
        elif "-" in part:
            a, b = part.split("-", 1)
            low, high = int(names.get(a, a)), int(names.get(b, b))
        else:
            low = high = int(names.get(part, part))
        if low <= value <= high and (value - low) % step == 0:
            return True
    return False


def cron_matches(cron: str, at: datetime) -> bool:
    """Whether an Application Auto Scaling cron(...) fires at the local minute `at` (minute hour day-of-month
    month day-of-week year; day of week 1-7 = SUN-SAT)."""
    minute, hour, dom, month, dow, *year = cron[len("cron(") : -1].split()
    weekday = (at.isoweekday() % 7) + 1  # Sunday 1 ... Saturday 7
    return (
        _field(minute, at.minute, {})
        and _field(hour, at.hour, {})
        and _field(dom, at.day, {})
        and _field(month, at.month, _MONTHS)
        and _field(dow, weekday, _DAYS)
        and (not year or _field(year[0], at.year, {}))
    )


def _fires(action: Any, start: datetime, end: datetime) -> list[datetime]:
    """The instants in (start, end] at which `action` fires (cron and at; rate schedules are not modelled)."""
    schedule = str(action.schedule)
    zone = ZoneInfo(action.timezone or "UTC")
    if schedule.startswith("at("):
        when = datetime.fromisoformat(schedule[3:-1]).replace(tzinfo=zone)
        return [when] if start < when <= end else []
    if not schedule.startswith("cron("):
        return []
    first = (start + timedelta(minutes=1)).replace(second=0, microsecond=0)
    minutes = int((end - first).total_seconds() // 60) + 1
    out = []
    for i in range(max(0, min(minutes, 8 * 24 * 60))):
        at = first + timedelta(minutes=i)
        if cron_matches(schedule, at.astimezone(zone)):
            out.append(at)
    return out


def _fire_scheduled(account: str, region: str, now: datetime) -> None:
    aas = _aas_backend(account, region)
    last = aas.__dict__.get("_sagewatch_scheduled_at")
    aas.__dict__["_sagewatch_scheduled_at"] = now
    if last is None or now - last < timedelta(minutes=1):
        if last is not None:
            aas.__dict__["_sagewatch_scheduled_at"] = last  # less than a minute: look again later
        return
    due = []
    for action in aas.scheduled_actions:
        if action.service_namespace != "sagemaker":
            continue
        due += [(t, action) for t in _fires(action, last, now)]
    for fired, action in sorted(due, key=lambda d: d[0]):
        target = aas.targets.get(action.scalable_dimension, {}).get(action.resource_id)
        limits = action.scalable_target_action or {}
        if target is None:
            continue
        target.update(limits.get("MinCapacity"), limits.get("MaxCapacity"), None)
        # the activity began when the action fired, not when the slept-over clock is next looked at
        clamp(account, region, action.resource_id, target.min_capacity, target.max_capacity, fired)


# --- inference components ---------------------------------------------------------------------------------


def create_inference_component(self: Any) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    endpoint = _endpoint(backend, self._get_param("EndpointName"))
    variant = self._get_param("VariantName")
    if variant not in {v["VariantName"] for v in endpoint.production_variants}:
        raise SageMakerValidationError(message=f"Could not find variant '{variant}' on '{endpoint.endpoint_name}'.")
    _in_service(endpoint, "describe-ic")
    if name in _components(backend):
        raise SageMakerValidationError(message=f"Inference component '{name}' already exists.")
    now = CLOCK.now()
    arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-component/{name}"
    copies = int((self._get_param("RuntimeConfig") or {}).get("CopyCount", 1))
    _components(backend)[name] = {
        "InferenceComponentName": name,
        "InferenceComponentArn": arn,
        "EndpointName": endpoint.endpoint_name,
        "EndpointArn": endpoint.arn,
        "VariantName": variant,
        "InferenceComponentStatus": "Creating",
        "CreationTime": now,
        "LastModifiedTime": now,
        "Specification": _deployed(self._get_param("Specification") or {}, now),
        "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": 0},
        "_until": now + timedelta(seconds=DURATIONS.component_create),
    }
    settle(backend)
    return ActionResult({"InferenceComponentArn": arn})


def _deployed(spec: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A CreateInferenceComponent Specification as DescribeInferenceComponent shows it: Container.Image becomes
    DeployedImage {SpecifiedImage, ResolvedImage (by digest), ResolutionTime}."""
    out = json.loads(json.dumps(spec, default=str))
    container = out.get("Container")
    if isinstance(container, dict) and container.get("Image"):
        image = container.pop("Image")
        digest = uuid.uuid5(uuid.NAMESPACE_URL, image).hex * 2
        repository = image.split("@", 1)[0].rsplit(":", 1)[0] if "@" not in image else image.split("@", 1)[0]
        resolved = image if "@sha256:" in image else f"{repository}@sha256:{digest}"
        container["DeployedImage"] = {"SpecifiedImage": image, "ResolvedImage": resolved, "ResolutionTime": now}
    return dict(out)


def describe_inference_component(self: Any) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    ic = _components(self.sagemaker_backend).get(name)
    if ic is None:
        raise SageMakerValidationError(message=f"Could not find inference component '{name}'.")
    return ActionResult({k: v for k, v in ic.items() if not k.startswith("_")})


def delete_inference_component(self: Any) -> EmptyResult:
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    ic = _components(backend).get(name)
    if ic is None or ic["InferenceComponentStatus"] == "Deleting":
        raise SageMakerValidationError(message=f"Could not find inference component '{name}'.")
    ic["InferenceComponentStatus"] = "Deleting"
    ic["_until"] = CLOCK.now() + timedelta(seconds=DURATIONS.component_delete)
    deregister_everything_of(backend.account_id, backend.region_name, f"inference-component/{name}")
    settle(backend)
    return EmptyResult()


def update_component_runtime_config(self: Any) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    ic = _components(backend).get(name)
    if ic is None:
        raise SageMakerValidationError(message=f"Could not find inference component '{name}'.")
    if ic["InferenceComponentStatus"] != "InService":
        raise SageMakerValidationError(
            message=f"Inference component {name} is {ic['InferenceComponentStatus']}: it can be updated once it is "
            f"InService (test kit rule, {DOCS['ic-runtime']})"
        )
    copies = int((self._get_param("DesiredRuntimeConfig") or {}).get("CopyCount", 1))
    ic["RuntimeConfig"]["DesiredCopyCount"] = copies
    ic["InferenceComponentStatus"] = "Updating"
    ic["_until"] = CLOCK.now() + timedelta(seconds=DURATIONS.component_update)
    return ActionResult({"InferenceComponentArn": ic["InferenceComponentArn"]})


def components_of(backend: Any, endpoint: str) -> list[str]:
    return [n for n, c in _components(backend).items() if c["EndpointName"] == endpoint]


# --- endpoints: create, delete, describe, configs ----------------------------------------------------------


def delete_endpoint(self: Any) -> EmptyResult:
    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    endpoint = _endpoint(backend, name)
    if components_of(backend, name):
        raise SageMakerValidationError(
            message=f"Cannot delete endpoint {name} because it has inference components. Delete them first."
        )
    if endpoint.endpoint_status == "Deleting":
        return EmptyResult()
    deregister_everything_of(backend.account_id, backend.region_name, f"endpoint/{name}/variant/")
    begin(backend, name, "Deleting", DURATIONS.endpoint_delete, {"kind": "delete"})
    return EmptyResult()


def after_create_endpoint(backend: Any, name: str) -> None:
    begin(backend, name, "Creating", DURATIONS.endpoint_create, {"kind": "create"})


class VirtualTime:
    """Stands in for the `time` module where remediation waits (sagewatch.aws.remediate): sleeping advances the
    simulated clock at once, and the deadline is measured on it."""

    sleep = staticmethod(CLOCK.sleep)
    monotonic = staticmethod(CLOCK.monotonic)
    strftime = staticmethod(time.strftime)
    gmtime = staticmethod(time.gmtime)
