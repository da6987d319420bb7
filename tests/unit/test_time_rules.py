"""Savings in time on hand-made endpoints: off-hours (instance variants, auto scaling, inference components),
batch candidates, consolidation groups, and the schedule-scaling plan (pure)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from sagewatch.catalog import Catalog
from sagewatch.commands import command_for
from sagewatch.metrics import MetricResults, component_metric, utilization_metric, variant_metric
from sagewatch.models import Action, Autoscaling, Finding, Kind, ManagedScaling
from sagewatch.remediation import (
    Call,
    LiveEndpoint,
    RemediationError,
    RemediationRequest,
    instance_hours_per_week,
    plan_action,
    schedule_changes,
)
from sagewatch.rules import Need, judge_endpoint
from sagewatch.rules.consolidate import consolidate
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import NOW, endpoint, hourly, results, variant, windows

CATALOG = Catalog.load()
T = Thresholds()
WEEK = 7 * 24
DAYS = 14


def clocked(traffic: Callable[[datetime], float], hours: int = DAYS * 24) -> list[tuple[datetime, float]]:
    start = NOW - timedelta(hours=hours)
    return [(start + timedelta(hours=h), traffic(start + timedelta(hours=h))) for h in range(hours)]


def working(t: datetime) -> float:
    return 1000.0 if t.weekday() < 5 and 8 <= t.hour < 18 else 0.0


def schedule_series(ep: str, var: str, traffic: Callable[[datetime], float], cpu: float = 120.0) -> MetricResults:
    """The hour-of-week profile's read: hourly invocations (only hours with requests, as CloudWatch) and CPU."""
    return results(
        (variant_metric(ep, var, "Invocations", "Sum"), [p for p in clocked(traffic) if p[1] > 0]),
        (utilization_metric(ep, var, "CPUUtilization"), clocked(lambda _t: cpu)),
    )


def busy(ep: str, var: str = "AllTraffic", cpu: float = 240.0, memory: float = 40.0) -> MetricResults:
    """The scan's own read: busy enough not to be idle, utilization that is neither small nor oversized."""
    return results(
        (variant_metric(ep, var, "Invocations", "Sum"), hourly(500, WEEK)),
        (utilization_metric(ep, var, "CPUUtilization"), hourly(cpu, WEEK)),
        (utilization_metric(ep, var, "MemoryUtilization"), hourly(memory, WEEK)),
    )


def judge(ep, traffic, *, thresholds=T, cpu=240.0, memory=40.0) -> list[Finding]:
    var = ep.variants[0].name
    return judge_endpoint(
        ep,
        busy(ep.name, var, cpu, memory),
        CATALOG,
        thresholds,
        windows(thresholds),
        schedule=schedule_series(ep.name, var, traffic),
    )


def test_a_working_hours_fleet_gets_an_off_hours_schedule_down_to_one_instance():
    ep = endpoint("chat", variant("AllTraffic", "ml.c5.xlarge", 4))
    [f] = [f for f in judge(ep, working) if f.kind is Kind.OFF_HOURS]
    rec = f.recommendation
    assert rec.action is Action.SCHEDULE_SCALING
    assert rec.schedule is not None
    down, up = rec.schedule["scheduled_actions"]
    assert (down["name"], down["schedule"], down["min_capacity"], down["max_capacity"]) == (
        "sagewatch-offhours-down",
        "cron(0 18 * * ? *)",
        1,
        1,
    )
    assert (up["schedule"], up["min_capacity"], up["max_capacity"]) == ("cron(0 8 ? * MON,TUE,WED,THU,FRI *)", 4, 4)
    assert down["resource_id"] == "endpoint/chat/variant/AllTraffic" and down["timezone"] == "UTC"
    hours = 4 * 14 + 62
    assert rec.schedule["hours_per_week"] == hours
    assert f.monthly_savings_usd == round(hours * 730 / 168 * 3 * 0.204, 2)
    assert f.evidence["off_hours"]["off_days"] == ["SAT", "SUN"]
    assert f.evidence["traffic_in_off_hours_pct"] == 0
    assert len(f.evidence["profile"]["invocations"]) == 168
    # the command carries the schedule, and it is a valid remediation request
    command = command_for(f, "us-east-1")
    assert command is not None and "schedule-scaling" in command and "--schedule" in command


