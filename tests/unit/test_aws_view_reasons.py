"""AWS's own view (pure): Compute Optimizer's idle recommendations read as botocore gives them, each idle finding
annotated, and every disagreement given sagewatch's reason."""

from datetime import UTC, datetime, timedelta

from sagewatch.awsview import NOT_ENROLLED, AwsIdle, HubView, annotate, hub_from_api, idle_from_api
from sagewatch.models import Action, Endpoint, Finding, Kind, Recommendation, Severity, Skipped, Variant

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def endpoint(name: str, *, days: float = 60, is_async: bool = False, components: tuple[str, ...] = ()) -> Endpoint:
    variant = Variant("AllTraffic", "ml.m5.xlarge", 1, inference_components=components)
    created = NOW - timedelta(days=days)
    arn = f"arn:aws:sagemaker:us-east-1:1:endpoint/{name}"
    return Endpoint(name, arn, "InService", created, created, "c", is_async, (variant,))


def idle(name: str, variant: str | None = None, kind: Kind = Kind.IDLE) -> Finding:
    return Finding(
        f"sw-{name}-{variant}", kind, Severity.HIGH, name, variant, None, "ml.m5.xlarge", 1, {},
        Recommendation(Action.DELETE_ENDPOINT, None, None, "delete it"), 100.0, 100.0,
    )  # fmt: skip


def page(*names: str, errors: tuple[str, ...] = ()) -> dict:
    return {
        "idleRecommendations": [
            {
                "resourceArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{n.lower()}",
                "resourceType": "SageMakerEndpoint",
                "finding": "Idle",
                "lookBackPeriodInDays": 14.0,
                "savingsOpportunity": {"estimatedMonthlySavings": {"currency": "USD", "value": 12.5}},
            }
            for n in names
        ]
        + [{"resourceArn": "arn:aws:ec2:us-east-1:1:instance/i-1", "resourceType": "EC2Instance"}],
        "errors": [{"identifier": f"arn:aws:sagemaker:us-east-1:1:endpoint/{n}", "code": "x"} for n in errors],
    }


def test_recommendations_are_read_by_endpoint_name_and_other_resources_ignored():
    view = idle_from_api([page("Churn-Model"), page("b", errors=("young",))])
    assert set(view.idle) == {"churn-model", "b"} and view.unjudged == {"young"}
    assert view.idle["b"]["estimated_monthly_savings_usd"] == 12.5


def test_each_idle_finding_says_what_compute_optimizer_thinks():
    eps = [endpoint("Both"), endpoint("only-us"), endpoint("young", days=3), endpoint("unjudged")]
    findings = [idle("Both"), idle("only-us"), idle("young"), idle("unjudged"), idle("x", kind=Kind.OVERSIZED)]
    view = idle_from_api([page("both", errors=("unjudged",))])
    out, section = annotate(findings, eps, [], view, NOW)
    assert [f.evidence.get("aws_view") for f in out] == [
        "idle",
        "not idle",
        "no recommendation",
        "no recommendation",
        None,
    ]
    assert section["agree"] == ["Both"] and section["idle_endpoints"] == 1
    reasons = {d["endpoint"]: d["reason"] for d in section["disagreements"]}
    assert "younger than Compute Optimizer's 14 days" in reasons["young"]
    assert "could not judge it" in reasons["unjudged"]
    assert "traffic stopped recently" in reasons["only-us"]


