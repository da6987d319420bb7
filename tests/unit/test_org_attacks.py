"""What a hostile member (or anyone who can put events on a member's default bus) can send the central account,
and what it cannot make the central account do: blind the digest, page through links of its choosing, flood
the channel, fill the table. Pure: the aggregator and the digest over the in-memory org table."""

from __future__ import annotations

import contextlib
import copy
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagewatch.app.org import OrgDependencies, OrgEvent, digest_tick, ingest
from sagewatch.org import OrgEventError, Origin
from sagewatch.settings import OrgSettings
from sagewatch_testkit.functions import sample_event
from sagewatch_testkit.org_memory import MemoryOrgStore, MemoryPublisher, NoNames

NOW = datetime(2026, 11, 23, 9, 10, tzinfo=UTC)  # the sample events' own time: no test depends on today
MEMBER, OTHER = "111111111111", "222222222222"
SETTINGS = OrgSettings.from_env(
    {
        "AWS_REGION": "us-east-1",
        "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:999999999999:sagewatch",
        "SAGEWATCH_ORG_TABLE": "org",
        "SAGEWATCH_BUCKET": "central",
    }
)


def deps(**limits: int) -> OrgDependencies:
    return OrgDependencies(MemoryOrgStore(), MemoryPublisher(), NoNames(), **limits)


def detail(name: str) -> dict[str, Any]:
    return copy.deepcopy(sample_event(name)["detail"])


def event(detail_type: str, doc: dict[str, Any], *, account: str = MEMBER, at: datetime = NOW) -> OrgEvent:
    return OrgEvent("e", detail_type, Origin.of(account, "eu-west-1", at), doc)


def finding_event(doc: dict[str, Any], **kw: Any) -> OrgEvent:
    return event("SageMaker Endpoint Finding", doc, **kw)


def summary_event(doc: dict[str, Any], **kw: Any) -> OrgEvent:
    return event("SageMaker Fleet Scan Summary", doc, **kw)


def tick(d: OrgDependencies, at: datetime = NOW + timedelta(hours=2)) -> dict[str, Any]:
    return digest_tick(SETTINGS, d, at)


def with_change(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return out


# --- 1. one event must not stop the organization digest ----------------------------------------------------

HOSTILE_FINDINGS = [
    ("variant", 7, "variant must be a non-empty string or null"),
    ("instance_type", 5, "instance_type must be a non-empty string or null"),
    ("instance_count", "2", "instance_count must be a whole number"),
    ("instance_count", True, "instance_count must be a whole number"),
    ("monthly_savings_usd", "lots", "monthly_savings_usd must be a finite number"),
    ("monthly_cost_usd", float("inf"), "not plain JSON"),
    ("monthly_cost_usd", 1e12, "monthly_cost_usd must be between"),
    ("id", 123, "id must be a non-empty string"),
    ("endpoint", ["a"], "endpoint must be a non-empty string"),
    ("endpoint", "churn model; rm -rf", "endpoint .* is not a valid endpoint"),
    ("kind", "ransom", "'ransom' is not a valid Kind"),
    ("evidence", ["not", "an", "object"], "evidence must be an object"),
    ("evidence.idle_hours", float("nan"), "not plain JSON"),
    ("evidence.idle_hours", "a day", "evidence.idle_hours must be a finite number"),
    ("evidence.inference_components", "ic-1", "evidence.inference_components must be a list"),
    ("evidence.deep", {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}, "nested too deeply"),
    ("recommendation", "delete it", "recommendation must be an object"),
    ("recommendation.instance_count", 2.5, "recommendation.instance_count must be a whole number"),
    ("recommendation.monthly_cost_usd", "free", "recommendation.monthly_cost_usd must be a finite number"),
]


@pytest.mark.parametrize(
    ("path", "value", "problem"), HOSTILE_FINDINGS, ids=[f"{c[0]}={c[1]!r}" for c in HOSTILE_FINDINGS]
)
def test_a_hostile_finding_is_refused_naming_the_field_and_the_digest_goes_on(path, value, problem):
    d = deps()
    ingest(finding_event(detail("org/finding-forwarded.json")), d)  # a good one first
    with pytest.raises(OrgEventError, match=problem):
        ingest(finding_event(with_change(detail("org/finding-forwarded.json") | {"id": "sw-2"}, path, value)), d)
    assert [k for k in d.store.items if k.startswith("finding#")] == [f"finding#{MEMBER}#eu-west-1#sw-8b78326b4429abc9"]
    assert tick(d)["status"] == "sent" and d.publisher.sent[-1]["summary"]["new"] == 1


def test_sizing_evidence_of_strings_is_refused():
    doc = detail("org/finding-forwarded.json") | {"kind": "oversized"}
    doc["evidence"] = {"peak_pct": {"cpu": "high"}, "hours_observed": 100}
    with pytest.raises(OrgEventError, match=r"evidence.peak_pct.cpu must be a finite number"):
        ingest(finding_event(doc), deps())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"interval_seconds": 5 * 10**13}, "interval_seconds must be a whole number from 60 to 604800"),
        ({"scanned_at": "9000-01-01T00:00:00Z"}, "scanned_at 9000-01-01T00:00:00Z is not within the last 90 days"),
        ({"scanned_at": "2026-08-01T00:00:00Z"}, "is not within the last 90 days"),
        ({"fleet_monthly_cost_usd": 1e300}, "fleet_monthly_cost_usd must be between 0 and 1e"),
        ({"endpoints": 1e300}, "endpoints must be between"),
    ],
)
def test_a_hostile_scan_summary_is_refused(change, problem):
    d = deps()
    with pytest.raises(OrgEventError, match=problem):
        ingest(summary_event(detail("org/scan-summary-forwarded.json") | change), d)
    assert not d.store.items


