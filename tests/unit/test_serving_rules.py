"""Will it keep serving? The pure rules at their edges: quota headroom, stuck deployments, broken dependencies,
the causes of model errors, and scaling that cannot come back from zero."""

from dataclasses import replace
from datetime import timedelta

import pytest

from sagewatch.catalog import Catalog
from sagewatch.models import Autoscaling, Kind, ManagedScaling, ScalingPolicy, Severity, Skipped
from sagewatch.serving import (
    FILTER_PATTERN,
    SIGNATURES,
    Dependency,
    DependencyFacts,
    Quota,
    advice,
    classify_lines,
    dependency_finding,
    more_gpu_memory,
    quota_findings,
    scale_from_zero_findings,
    stuck_findings,
)
from sagewatch_testkit.builders import ARN, NOW, endpoint, variant

CATALOG = Catalog.load()
REGION = "us-east-1"


def _quota(endpoints, value, source="applied"):
    return quota_findings(endpoints, {"ml.g5.xlarge": Quota("ml.g5.xlarge", value, source)}, region=REGION, account="1")


def _scaled(v, low, high):
    return replace(v, autoscaling=Autoscaling(low, high))


# --- quota-risk -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_use", "severity"),
    [(79, None), (80, Severity.MEDIUM), (100, Severity.MEDIUM)],
    ids=["79%", "80%", "100%"],
)
def test_instances_in_use_warn_from_80_percent_of_the_quota(in_use, severity):
    found = _quota([endpoint("a", variant("AllTraffic", "ml.g5.xlarge", in_use))], 100)
    assert [f.severity for f in found] == ([severity] if severity else [])
    if found:
        q = found[0].evidence["quota"]
        assert (q["in_use"], q["can_reach"], q["quota"], q["in_use_pct"]) == (in_use, in_use, 100, float(in_use))


def test_what_auto_scaling_can_reach_past_the_quota_is_high_and_names_the_endpoints_that_would_fail():
    steady = endpoint("steady", variant("AllTraffic", "ml.g5.xlarge", 2))
    growing = endpoint("growing", _scaled(variant("AllTraffic", "ml.g5.xlarge", 2), 2, 7))
    [f] = _quota([steady, growing], 8)
    assert f.kind is Kind.QUOTA_RISK and f.severity is Severity.HIGH
    q = f.evidence["quota"]
    assert (q["in_use"], q["can_reach"], q["endpoints"]) == (4, 9, ["growing"])
    assert "from 8 to at least 9" in f.recommendation.summary and "ResourceLimitExceeded" in f.recommendation.summary
    assert f.endpoint == "growing" and f.instance_type == "ml.g5.xlarge" and f.recommendation.instance_count == 9


def test_reaching_exactly_the_quota_is_no_risk_yet():
    assert _quota([endpoint("e", _scaled(variant("AllTraffic", "ml.g5.xlarge", 2), 2, 8))], 8) == []


def test_managed_instance_scaling_counts_what_components_can_reach():
    v = replace(
        variant("AllTraffic", "ml.g5.xlarge", 1, components=("ic",)),
        managed_scaling=ManagedScaling(True, 0, 6),
    )
    [f] = _quota([endpoint("genai", v)], 4)
    assert f.evidence["quota"]["can_reach"] == 6 and f.severity is Severity.HIGH


def test_serverless_types_without_a_quota_and_a_zero_quota():
    serverless = endpoint("s", variant(serverless=True))
    other = endpoint("o", variant("AllTraffic", "ml.m5.large", 50))
    assert _quota([serverless, other], 1) == []  # no quota known for ml.m5.large: not judged
    [f] = _quota([endpoint("e", variant("AllTraffic", "ml.g5.xlarge", 1))], 0, "default")
    assert f.severity is Severity.HIGH and f.evidence["quota"]["quota_source"] == "default"


def test_the_quota_finding_is_one_per_type_and_region_with_a_stable_id():
    one = _quota([endpoint("a", _scaled(variant("AllTraffic", "ml.g5.xlarge", 1), 1, 9))], 8)
    two = _quota([endpoint("b", _scaled(variant("AllTraffic", "ml.g5.xlarge", 1), 1, 12))], 8)
    assert one[0].id == two[0].id  # the same quota, whichever endpoints press on it


# --- stuck-deployment -------------------------------------------------------------------------------------


def _skipped(status, minutes, reason=None):
    return Skipped("e", f"status is {status}", status, ARN.format("e"), NOW - timedelta(minutes=minutes), reason)


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating"])
@pytest.mark.parametrize(("minutes", "stuck"), [(89, False), (90, False), (91, True)])
def test_in_progress_is_stuck_only_past_stuck_minutes(status, minutes, stuck):
    found = stuck_findings([], [_skipped(status, minutes)], {}, now=NOW, stuck_minutes=90)
    assert bool(found) is stuck
    if stuck:
        [f] = found
        assert f.severity is Severity.HIGH and f.evidence["status"] == status and f.evidence["minutes"] == 91
        assert f.evidence["since"] == "2026-11-22T10:29:00Z" and f.evidence["failure_reason"] is None


