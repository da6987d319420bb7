"""An organization on moto (sagewatch_testkit.org_sim): three member accounts in two regions scan their own
fleets and forward to the central bus; the central account sends one digest, names a silent member, forwards
alerts at once and adds the members' cost summaries up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto import mock_aws

from sagewatch.aws.events import FindingEvents
from sagewatch.notify import OrgCostNotice, from_document
from sagewatch.notify.orgcost import lines
from sagewatch.notify.remediation import REMEDIATION_SCHEMA
from sagewatch.org import REMEDIATION_DETAIL_TYPE, OrgDigest
from sagewatch_testkit import aws_rules, commitments_aws
from sagewatch_testkit.org_sim import CENTRAL, REGIONS, OrgSimulation, later

pytestmark = pytest.mark.integration


@pytest.fixture(params=["today", "2028"])
def t0(request) -> datetime:
    """The simulation's clock: today, and a day in 2028 (no test may depend on when it runs)."""
    if request.param == "2028":
        return datetime(2028, 2, 29, 9, 5, tzinfo=UTC)
    return datetime.now(UTC).replace(minute=5, second=0, microsecond=0)


@pytest.fixture
def org(t0):
    with mock_aws():
        yield OrgSimulation(t0)


def scan_all(org: OrgSimulation, now: datetime, *, skip: str | None = None) -> dict[str, dict]:
    return {key: org.scan(key, now) for key in org.members if key != skip}


def digests(org: OrgSimulation) -> list[OrgDigest]:
    out = [from_document(m) for m in org.central_notifications()]
    return [d for d in out if isinstance(d, OrgDigest)]


def test_one_digest_names_every_account_and_region(org, t0):
    results = scan_all(org, t0)
    delivered = org.deliver(later(t0, 1))
    assert {r["status"] for r in delivered} == {"kept"}
    assert {(r["account"], r["region"]) for r in delivered} == {tuple(k.split("/")) for k in org.members}

    assert org.tick(later(t0, 3))["status"] == "waiting"  # members may still be reporting
    assert org.central_notifications() == []
    sent = org.tick(later(t0, 12))
    assert sent["status"] == "sent" and sent["silent_members"] == 0
    [digest] = digests(org)
    assert {(m.account, m.region) for m in digest.members} == {tuple(k.split("/")) for k in org.members}
    assert {m.name for m in digest.members} == set(org.accounts.values())  # names from Organizations
    assert digest.totals["accounts"] == 3 and digest.totals["regions"] == len(REGIONS)
    announced = sum(r["announced"]["new"] for r in results.values())
    assert len(digest.announcements) == announced == sent["announced"]["new"] > 0
    cost = round(sum(r["fleet_monthly_cost_usd"] for r in results.values()), 2)
    assert digest.totals["fleet_monthly_cost_usd"] == cost
    # members leave notifications to the central account (LocalNotifications=auto on a member)
    assert all(org.member_notifications(key) == [] for key in org.members)
    # nothing new: the next ticks send nothing
    assert org.tick(later(t0, 20))["status"] == "waiting" and org.central_notifications() == []


def test_a_silent_member_is_named_counted_and_welcomed_back(org, t0):
    silent = sorted(org.members)[-1]
    scan_all(org, t0)
    org.deliver(later(t0, 1))
    org.tick(later(t0, 12))
    org.central_notifications()

    t1 = later(t0, 180)
    for hour in (60, 120, 180):  # the others keep scanning hourly
        scan_all(org, later(t0, hour), skip=silent)
    org.deliver(later(t1, 1))
    tick = org.tick(later(t1, 12))
    assert tick["silent_members"] == 1 and tick["silence"]["new"] == 1
    [digest] = digests(org)
    [named] = digest.silent
    assert f"{named.account}/{named.region}" == silent and named.silence == "new"
    # still silent, nothing else new: no second digest, but the alarm's metric keeps counting it
    quiet = org.tick(later(t1, 20))
    assert quiet["status"] == "waiting" and quiet["silent_members"] == 1

    org.scan(silent, later(t1, 30))
    org.deliver(later(t1, 31))
    back = org.tick(later(t1, 32))
    assert back["silence"]["back"] == 1 and back["silent_members"] == 0
    [digest] = digests(org)
    assert [m.silence for m in digest.members if f"{m.account}/{m.region}" == silent] == ["back"]