def test_one_instance_has_nothing_to_take_away_at_night():
    ep = endpoint("chat", variant("AllTraffic", "ml.c5.xlarge", 1))
    assert not [f for f in judge(ep, working) if f.kind is Kind.OFF_HOURS]


def test_auto_scaled_variants_lower_the_floor_and_keep_the_ceiling():
    scaled = replace(variant("AllTraffic", "ml.c5.xlarge", 3), autoscaling=Autoscaling(3, 8))
    [f] = [f for f in judge(endpoint("chat", scaled), working) if f.kind is Kind.OFF_HOURS]
    down, up = f.recommendation.schedule["scheduled_actions"]
    assert (down["min_capacity"], down["max_capacity"]) == (1, 8)
    assert (up["min_capacity"], up["max_capacity"]) == (3, 8)
    floor_one = replace(scaled, autoscaling=Autoscaling(1, 8))
    assert not [f for f in judge(endpoint("chat", floor_one), working) if f.kind is Kind.OFF_HOURS]


def test_a_schedule_timezone_moves_the_crons():
    berlin = Thresholds(schedule_timezone="Europe/Berlin")
    ep = endpoint("chat", variant("AllTraffic", "ml.c5.xlarge", 4))
    [f] = [f for f in judge(ep, working, thresholds=berlin) if f.kind is Kind.OFF_HOURS]
    down, up = f.recommendation.schedule["scheduled_actions"]
    # 18:00 and 08:00 UTC are 19:00 and 09:00 in Berlin in November
    assert down["schedule"] == "cron(0 19 * * ? *)" and down["timezone"] == "Europe/Berlin"
    assert up["schedule"] == "cron(0 9 ? * MON,TUE,WED,THU,FRI *)"


def test_traffic_all_day_is_no_off_hours():
    ep = endpoint("chat", variant("AllTraffic", "ml.c5.xlarge", 4))
    assert not [f for f in judge(ep, lambda t: 700.0) if f.kind in (Kind.OFF_HOURS, Kind.BATCH_CANDIDATE)]


def test_without_the_profile_read_no_time_findings():
    ep = endpoint("chat", variant("AllTraffic", "ml.c5.xlarge", 4))
    found = judge_endpoint(ep, busy("chat"), CATALOG, T, windows(T))
    assert not [f for f in found if f.kind in (Kind.OFF_HOURS, Kind.BATCH_CANDIDATE)]


def test_inference_components_go_to_zero_copies_only_with_managed_scaling_to_zero():
    hosting = replace(
        variant("AllTraffic", "ml.g5.2xlarge", 2, components=("ic-a",)),
        managed_scaling=ManagedScaling(True, 0, 2),
    )
    ep = endpoint("genai", hosting)
    res = results(
        (component_metric("ic-a", "Invocations", "Sum"), [p for p in clocked(working) if p[1] > 0]),
        (utilization_metric("genai", "AllTraffic", "CPUUtilization"), clocked(lambda _t: 50.0)),
    )
    main = results((component_metric("ic-a", "Invocations", "Sum"), hourly(500, WEEK)))
    [f] = [f for f in judge_endpoint(ep, main, CATALOG, T, windows(T), schedule=res) if f.kind is Kind.OFF_HOURS]
    names = [a["name"] for a in f.recommendation.schedule["scheduled_actions"]]
    assert names == [
        "sagewatch-offhours-down-ic-a",
        "sagewatch-offhours-release-ic-a",
        "sagewatch-offhours-up-ic-a",
    ]
    down, release, _ = f.recommendation.schedule["scheduled_actions"]
    assert (down["min_capacity"], down["max_capacity"]) == (0, 0)
    assert release["schedule"] == "cron(10 18 * * ? *)"
    assert "NoCapacityInvocationFailures" in f.recommendation.schedule["note"]
    floor = replace(hosting, managed_scaling=ManagedScaling(True, 1, 2))
    found = judge_endpoint(endpoint("genai", floor), main, CATALOG, T, windows(T), schedule=res)
    assert not [f for f in found if f.kind is Kind.OFF_HOURS]