def test_why_sagewatch_does_not_call_idle_what_compute_optimizer_does():
    eps = [
        endpoint("queue", is_async=True),
        endpoint("shared", components=("ic-a",)),
        endpoint("rhythm"),
        endpoint("ab"),
        endpoint("busy"),
    ]
    findings = [idle("rhythm", "AllTraffic", Kind.OFF_HOURS), idle("ab", "challenger")]
    skipped = [Skipped("updating", "status is Updating")]
    view = idle_from_api([page("queue", "shared", "rhythm", "ab", "busy", "updating", "gone")])
    _, section = annotate(findings, eps, skipped, view, NOW)
    got = {d["endpoint"]: (d["sagewatch"], d["reason"].split(":")[0]) for d in section["disagreements"]}
    assert got == {
        "queue": ("not idle", "an asynchronous endpoint serving its queue"),
        "shared": ("not idle", "inference components carry its traffic"),
        "rhythm": ("not idle", "a weekly rhythm"),
        "ab": ("a variant idle", "a variant idle beside a busy one"),
        "busy": ("not idle", "it served requests within sagewatch's idle window (Compute Optimizer reads 14 days)"),
        "updating": ("not idle", "sagewatch did not judge it (status is Updating)"),
        "gone": ("not idle", "sagewatch does not see this endpoint (another region's, deleted, or not listed)"),
    }


def test_not_enrolled_or_denied_is_said_once_and_never_an_error():
    out, section = annotate([idle("a")], [endpoint("a")], [], AwsIdle(NOT_ENROLLED, note="not enrolled"), NOW)
    assert out[0].evidence["aws_view"] == "not enrolled"
    assert section["status"] == "not enrolled" and section["disagreements"] == [] and section["idle_endpoints"] is None


# --- Cost Optimization Hub -----------------------------------------------------------------------


def hub_item(name: str, action: str, saving: object, region: str = "us-east-1", **extra: object) -> dict:
    return {
        "recommendationId": f"r-{name}-{action}",
        "region": region,
        "resourceId": name,
        "resourceArn": f"arn:aws:sagemaker:{region}:123456789012:endpoint/{name.lower()}",
        "currentResourceType": "SageMakerEndpoint",
        "actionType": action,
        "estimatedMonthlySavings": saving,
        **extra,
    }


def test_hub_recommendations_are_this_regions_endpoints_keeping_the_largest_saving():
    hub = hub_from_api(
        [
            {"items": [hub_item("Ranker", "Rightsize", 120.0), hub_item("Ranker", "Delete", 300.0)]},
            {"items": [hub_item("emea", "Delete", 50.0, region="eu-west-1"), {"currentResourceType": "Ec2Instance"}]},
            {"items": [hub_item("odd", "Delete", "lots"), "not a mapping"]},
        ],
        "us-east-1",
    )
    assert hub.status == "read" and set(hub.recommendations) == {"ranker", "odd"}
    assert hub.recommendations["ranker"]["action"] == "Delete"
    assert hub.recommendations["ranker"]["estimated_monthly_savings_usd"] == 300.0
    assert hub.recommendations["odd"]["estimated_monthly_savings_usd"] is None  # never a guess


def test_the_hub_section_says_what_sagewatch_finds_on_each_endpoint():
    view = AwsIdle(
        NOT_ENROLLED,
        hub=hub_from_api([{"items": [hub_item("a", "Delete", 9.0), hub_item("b", "Stop", 1.0)]}], "us-east-1"),
    )
    _, section = annotate([idle("a")], [endpoint("a"), endpoint("b")], [], view, NOW)
    hub = section["cost_optimization_hub"]
    assert hub["status"] == "read" and hub["count"] == 2
    assert [(r["endpoint"], r["sagewatch"]) for r in hub["recommendations"]] == [
        ("a", ["idle: delete-endpoint"]),
        ("b", ["no finding"]),
    ]


def test_a_hub_not_enrolled_is_said_with_no_recommendations():
    view = AwsIdle(NOT_ENROLLED, hub=HubView(NOT_ENROLLED, note="Cost Optimization Hub: this account is not enrolled"))
    _, section = annotate([idle("a")], [endpoint("a")], [], view, NOW)
    assert section["cost_optimization_hub"] == {
        "status": NOT_ENROLLED,
        "note": "Cost Optimization Hub: this account is not enrolled",
        "recommendations": [],
    }
