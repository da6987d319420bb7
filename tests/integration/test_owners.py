"""Every finding names its owner: owner tags, SageMaker Studio's tags, or CloudTrail's creator (LookupEvents,
extended onto moto with real-shaped records), within a budget, cached across scans, and never failing the
scan when CloudTrail throttles or refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sagewatch.app.scan import scheduled_scan
from sagewatch.aws.clients import Clients
from sagewatch.aws.cloudtrail import FileOwnerCache, TrailOwners
from sagewatch.aws.wiring import scan_dependencies
from sagewatch.owners import EndpointRef, describe
from sagewatch.requests import ScanRequest
from sagewatch_testkit import aws_rules, fleet, moto_ext
from sagewatch_testkit.calls import count_calls
from sagewatch_testkit.faults import fail_call
from sagewatch_testkit.trail import record

pytestmark = pytest.mark.integration
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/DataScientist/alice"


def idle(name: str, age_days: float = 30, **tags: str) -> fleet.SimEndpoint:
    return fleet.SimEndpoint(
        name, [fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 1, cpu=2, memory=10)], age_days=age_days, tags=tags
    )


def created(sm, name: str) -> datetime:
    return sm.describe_endpoint(EndpointName=name)["CreationTime"].astimezone(UTC)


def owners_of(report) -> dict[str, dict]:
    return {f.endpoint: f.owner.to_dict() for f in report.findings}


def run(stack, now, *, clients: Clients | None = None):
    deps = scan_dependencies(stack.settings, ACCOUNT, clients)
    deps.owners.min_interval = 0  # type: ignore[attr-defined]  (moto needs no pacing)
    report, result = scheduled_scan(stack.settings, ScanRequest(), deps, now=now)
    return report, result, deps


def test_each_source_of_an_owner(scan_stack, sm, now):
    fleet.seed(
        sm,
        [
            idle("tagged", owner="alice@example.com", team="fraud"),
            idle(
                "studio",
                **{"sagemaker:user-profile-arn": "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc/bob"},
            ),
            idle("made-by-role"),
            idle("made-by-user"),
            idle("updated-only", age_days=120),
            idle("nobody-knows"),
            idle("team-only", team="recsys"),
        ],
        region=REGION,
        now=now,
    )
    moto_ext.put_trail_event(REGION, record("assumed-role", "made-by-role", created(sm, "made-by-role")))
    moto_ext.put_trail_event(REGION, record("root", "made-by-role", now - timedelta(days=2)))  # UpdateEndpoint
    moto_ext.put_trail_event(REGION, record("iam-user", "made-by-user", created(sm, "made-by-user")))
    # a refused CreateEndpoint by someone else a minute earlier: created nothing, names no one
    moto_ext.put_trail_event(
        REGION, record("denied", "made-by-user", created(sm, "made-by-user") - timedelta(minutes=1), session="mallory")
    )
    moto_ext.put_trail_event(REGION, record("aws-service", "updated-only", now - timedelta(days=10)))
    moto_ext.set_endpoint_times(REGION, "updated-only", now - timedelta(days=120), now - timedelta(days=10))

    report, result, _ = run(scan_stack, now)
    owners = owners_of(report)
    assert owners["tagged"] | {"created_at": None} == {
        "principal": "alice@example.com", "source": "tag:owner", "created_by": None, "last_updated_by": None,
        "team": "fraud", "created_at": None, "trail": None,
    }  # fmt: skip
    assert owners["studio"]["source"] == "studio" and owners["studio"]["principal"].endswith("user-profile/d-abc/bob")
    assert owners["made-by-role"]["principal"] == ROLE_ARN
    assert owners["made-by-role"]["source"] == "cloudtrail:CreateEndpoint"
    assert owners["made-by-role"]["created_by"] == ROLE_ARN
    assert owners["made-by-role"]["last_updated_by"] == "arn:aws:iam::123456789012:root"
    assert owners["made-by-user"]["principal"] == "arn:aws:iam::123456789012:user/intern"
    assert owners["updated-only"]["source"] == "cloudtrail:UpdateEndpoint"
    assert owners["updated-only"]["principal"] == "cloudformation.amazonaws.com"
    assert owners["nobody-knows"]["principal"] is None and owners["nobody-knows"]["source"] is None
    assert owners["nobody-knows"]["trail"] == owners["made-by-role"]["trail"] == "looked-up"  # asked, this scan
    assert owners["team-only"]["source"] == "tag:team" and owners["team-only"]["team"] == "recsys"
    assert result["warnings"] == [] or all("CloudTrail" not in w for w in result["warnings"])
    [digest] = scan_stack.digests()
    text = {a["finding"]["endpoint"]: a["finding"]["owner"] for a in digest["announcements"]}
    assert text["made-by-role"]["principal"] == ROLE_ARN  # the owner travels in the digest and the events
    assert {e["detail"]["endpoint"]: e["detail"]["owner"]["source"] for e in scan_stack.bus()}["studio"] == "studio"


def test_cloudtrail_is_asked_once_per_endpoint_then_the_cache_answers(scan_stack, sm, now):
    fleet.seed(sm, [idle("made-by-role")], region=REGION, now=now)
    moto_ext.put_trail_event(REGION, record("assumed-role", "made-by-role", created(sm, "made-by-role")))
    clients = Clients(REGION)
    calls = count_calls(clients.cloudtrail().meta.events)
    first, _, _ = run(scan_stack, now, clients=clients)
    assert calls["LookupEvents"] == 1 and owners_of(first)["made-by-role"]["principal"] == ROLE_ARN
    later, _, _ = run(scan_stack, now + timedelta(hours=1), clients=clients)
    assert calls["LookupEvents"] == 1  # cached (and not new any more)
    assert owners_of(later)["made-by-role"]["principal"] == ROLE_ARN  # still named, from the cache
    assert (
        owners_of(first)["made-by-role"]["trail"] == "looked-up"
        and owners_of(later)["made-by-role"]["trail"] == "cached"
    )
    assert "(CloudTrail, cached, created" in describe(later.findings[0].owner, now)


def test_only_new_findings_are_looked_up(scan_stack, sm, now):
    fleet.seed(sm, [idle("old-news")], region=REGION, now=now)
    settings = scan_stack.settings
    object.__setattr__(settings, "owner_lookups", 0)  # the first scan may not ask
    run(scan_stack, now)
    object.__setattr__(settings, "owner_lookups", 20)
    moto_ext.put_trail_event(REGION, record("assumed-role", "old-news", created(sm, "old-news")))
    clients = Clients(REGION)
    calls = count_calls(clients.cloudtrail().meta.events)
    report, _, _ = run(scan_stack, now + timedelta(hours=1), clients=clients)
    assert calls["LookupEvents"] == 0 and owners_of(report)["old-news"]["principal"] is None
    assert owners_of(report)["old-news"]["trail"] == "not-looked-up"  # unknown because nobody asked, and said so
    assert "CloudTrail not looked up" in describe(report.findings[0].owner, now)


def test_the_budget_bounds_the_calls_and_says_so(scan_stack, sm, now):
    fleet.seed(sm, [idle("first-made")], region=REGION, now=now)
    # 120 other CreateEndpoint calls since: the one wanted is on the third page
    for i in range(120):
        moto_ext.put_trail_event(REGION, record("iam-user", f"other-{i}", now - timedelta(minutes=i + 1)))
    moto_ext.put_trail_event(REGION, record("assumed-role", "first-made", created(sm, "first-made")))
    object.__setattr__(scan_stack.settings, "owner_lookups", 2)
    clients = Clients(REGION)
    calls = count_calls(clients.cloudtrail().meta.events)
    report, result, _ = run(scan_stack, now, clients=clients)
    assert calls["LookupEvents"] == 2 and owners_of(report)["first-made"]["principal"] is None
    assert any("budget (2 calls a scan) is spent" in w for w in result["warnings"]), result["warnings"]
    assert result["findings"] == 1  # the scan itself is whole


@pytest.mark.parametrize(
    ("code", "said"),
    [("AccessDeniedException", "not allowed (cloudtrail:LookupEvents)"), ("ThrottlingException", "failed")],
)
def test_a_refused_or_throttled_lookup_leaves_the_owner_unknown(scan_stack, sm, now, code, said):
    fleet.seed(sm, [idle("made-by-role")], region=REGION, now=now)
    moto_ext.put_trail_event(REGION, record("assumed-role", "made-by-role", created(sm, "made-by-role")))
    clients = Clients(REGION)
    fail_call(clients.cloudtrail(), "LookupEvents", code)
    report, result, _ = run(scan_stack, now, clients=clients)
    assert owners_of(report)["made-by-role"]["principal"] is None
    assert any(said in w and "owners of 1 endpoints stay unknown" in w for w in result["warnings"]), result
    assert result["announced"]["new"] == 1  # announced all the same
    # nothing was cached: the next new finding of that endpoint can still be looked up
    assert not [i for i in boto3.client("dynamodb", region_name=REGION).scan(TableName="state")["Items"]
                if i["id"]["S"].startswith("owner#")]  # fmt: skip


def test_a_reused_name_is_a_new_endpoint(tmp_path, aws, now):
    """The cache is keyed by name and creation time: a recreated endpoint is looked up afresh."""
    cache = FileOwnerCache(tmp_path / "owners.json")
    first = now - timedelta(days=20)
    second = now - timedelta(days=2)
    moto_ext.install()
    moto_ext.put_trail_event(REGION, record("iam-user", "reused", first))
    moto_ext.put_trail_event(REGION, record("assumed-role", "reused", second))
    owners = TrailOwners(Clients(REGION).cloudtrail(), cache, f"{ACCOUNT}/{REGION}", min_interval=0)
    old, _ = owners.facts([EndpointRef("reused", first, first)], {"reused"}, now)
    new, _ = owners.facts([EndpointRef("reused", second, second)], {"reused"}, now)
    assert old["reused"].created_by == "arn:aws:iam::123456789012:user/intern"
    assert new["reused"].created_by == ROLE_ARN


def test_the_cli_shows_owners_and_asks_cloudtrail_only_when_told(demo, sm, capsys, monkeypatch):
    """`scan --owner-lookup`: owners from every source in JSON and in the table's OWNER column; without the
    flag, no LookupEvents call (what an earlier lookup found is still shown, from the user's cache)."""
    import json

    from sagewatch.cli import main

    fleet.seed_demo_trail(sm, REGION)
    calls = {"n": 0}
    original = TrailOwners._call

    def counted(self, *args):
        calls["n"] += 1
        return original(self, *args)

    monkeypatch.setattr(TrailOwners, "_call", counted)
    assert main(["scan", "--region", REGION, "--format", "json"]) == 0
    plain = {f["endpoint"]: f["owner"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert calls["n"] == 0 and plain["image-embedder"]["principal"] is None  # not asked: unknown
    assert plain["churn-model-staging"]["source"] == "tag:owner" and plain["genai-sandbox"]["source"] == "studio"

    assert main(["scan", "--region", REGION, "--owner-lookup"]) == 0
    table = capsys.readouterr().out
    assert calls["n"] >= 1
    row = next(line for line in table.splitlines() if line.split()[:3] == ["high", "oversized", "image-embedder"])
    assert " alice " in row
    assert main(["scan", "--region", REGION, "--format", "json"]) == 0  # the cache answers now
    cached = {f["endpoint"]: f["owner"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert cached["doc-classifier"]["principal"] == "arn:aws:iam::123456789012:user/intern"
    assert cached["doc-classifier"]["source"] == "cloudtrail:CreateEndpoint"


def test_an_answer_cut_short_is_used_but_not_kept(tmp_path, aws, now):
    """The creator found, the update pass cut short by the budget: the owner is named now, and the endpoint
    asked again later (a cached answer must be a whole one)."""
    moto_ext.install()
    created = now - timedelta(days=20)
    moto_ext.put_trail_event(REGION, record("assumed-role", "tuned", created))
    moto_ext.put_trail_event(REGION, record("root", "tuned", now - timedelta(days=1)))
    cache = FileOwnerCache(tmp_path / "owners.json")
    ref = EndpointRef("tuned", created, now - timedelta(days=1))
    short = TrailOwners(Clients(REGION).cloudtrail(), cache, "s", budget=1, min_interval=0)
    facts, warnings = short.facts([ref], {"tuned"}, now)
    assert facts["tuned"].created_by == ROLE_ARN and facts["tuned"].last_updated_by is None
    assert any("budget (1 calls a scan) is spent" in w for w in warnings)
    assert cache.load("s") == {}
    whole = TrailOwners(Clients(REGION).cloudtrail(), cache, "s", budget=5, min_interval=0)
    facts, _ = whole.facts([ref], {"tuned"}, now)
    assert facts["tuned"].last_updated_by == "arn:aws:iam::123456789012:root"
    assert ref.key in cache.load("s")


def test_a_brand_new_endpoints_creator_is_not_cached_as_unknown_before_cloudtrail_delivers_it(tmp_path, aws):
    """CloudTrail delivers an event minutes after its call (the test kit holds it back that long): a lookup just
    after the create finds nothing, and that is not an answer to keep for 120 days."""
    moto_ext.install()
    created = aws_rules.CLOCK.now() - timedelta(minutes=2)
    moto_ext.put_trail_event(REGION, record("assumed-role", "brand-new", created))
    cache = FileOwnerCache(tmp_path / "owners.json")
    ref = EndpointRef("brand-new", created, created)
    owners = TrailOwners(Clients(REGION).cloudtrail(), cache, "s", min_interval=0)
    early, _ = owners.facts([ref], {"brand-new"}, aws_rules.CLOCK.now())
    assert "brand-new" not in early and cache.load("s") == {}  # not yet: asked again next scan
    aws_rules.CLOCK.sleep(aws_rules.DURATIONS.trail_delivery + 60)
    later, _ = owners.facts([ref], {"brand-new"}, aws_rules.CLOCK.now())
    assert later["brand-new"].created_by == ROLE_ARN and ref.key in cache.load("s")
    # an endpoint old enough for CloudTrail to have delivered its create, and still nothing: unknown, kept
    old = EndpointRef("never-seen", created - timedelta(hours=1), created - timedelta(hours=1))
    facts, _ = owners.facts([old], {"never-seen"}, aws_rules.CLOCK.now())
    assert facts["never-seen"].created_by is None and old.key in cache.load("s")


def test_a_scan_near_its_functions_timeout_says_how_many_endpoints_fit(scan_stack, sm, now):
    """sagewatch.scantime on a real scheduled scan: the timing is in the result, and a budget the scan used 80% of
    or more becomes a warning (here a budget of a few milliseconds, so any scan uses it all)."""
    fleet.seed(sm, [idle("one"), idle("two")], region=REGION, now=now)
    deps = scan_dependencies(scan_stack.settings, ACCOUNT)
    _, result = scheduled_scan(scan_stack.settings, ScanRequest(publish=False), deps, now=now, budget_seconds=300.0)
    timing = result["timing"]
    assert timing["endpoints"] == 2 and timing["budget_seconds"] == 300.0 and timing["used_pct"] < 80
    assert not any("time" in w and "scan took" in w for w in result["warnings"])
    _, result = scheduled_scan(scan_stack.settings, ScanRequest(publish=False), deps, now=now, budget_seconds=0.001)
    [warning] = [w for w in result["warnings"] if w.startswith("the scan took")]
    assert (
        "endpoints fit within 80%" in warning
        and "Turn fan-out on" in warning
        and "raise the scan function's timeout" in warning
    )