def test_a_nightly_burst_is_a_batch_candidate_priced_by_its_hours():
    ep = endpoint("scorer", variant("AllTraffic", "ml.c5.xlarge", 1))
    [f] = [f for f in judge(ep, lambda t: 5000.0 if t.hour in (1, 2) else 0.0) if f.kind is Kind.BATCH_CANDIDATE]
    assert f.recommendation.action is Action.INVESTIGATE
    cost = round(0.204 * 730, 2)
    assert f.evidence["busy_window"] == {"start": "01:00", "end": "03:00", "hours": 2}
    assert f.evidence["cost_of_busy_hours_usd"] == round(cost * 2 / 24, 2)
    assert f.monthly_savings_usd == round(cost - round(cost * 2 / 24, 2), 2)


def test_a_batch_candidate_does_not_count_the_off_hours_saving_twice():
    ep = endpoint("scorer", variant("AllTraffic", "ml.c5.xlarge", 3))
    found = judge(ep, lambda t: 5000.0 if t.hour in (1, 2) else 0.0)
    off = next(f for f in found if f.kind is Kind.OFF_HOURS)
    batch = next(f for f in found if f.kind is Kind.BATCH_CANDIDATE)
    cost = round(3 * 0.204 * 730, 2)
    assert round(off.monthly_savings_usd + batch.monthly_savings_usd, 2) == round(cost - round(cost * 2 / 24, 2), 2)
    assert "off-hours" in batch.evidence["note"]


def scanned(ep, traffic: Callable[[datetime], float]) -> list[Finding]:
    """Judged with the same traffic in the scan's own read (last week) as in the profile's (two weeks)."""
    var = ep.variants[0].name
    main = results(
        (variant_metric(ep.name, var, "Invocations", "Sum"), [p for p in clocked(traffic, WEEK) if p[1] > 0]),
        (utilization_metric(ep.name, var, "CPUUtilization"), hourly(240.0, WEEK)),
        (utilization_metric(ep.name, var, "MemoryUtilization"), hourly(40.0, WEEK)),
    )
    return judge_endpoint(ep, main, CATALOG, T, windows(T), schedule=schedule_series(ep.name, var, traffic))


def test_a_weekday_endpoint_silent_all_weekend_is_off_hours_never_idle():
    """NOW is a Sunday noon: the last 24 h were silent, as every weekend; deleting it would be wrong."""
    assert NOW.weekday() == 6
    found = scanned(endpoint("support", variant("AllTraffic", "ml.c5.xlarge", 4)), working)
    assert [f.kind for f in found] == [Kind.OFF_HOURS]


@pytest.mark.parametrize(
    "traffic",
    [
        lambda t: 0.0 if t >= NOW - timedelta(hours=48) else 800.0,  # served every hour, stopped two days ago
        lambda t: 5000.0 if t.hour in (1, 2) and t < NOW - timedelta(hours=24) else 0.0,  # a nightly job missed
        lambda t: 1000.0 if t.weekday() == 5 and 8 <= t.hour < 18 and t < NOW - timedelta(days=7) else 0.0,
        lambda t: working(t) if t < NOW - timedelta(days=8) else 0.0,  # no rhythm explains a silent week
    ],
    ids=["stopped", "missed-its-night", "its-saturday-missing", "weekdays-then-a-silent-week"],
)
def test_a_new_silence_is_idle(traffic):
    """Silent over the idle window at hours it used to serve at: the silence is new, and idle says so."""
    [f] = [f for f in scanned(endpoint("gone", variant("AllTraffic", "ml.c5.xlarge", 1)), traffic)]
    assert f.kind is Kind.IDLE and f.recommendation.action is Action.DELETE_ENDPOINT