def test_a_resolved_finding_reaches_the_organization(org, t0):
    key = sorted(org.members)[0]
    scan_all(org, t0)
    org.deliver(later(t0, 1))
    org.tick(later(t0, 12))
    org.central_notifications()
    member = org.members[key]
    [idle] = [
        e for e in member.clients.sagemaker().list_endpoints()["Endpoints"] if "old-experiment" in e["EndpointName"]
    ]
    member.clients.sagemaker().delete_endpoint(EndpointName=idle["EndpointName"])
    aws_rules.CLOCK.sleep(aws_rules.DURATIONS.endpoint_delete)  # gone before the next scan, an hour later
    t1 = later(t0, 60)
    assert org.scan(key, t1)["announced"]["resolved"] == 1
    org.deliver(later(t1, 1))
    org.tick(later(t1, 12))
    [digest] = digests(org)
    [resolved] = digest.announcements
    assert resolved.announcement.reason.value == "resolved" and (resolved.account, resolved.region) == tuple(
        key.split("/")
    )
    assert resolved.announcement.finding.endpoint == idle["EndpointName"]


def test_alerts_and_remediation_notices_are_forwarded_at_once(org, t0):
    key = sorted(org.members)[1]
    account, region = key.split("/")
    org.alert(key, t0)
    record = {
        "schema": REMEDIATION_SCHEMA,
        "account": account,
        "executed_at": t0.isoformat(),
        "request": {"action": "delete-endpoint", "endpoint": "fraud-east-old-experiment", "dry_run": False},
        "plan": {"action": "delete-endpoint", "endpoint": "fraud-east-old-experiment", "steps": []},
        "done": ["deleted endpoint fraud-east-old-experiment"],
    }
    FindingEvents(org.members[key].clients.events()).put_document(REMEDIATION_DETAIL_TYPE, record)
    results = org.deliver(later(t0, 1))
    assert [r["status"] for r in results] == ["sent", "sent"]
    alert, notice = org.central_notifications()
    assert alert["schema"] == "sagewatch.alert/1" and (alert["account"], alert["region"]) == (account, region)
    assert notice["schema"] == REMEDIATION_SCHEMA and (notice["account"], notice["region"]) == (account, region)
    # no digest needed for them: nothing is pending
    assert org.tick(later(t0, 30))["pending"] == 0


def test_the_organization_cost_report_adds_up(org, t0):
    skipped = sorted(org.members)[-1]
    weekly = {key: org.weekly(key, t0) for key in org.members if key != skipped}
    scan_all(org, t0)  # the members the report knows of
    org.deliver(later(t0, 1))
    report, result = org.cost_report(later(t0, 120))
    assert result["totals"]["cost_usd"] == pytest.approx(
        sum(w["totals"]["cost_usd"] for w in weekly.values()), abs=0.05
    )
    assert result["totals"]["waste_usd"] == pytest.approx(
        sum(w["totals"]["waste_usd"] for w in weekly.values()), abs=0.05
    )
    assert sum(r.cost_usd for r in report.by_account()) == pytest.approx(result["totals"]["cost_usd"], abs=0.05)
    assert sum(r.cost_usd for r in report.by_region()) == pytest.approx(result["totals"]["cost_usd"], abs=0.05)
    assert sum(r.cost_usd for r in report.by_family()) == pytest.approx(result["totals"]["cost_usd"], abs=0.05)
    # the family table counts the open findings on each family's instances (what the members sent)
    assert sum(r.findings or 0 for r in report.by_family()) == result["totals"]["open_findings"] > 0
    assert {r.name for r in report.by_account()} == set(org.accounts.values())
    assert result["missing"] == [dict(zip(("account", "region"), skipped.split("/"), strict=True))]
    assert result["trend"]["previous_cost_usd"] is None  # a first week: nothing to compare with
    s3 = org.central.s3()
    for key in result["report"]["keys"].values():
        assert s3.get_object(Bucket="sagewatch-central", Key=key)["ContentLength"] > 100
    [notice] = org.central_notifications()
    assert notice["schema"] == "sagewatch.org-cost-summary/1"

    # a week later: the trend compares the members that reported both weeks
    t1 = later(t0, 7 * 24 * 60)
    second = {key: org.weekly(key, t1) for key in weekly}
    org.deliver(later(t1, 1))
    _, again = org.cost_report(later(t1, 120))
    assert again["trend"]["members_compared"] == len(second)
    assert again["trend"]["previous_cost_usd"] == pytest.approx(result["totals"]["cost_usd"], abs=0.05)