@pytest.mark.parametrize("status", ["RollingBack", "UpdateRollbackFailed"])
def test_rolling_back_is_said_at_once_with_its_reason(status):
    [f] = stuck_findings([], [_skipped(status, 0, "bad image. ")], {}, now=NOW, stuck_minutes=90)
    assert f.severity is Severity.HIGH and f.evidence["failure_reason"] == "bad image. "
    assert "(bad image)" in f.recommendation.summary  # the reason inside our sentence, not "image. ."


def test_failed_and_inservice_are_not_stuck():
    for status in ("Failed", "InService", "Deleting", "OutOfService"):
        assert stuck_findings([], [_skipped(status, 1000)], {}, now=NOW, stuck_minutes=90) == []


def test_an_inservice_endpoint_or_component_carrying_a_failure_reason_is_medium():
    healthy = endpoint("healthy")
    failed = replace(endpoint("failed", modified_ago=timedelta(hours=3)), failure_reason="health check failed")
    found = stuck_findings([healthy, failed], [], {"healthy": {"ic-a": "out of GPU memory"}}, now=NOW, stuck_minutes=90)
    by = {(f.endpoint, f.inference_component): f for f in found}
    assert set(by) == {("failed", None), ("healthy", "ic-a")}
    assert by[("failed", None)].severity is Severity.MEDIUM and by[("failed", None)].evidence["minutes"] == 180
    assert by[("healthy", "ic-a")].evidence == {
        "status": "InService",
        "since": None,
        "minutes": None,
        "failure_reason": "out of GPU memory",
    }


def test_a_failure_reason_is_bounded():
    failed = replace(endpoint("failed"), failure_reason="x" * 5000)
    [f] = stuck_findings([failed], [], {}, now=NOW, stuck_minutes=90)
    assert len(f.evidence["failure_reason"]) <= 1000


# --- broken-dependency ------------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["endpoint-config", "model", "model-artifact", "image", "role"])
def test_each_missing_dependency_is_a_high_finding_that_says_why(what):
    facts = DependencyFacts(NOW, (Dependency(what, "ref-1", "model m", "missing"),))
    f = dependency_finding(endpoint("e"), facts)
    assert f is not None and f.kind is Kind.BROKEN_DEPENDENCY and f.severity is Severity.HIGH
    [missing] = f.evidence["missing"]
    assert missing["what"] == what and missing["ref"] == "ref-1" and missing["why"]
    assert f.evidence["checked_at"] == "2026-11-22T12:00:00Z"


def test_what_was_present_or_not_checked_is_no_finding():
    facts = DependencyFacts(
        NOW,
        (
            Dependency("model", "m", "variant A", "present"),
            Dependency("image", "763104351884.dkr.ecr...", "model m", "not-checked", "another account's ECR"),
            Dependency("role", "arn:aws:iam::1:role/r", "model m", "not-checked", "not allowed (AccessDenied)"),
        ),
    )
    assert dependency_finding(endpoint("e"), facts) is None


def test_a_finding_lists_what_was_not_checked_beside_what_is_missing():
    facts = DependencyFacts(
        NOW,
        (
            Dependency("role", "arn:aws:iam::1:role/gone", "model m", "missing"),
            Dependency("image", "other", "model m", "not-checked", "another account's ECR"),
        ),
    )
    f = dependency_finding(endpoint("e"), facts)
    assert f is not None and [d["what"] for d in f.evidence["not_checked"]] == ["image"]
    assert f.evidence["not_checked"][0]["note"] == "another account's ECR"


def test_dependency_facts_survive_the_state_table_and_damage_is_refused():
    facts = DependencyFacts(NOW, (Dependency("model", "m", "variant A", "missing"),), {"ic": "boom"})
    assert DependencyFacts.from_doc(facts.to_doc()) == facts
    for damaged in ({}, {"checked_at": "not a date", "dependencies": []}, {"checked_at": NOW.isoformat()}):
        with pytest.raises((KeyError, ValueError, TypeError)):
            DependencyFacts.from_doc(damaged)


# --- the causes of model errors -----------------------------------------------------------------------------

LINES = {
    "cuda-out-of-memory": "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
    "host-out-of-memory": "Out of memory: Killed process 4242 (python3) total-vm:31GB",
    "worker-died": "Backend worker process died.",
    "model-load-failure": "Load model failed: mymodel, error: worker died",
    "timeout": "[CRITICAL] WORKER TIMEOUT (pid:17)",
    "import-error": "ModuleNotFoundError: No module named 'transformers'",
}


@pytest.mark.parametrize(("signature", "line"), sorted(LINES.items()))
def test_each_signature_is_recognised_and_the_filter_pattern_fetches_it(signature, line):
    [found] = classify_lines([line, "INFO all good", "GET /ping 200"])
    assert found == {"signature": signature, "count": 1, "example": line}
    # CloudWatch Logs returns a line when it contains any ?"term" of the pattern (case-sensitive)
    terms = [t.strip('"') for t in FILTER_PATTERN.replace('?"', '"').split('" "')]
    assert any(t.strip('"') in line for t in terms), (signature, terms)
    assert advice([found])