def test_a_silence_with_no_earlier_week_to_compare_is_idle():
    from sagewatch.schedule import Profile, habitually_quiet

    this_week = {(NOW - timedelta(days=d)).date(): [0.0] * 24 for d in range(1, 6)}
    this_week[(NOW - timedelta(days=6)).date()] = [500.0] * 24
    profile = Profile("UTC", this_week)
    assert not habitually_quiet(profile, NOW - timedelta(hours=24), NOW)  # never read a week earlier
    assert not habitually_quiet(Profile("UTC", {}), NOW - timedelta(hours=24), NOW)  # nothing at all


def small(name: str, itype: str = "ml.c5.large", tags=None) -> tuple:
    ep = endpoint(name, variant("AllTraffic", itype, 1), tags=tags)
    return ep, busy(name, cpu=16.0, memory=20.0)  # 8% of 2 vCPUs, 20% of memory


def needs_of(*pairs) -> list[Need]:
    needs: list[Need] = []
    for ep, res in pairs:
        judge_endpoint(ep, res, CATALOG, T, windows(T), needs=needs)
    return needs


def test_three_small_endpoints_are_one_consolidation_finding():
    needs = needs_of(*(small(n) for n in ("a-one", "b-two", "c-three", "d-four")))
    [f] = consolidate(needs, CATALOG, T, windows(T), account="123456789012", region="us-east-1")
    assert f.kind is Kind.CONSOLIDATE and f.endpoint == "a-one"
    assert [e["endpoint"] for e in f.evidence["endpoints"]] == ["a-one", "b-two", "c-three", "d-four"]
    plan = f.recommendation.consolidation
    # 4 x 0.8 GiB of memory at 70%: more than one c5.large holds (2.8 GiB), one m5.large does
    assert (plan["instance_type"], plan["instance_count"]) == ("ml.m5.large", 1)
    assert f.monthly_savings_usd == round(4 * 0.102 * 730 - 0.115 * 730, 2)
    assert len(plan["inference_components"]) == 4
    assert f.evidence["summed_peak"]["memory_gib"] == pytest.approx(3.2)


def test_two_are_not_a_group_and_protected_ones_never_count():
    assert consolidate(needs_of(small("a"), small("b")), CATALOG, T, windows(T), account="1", region="us-east-1") == []
    protected = small("c", tags={"sagewatch:protect": "true"})
    assert (
        consolidate(
            needs_of(small("a"), small("b"), protected), CATALOG, T, windows(T), account="1", region="us-east-1"
        )
        == []
    )


def test_groups_share_an_accelerator_kind():
    gpu = endpoint("g", variant("AllTraffic", "ml.g5.xlarge", 1))
    gpu_res = busy("g", cpu=16.0, memory=20.0)
    needs = needs_of(small("a"), small("b"), (gpu, gpu_res))
    assert consolidate(needs, CATALOG, T, windows(T), account="1", region="us-east-1") == []


def test_a_busy_endpoint_is_no_candidate():
    busy_one = (endpoint("z", variant("AllTraffic", "ml.c5.large", 1)), busy("z", cpu=120.0, memory=20.0))
    assert len(needs_of(small("a"), small("b"), busy_one)) == 2


# --- schedule-scaling: the plan ---------------------------------------------------------------------