def test_a_summary_from_the_future_cannot_make_a_member_unsilenceable():
    """Before: scanned_at in the year 9000 was kept, and every later real summary was 'stale'."""
    d = deps()
    with pytest.raises(OrgEventError):
        ingest(summary_event(detail("org/scan-summary-forwarded.json") | {"scanned_at": "9000-01-01T00:00:00Z"}), d)
    real = detail("org/scan-summary-forwarded.json")
    assert ingest(summary_event(real), d)["status"] == "kept"
    result = tick(d, NOW + timedelta(hours=5))  # two intervals and more without a report: silent
    assert result["silent_members"] == 1


def test_the_largest_figures_members_may_send_still_sum_to_finite_valid_json():
    d = deps()
    for account in (MEMBER, OTHER):
        doc = detail("org/scan-summary-forwarded.json") | {"fleet_monthly_cost_usd": 1e9, "monthly_savings_usd": 1e9}
        ingest(summary_event(doc, account=account), d)
    result = tick(d)
    assert math.isfinite(result["fleet_monthly_cost_usd"]) and result["fleet_monthly_cost_usd"] == 2e9
    json.loads(json.dumps(result), parse_constant=lambda c: pytest.fail(f"{c} in the tick's figures"))


def test_a_record_stored_before_validation_is_left_out_named_and_dropped():
    """A record written by an older version (or by hand) that no longer reads back: named once, then gone."""
    d = deps()
    ingest(finding_event(detail("org/finding-forwarded.json")), d)
    bad = json.loads(d.store.items[f"finding#{MEMBER}#eu-west-1#sw-8b78326b4429abc9"])
    bad["finding"]["variant"] = 7
    d.store.items[f"finding#{MEMBER}#eu-west-1#sw-bad"] = json.dumps(bad)
    result = tick(d)
    assert result["status"] == "sent" and result["unreadable_records"] == 1
    assert any("sw-bad: could not be read back" in s for s in result["skipped_records"])
    assert any("sw-bad" in s for s in d.publisher.sent[-1]["skipped_records"])
    assert f"finding#{MEMBER}#eu-west-1#sw-bad" not in d.store.items


def test_a_record_that_cannot_be_rendered_is_left_out_and_the_rest_is_sent(monkeypatch):
    import sagewatch.notify.org as org_render

    real = org_render.evidence_sentence

    def breaks_on_one(finding):
        if finding.endpoint == "poisoned":
            raise TypeError("unsupported format string passed to str.__format__")
        return real(finding)

    monkeypatch.setattr(org_render, "evidence_sentence", breaks_on_one)
    d = deps()
    ingest(finding_event(detail("org/finding-forwarded.json")), d)
    ingest(finding_event(detail("org/finding-forwarded.json") | {"id": "sw-p", "endpoint": "poisoned"}), d)
    result = tick(d)
    assert result["status"] == "sent" and result["announced"]["new"] == 1
    [skipped] = result["skipped_records"]
    assert "sw-p: TypeError" in skipped