def test_the_organizations_commitment_advice_nets_out_every_members_waste(org, t0):
    """Cost Explorer read from the central account (as the management account sees the organization's), its
    SageMaker Savings Plans recommendation taken down by the waste each member forwarded, named by account."""
    # the report is made two hours after t0: from 22:00 UTC that is tomorrow, a period Cost Explorer refuses
    if later(t0, 120).date() > datetime.now(UTC).date():
        pytest.skip("Cost Explorer refuses a period that ends in the future (ValidationException), as AWS does")
    commitments_aws.set_commitments(
        monthly_covered_usd=2_000.0,
        monthly_on_demand_usd=8_000.0,
        recommendation_hourly_usd=6.0,
        recommendation_monthly_savings_usd=900.0,
        account=CENTRAL,
    )
    for key in org.members:
        org.weekly(key, t0)
    org.deliver(later(t0, 1))
    report, _ = org.cost_report(later(t0, 120))
    forwarded = report.waste()  # what the members' cost summaries carried
    assert forwarded, "the member fleets have idle and oversized endpoints: their waste is forwarded"
    doc = report.to_dict()["commitments"]
    assert doc["available"] and doc["coverage_pct"] == 20.0, doc["reason"]
    excluded = doc["waste_excluded"]
    assert {(w["account"], w["region"]) for w in excluded} <= {tuple(k.split("/")) for k in org.members}
    assert len({w["account"] for w in excluded}) > 1  # more than one member's waste taken out
    # 80% of the waste is paid on demand (coverage 20%): that share comes out of the recommendation
    total = sum(round(w.hourly_usd, 4) for w in forwarded)
    assert doc["recommendation"]["waste_excluded_hourly_usd"] == pytest.approx(total * 0.8, rel=0.01)
    assert 0 <= doc["net_hourly_commitment_usd"] < 6.0
    [notice] = org.central_notifications()
    assert notice["commitments"]["net_hourly_commitment_usd"] == doc["net_hourly_commitment_usd"]
    text = "\n".join(lines(OrgCostNotice.from_document(notice).summary))
    assert "Commitments (SageMaker Savings Plans):" in text and "net of the waste sagewatch found" in text


def test_an_organization_report_without_cost_explorer_says_so(org, t0):
    for key in org.members:
        org.weekly(key, t0)
    org.deliver(later(t0, 1))
    commitments_aws.deny("ce", account=CENTRAL)
    report, result = org.cost_report(later(t0, 120))
    doc = report.to_dict()["commitments"]
    assert doc["available"] is False and "AccessDenied" in doc["reason"]
    assert result["totals"]["cost_usd"] > 0 and result["missing"] == []  # the rest of the report unchanged


def test_make_org_demo_prints_the_digest_and_the_cost_table(capsys):
    from sagewatch_testkit import org_demo

    assert org_demo.main() == 0
    out = capsys.readouterr().out
    assert "Subject: sagewatch organization (3 accounts, 2 regions): 1 silent member, 12 new" in out
    assert "SILENT MEMBERS (1)" in out and "SilentMembers metric (the SilentMembersAlarm watches it): 1" in out
    assert "Account " in out and "Region " in out and "Family " in out and "Top endpoints" in out