def test_every_signature_has_a_sample_line():
    assert {s.name for s in SIGNATURES} == set(LINES)


def test_lines_are_counted_once_most_frequent_first_and_examples_are_bounded():
    lines = [LINES["timeout"]] * 3 + [LINES["cuda-out-of-memory"] + " " + "x" * 1000] * 2 + ["nothing"]
    found = classify_lines(lines)
    assert [(s["signature"], s["count"]) for s in found] == [("timeout", 3), ("cuda-out-of-memory", 2)]
    assert len(found[1]["example"]) <= 300
    assert classify_lines([]) == [] and advice([]) is None


def test_cuda_out_of_memory_points_at_the_cheapest_type_with_more_gpu_memory():
    bigger = more_gpu_memory("ml.g5.xlarge", CATALOG)
    small, big = CATALOG.get("ml.g5.xlarge"), CATALOG.get(bigger)
    assert big is not None and small is not None and big.accelerator is small.accelerator
    assert big.accelerator_memory_gib > small.accelerator_memory_gib
    cheaper_with_more = [
        s
        for s in CATALOG
        if s.accelerator is small.accelerator
        and s.accelerator_memory_gib > small.accelerator_memory_gib
        and s.price_per_hour_usd < big.price_per_hour_usd
    ]
    assert cheaper_with_more == []
    assert more_gpu_memory("ml.m5.xlarge", CATALOG) is None and more_gpu_memory(None, CATALOG) is None


# --- scale-from-zero --------------------------------------------------------------------------------------

BACKLOG_STEP = ScalingPolicy("up", "StepScaling", alarm_metrics=("HasBacklogWithoutCapacity",))
OTHER_STEP = ScalingPolicy("up", "StepScaling", alarm_metrics=("CPUUtilization",))
TRACK_BACKLOG = ScalingPolicy("t", "TargetTrackingScaling", 5.0, "ApproximateBacklogSizePerInstance")
TRACK_INVOCATIONS = ScalingPolicy("t", "TargetTrackingScaling", 750.0, "SageMakerVariantInvocationsPerInstance")


def _async(low, *policies):
    v = replace(variant("AllTraffic", "ml.g4dn.xlarge"), autoscaling=Autoscaling(low, 4, policies))
    return endpoint("queue", v, is_async=True)


@pytest.mark.parametrize(
    ("ep", "expected"),
    [
        (_async(0, TRACK_BACKLOG), ["HasBacklogWithoutCapacity"]),
        (_async(0, TRACK_BACKLOG, OTHER_STEP), ["HasBacklogWithoutCapacity"]),  # a step policy on another alarm
        (_async(0, TRACK_BACKLOG, BACKLOG_STEP), []),  # its healthy twin
        (_async(1, TRACK_BACKLOG), []),  # never at 0
    ],
    ids=["async-at-0", "async-other-alarm", "async-healthy", "async-min-1"],
)
def test_an_async_variant_at_zero_needs_a_step_policy_on_its_backlog(ep, expected):
    found = scale_from_zero_findings(ep, CATALOG)
    assert [f.evidence["metric"] for f in found] == expected
    for f in found:
        assert (
            f.severity is Severity.HIGH
            and f.variant == "AllTraffic"
            and f.recommendation.action.value == ("scale-to-zero")
        )
        assert "HasBacklogWithoutCapacity" in f.recommendation.summary


def _components(low, *policies):
    v = variant("AllTraffic", "ml.g5.xlarge", components=("ic-a",))
    return replace(endpoint("genai", v), component_scaling={"ic-a": Autoscaling(low, 3, policies)})


def test_a_component_at_zero_copies_needs_an_alarm_on_no_capacity_failures():
    no_capacity = ScalingPolicy("up", "StepScaling", alarm_metrics=("NoCapacityInvocationFailures",))
    [f] = scale_from_zero_findings(_components(0), CATALOG)
    assert (f.inference_component, f.variant, f.evidence["metric"]) == (
        "ic-a",
        "AllTraffic",
        "NoCapacity" + "InvocationFailures",
    )
    assert scale_from_zero_findings(_components(0, no_capacity), CATALOG) == []  # the healthy twin
    assert scale_from_zero_findings(_components(1), CATALOG) == []


def test_target_tracking_on_a_metric_the_endpoint_does_not_publish():
    [f] = scale_from_zero_findings(_async(1, TRACK_INVOCATIONS), CATALOG)
    assert f.severity is Severity.MEDIUM and f.evidence["metric"] == "SageMakerVariantInvocationsPerInstance"
    assert "publishes no Invocations" in f.recommendation.summary
    hosting = replace(
        variant("AllTraffic", "ml.g5.xlarge", components=("ic-a",)), autoscaling=Autoscaling(1, 2, (TRACK_INVOCATIONS,))
    )
    [g] = scale_from_zero_findings(endpoint("genai", hosting), CATALOG)
    assert "per component" in g.recommendation.summary
    # a real-time variant publishes it: its healthy twin
    realtime = replace(variant(), autoscaling=Autoscaling(1, 4, (TRACK_INVOCATIONS,)))
    assert scale_from_zero_findings(endpoint("rt", realtime), CATALOG) == []