def live(count: int = 4, *, targets=(), scheduled=(), serverless=False) -> LiveEndpoint:
    conf: dict = {"VariantName": "AllTraffic", "ModelName": "m"}
    if serverless:
        conf["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    else:
        conf |= {"InstanceType": "ml.c5.xlarge", "InitialInstanceCount": count}
    return LiveEndpoint(
        {
            "EndpointName": "chat",
            "EndpointConfigName": "chat-config",
            "EndpointStatus": "InService",
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": count}],
        },
        {"EndpointConfigName": "chat-config", "ProductionVariants": [conf]},
        {},
        scalable_targets=list(targets),
        scheduled_actions=list(scheduled),
    )


SCHEDULE = {
    "timezone": "UTC",
    "scheduled_actions": [
        {"name": "sagewatch-offhours-down", "schedule": "cron(0 18 * * ? *)", "min_capacity": 1, "max_capacity": 1},
        {
            "name": "sagewatch-offhours-up",
            "schedule": "cron(0 8 ? * MON,TUE,WED,THU,FRI *)",
            "min_capacity": 4,
            "max_capacity": 4,
        },
    ],
}


def request(**kw) -> RemediationRequest:
    return RemediationRequest.model_validate(
        {"action": "schedule-scaling", "endpoint": "chat", "schedule": SCHEDULE} | kw
    )


def calls(plan) -> list[tuple[str, dict]]:
    return [(c.operation, dict(c.params)) for c in plan.calls if isinstance(c, Call)]


def test_the_plan_registers_a_target_and_prices_the_hours():
    plan = plan_action(request(), live(), CATALOG, NOW)
    (first, register), *rest = calls(plan)
    assert first == "RegisterScalableTarget" and (register["MinCapacity"], register["MaxCapacity"]) == (4, 4)
    assert register["ResourceId"] == "endpoint/chat/variant/AllTraffic"
    put = {p["ScheduledActionName"]: p for op, p in rest if op == "PutScheduledAction"}
    assert put["sagewatch-offhours-down"]["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 1}
    assert put["sagewatch-offhours-down"]["Schedule"] == "cron(0 18 * * ? *)" and len(rest) == 2
    hours = 4 * 168 - 3 * (4 * 14 + 62)
    assert plan.after["AllTraffic"]["instance_hours_per_week"] == hours
    assert plan.monthly_cost_after_usd == round(0.204 * hours * 730 / 168, 2)


def test_existing_limits_are_kept_and_foreign_scheduled_actions_refused():
    target = {"ResourceId": "endpoint/chat/variant/AllTraffic", "MinCapacity": 2, "MaxCapacity": 6}
    plan = plan_action(request(), live(targets=[target]), CATALOG, NOW)
    assert [op for op, _ in calls(plan)] == ["PutScheduledAction", "PutScheduledAction"]  # no register
    assert "keeps its limits (minimum 2, maximum 6) and its policies" in plan.notes[0]
    theirs = {"ScheduledActionName": "black-friday", "ResourceId": "endpoint/chat/variant/AllTraffic"}
    with pytest.raises(RemediationError, match="conflict with scheduled actions that exist: black-friday"):
        plan_action(request(), live(scheduled=[theirs]), CATALOG, NOW)
    ours = {"ScheduledActionName": "sagewatch-offhours-old", "ResourceId": "endpoint/chat/variant/AllTraffic"}
    ours |= {"ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"}
    replanned = plan_action(request(), live(targets=[target], scheduled=[ours]), CATALOG, NOW)
    [delete] = [p for op, p in calls(replanned) if op == "DeleteScheduledAction"]
    assert delete["ScheduledActionName"] == "sagewatch-offhours-old"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"min_capacity": 0}, "below 1 instance"),
        ({"resource_id": "endpoint/other/variant/AllTraffic"}, "not endpoint/chat/variant/AllTraffic"),
        ({"resource_id": "inference-component/ic-x"}, "not an inference component"),
        ({"min_capacity": 5}, "minimum 5 is above maximum 1"),
    ],
)
def test_bad_schedules_are_refused_naming_the_problem(change, message):
    doc = json.loads(json.dumps(SCHEDULE))
    doc["scheduled_actions"][0] |= change
    with pytest.raises(RemediationError, match=message):
        plan_action(request(schedule=doc), live(), CATALOG, NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"schedule": "rate(1 hour)"},
        {"schedule": "cron(0 25 * * ? *)"},
        {"name": "my-action"},
        {"timezone": "Nowhere/..//x"},
        {"min_capacity": -2},
    ],
)
def test_malformed_schedules_are_invalid_requests(change):
    doc = json.loads(json.dumps(SCHEDULE))
    doc["scheduled_actions"][0] |= change
    with pytest.raises(ValidationError, match=r"scheduled_actions\.0"):
        request(schedule=doc)