def test_silent_members_are_observed_before_anything_is_rendered():
    """The alarm's figure is out even when the digest itself fails to go."""

    class Down(MemoryPublisher):
        def publish(self, notice):
            raise RuntimeError("SNS is down")

    d = OrgDependencies(MemoryOrgStore(), Down(), NoNames())
    ingest(summary_event(detail("org/scan-summary-forwarded.json")), d)
    seen: list[dict[str, Any]] = []
    with pytest.raises(RuntimeError):
        digest_tick(SETTINGS, d, NOW + timedelta(hours=5), observe=seen.append)
    assert seen and seen[0]["silent_members"] == 1


# --- 2. forwarded alerts: no member links, no flood, bounded records ---------------------------------------


def test_a_forwarded_alert_carries_only_links_the_central_account_built():
    d = deps()
    doc = detail("org/alert-forwarded.json") | {"processing_job": "fraud-dq-hourly-1700000000"}
    doc["links"] = {"Re-authenticate to the central console": "https://evil.example/login", "endpoint": "javascript:x"}
    assert ingest(event("SageMaker Endpoint Alert", doc), d)["status"] == "sent"
    [sent] = d.publisher.sent
    assert sent["links"] == {
        "processing_job": "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/processing-jobs/"
        + doc["processing_job"],
        "endpoint": "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/endpoints/"
        "fraud-detector-prod",
    }
    assert "evil" not in json.dumps(sent)


def test_an_alert_naming_an_endpoint_sagemaker_would_refuse_gets_no_link():
    d = deps()
    doc = detail("org/alert-forwarded.json") | {"endpoint": "x/../../evil", "processing_job": None}
    ingest(event("SageMaker Endpoint Alert", doc), d)
    assert d.publisher.sent[0]["links"] == {}


def test_alerts_over_the_hourly_limit_are_held_and_told_once_in_the_digest():
    d = deps(alerts_per_member_hour=3)
    results = [ingest(event("SageMaker Endpoint Alert", detail("org/alert-forwarded.json")), d) for _ in range(5)]
    assert [r["status"] for r in results] == ["sent"] * 3 + ["held"] * 2
    assert len(d.publisher.sent) == 3
    # another member has its own allowance
    other = ingest(event("SageMaker Endpoint Alert", detail("org/alert-forwarded.json"), account=OTHER), d)
    assert other["status"] == "sent"
    ingest(summary_event(detail("org/scan-summary-forwarded.json")), d)
    first = tick(d, NOW + timedelta(hours=5))
    assert first["held_alerts"] == 2
    digest = d.publisher.sent[-1]
    assert digest["held_alerts"] == [{"account": MEMBER, "region": "eu-west-1", "hour": "2026-11-23T09", "count": 2}]
    assert tick(d, NOW + timedelta(hours=6))["held_alerts"] == 0  # told once


def test_a_member_cannot_keep_more_finding_records_than_its_bound():
    d = deps(records_per_member=2)
    base = detail("org/finding-forwarded.json")
    for i in range(2):
        ingest(finding_event(base | {"id": f"sw-{i}"}), d)
    with pytest.raises(OrgEventError, match="already has 2 finding records"):
        ingest(finding_event(base | {"id": "sw-3"}), d)
    ingest(finding_event(base | {"id": "sw-0", "reason": "changed"}), d)  # updating one it has is fine
    assert ingest(finding_event(base | {"id": "sw-4"}, account=OTHER), d)["status"] == "kept"


# --- the property: whatever one member sends, the digest tick never raises ----------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FINDING_KEYS = [*detail("org/finding-forwarded.json"), "evidence.peak_pct", "evidence.idle_hours", "owner"]
SUMMARY_KEYS = list(detail("org/scan-summary-forwarded.json"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(["finding", "summary", "alert"]), st.sampled_from(FINDING_KEYS + SUMMARY_KEYS), JSON),
        min_size=1,
        max_size=4,
    )
)
def test_whatever_one_member_sends_the_digest_tick_never_raises(changes):
    d = deps()
    ingest(finding_event(detail("org/finding-forwarded.json") | {"id": "sw-good"}, account=OTHER), d)
    for i, (what, path, value) in enumerate(changes):
        if what == "finding":
            doc, e = detail("org/finding-forwarded.json") | {"id": f"sw-{i}"}, finding_event
        elif what == "summary":
            doc, e = detail("org/scan-summary-forwarded.json"), summary_event
        else:
            doc, e = detail("org/alert-forwarded.json"), lambda x: event("SageMaker Endpoint Alert", x)
        with contextlib.suppress(OrgEventError):  # refused, naming the problem; anything else fails the test
            ingest(e(with_change(doc, path, value)), d)
    result = tick(d)
    assert result["status"] == "sent"
    assert any(a["finding"]["id"] == "sw-good" for a in d.publisher.sent[-1]["announcements"])