def test_schedule_scaling_needs_a_schedule_and_serverless_is_refused():
    with pytest.raises(ValueError, match="needs schedule"):
        RemediationRequest.model_validate({"action": "schedule-scaling", "endpoint": "chat"})
    with pytest.raises(ValueError, match="takes no schedule"):
        RemediationRequest.model_validate({"action": "delete-endpoint", "endpoint": "chat", "schedule": SCHEDULE})
    with pytest.raises(RemediationError, match="serverless"):
        plan_action(request(), live(serverless=True), CATALOG, NOW)


def test_instance_hours_follow_the_limits():
    changes = schedule_changes(request(), live(), "AllTraffic")
    assert instance_hours_per_week(changes, "endpoint/chat/variant/AllTraffic", 4) == 4 * 168 - 3 * 118
    assert instance_hours_per_week([], "endpoint/chat/variant/AllTraffic", 4) == 4 * 168


def test_a_pattern_that_is_not_stable_is_said_on_the_variants_other_findings():
    """Quiet nights but one, in the last week: no off-hours schedule; the oversized finding says why."""

    def traffic(t: datetime) -> float:
        if t.weekday() >= 5:
            return 0.0
        return 1000.0 if 8 <= t.hour < 18 or t.date() == datetime(2026, 11, 19).date() else 0.0

    ep = endpoint("chat", variant("AllTraffic", "ml.c5.xlarge", 4))
    found = judge(ep, traffic, cpu=40.0)
    assert not [f for f in found if f.kind is Kind.OFF_HOURS]
    [oversized] = [f for f in found if f.kind is Kind.OVERSIZED]
    assert "not stable" in oversized.evidence["schedule_note"]
    assert "schedule_note" not in next(f for f in judge(ep, working, cpu=40.0) if f.kind is Kind.OVERSIZED).evidence


def ic_live() -> LiveEndpoint:
    return LiveEndpoint(
        {
            "EndpointName": "genai",
            "EndpointConfigName": "genai-config",
            "EndpointStatus": "InService",
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 2}],
        },
        {
            "EndpointConfigName": "genai-config",
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "InstanceType": "ml.g5.2xlarge",
                    "InitialInstanceCount": 2,
                    "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
                }
            ],
        },
        {},
        components=[
            {"InferenceComponentName": n, "VariantName": "AllTraffic", "RuntimeConfig": {"CurrentCopyCount": 1}}
            for n in ("ic-a", "ic-b")
        ],
    )


def component_actions(ic: str) -> list[dict]:
    return [
        {
            "name": f"sagewatch-offhours-down-{ic}",
            "schedule": "cron(0 18 * * ? *)",
            "min_capacity": 0,
            "max_capacity": 0,
        },
        {
            "name": f"sagewatch-offhours-release-{ic}",
            "schedule": "cron(10 18 * * ? *)",
            "min_capacity": 0,
            "max_capacity": -1,
        },
        {
            "name": f"sagewatch-offhours-up-{ic}",
            "schedule": "cron(0 8 ? * MON,TUE,WED,THU,FRI *)",
            "min_capacity": -1,
            "max_capacity": -1,
        },
    ]


def test_components_at_zero_release_the_instances_only_while_every_one_is_at_zero():
    both = {
        "timezone": "UTC",
        "scheduled_actions": [
            {**a, "resource_id": f"inference-component/{ic}"} for ic in ("ic-a", "ic-b") for a in component_actions(ic)
        ],
    }
    plan = plan_action(
        RemediationRequest.model_validate({"action": "schedule-scaling", "endpoint": "genai", "schedule": both}),
        ic_live(),
        CATALOG,
        NOW,
    )
    before = plan.monthly_cost_before_usd
    assert before is not None and plan.monthly_cost_after_usd == round(before * 50 / 168, 2)  # 10 h x 5 days up
    one = {"timezone": "UTC", "scheduled_actions": both["scheduled_actions"][:3]}  # ic-b keeps its copy
    plan = plan_action(
        RemediationRequest.model_validate({"action": "schedule-scaling", "endpoint": "genai", "schedule": one}),
        ic_live(),
        CATALOG,
        NOW,
    )
    assert plan.monthly_cost_after_usd == plan.monthly_cost_before_usd
