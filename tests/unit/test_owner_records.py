"""Owners (pure): CloudTrail records read from real-shaped samples and from hostile ones, which creator matches
which endpoint, and how every rendering says who owns a finding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sagewatch.digest import Digest
from sagewatch.lifecycle import Announcement, Reason
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity
from sagewatch.notify import slack_payloads, sns_messages
from sagewatch.notify.digest import render_chatbot, render_email
from sagewatch.owners import (
    CREATE,
    UPDATE,
    Owner,
    TrailFacts,
    TrailRecord,
    creator,
    describe,
    from_tags,
    last_updater,
    principal_of,
    record_of,
    with_trail,
)
from sagewatch_testkit.trail import record

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ROLE = "arn:aws:sts::123456789012:assumed-role/DataScientist/alice"


def lookup_event(doc: dict) -> dict:
    """What LookupEvents returns for a record: its fields, and the record itself as a JSON string."""
    return {"EventName": doc.get("eventName"), "EventTime": NOW, "CloudTrailEvent": json.dumps(doc)}


@pytest.mark.parametrize(
    ("kind", "principal", "identity_type"),
    [
        ("assumed-role", ROLE, "AssumedRole"),
        ("iam-user", "arn:aws:iam::123456789012:user/intern", "IAMUser"),
        ("root", "arn:aws:iam::123456789012:root", "Root"),
        ("aws-service", "cloudformation.amazonaws.com", "AWSService"),
    ],
)
def test_real_shaped_records_name_their_principal(kind, principal, identity_type):
    r = record_of(lookup_event(record(kind, "churn-model", NOW - timedelta(days=3))))
    assert r is not None and (r.principal, r.identity_type, r.endpoint) == (principal, identity_type, "churn-model")
    assert r.event_time == NOW - timedelta(days=3)


def test_a_refused_call_names_no_one():
    assert record_of(lookup_event(record("denied", "churn-model", NOW))) is None


@pytest.mark.parametrize(
    "event",
    [
        {"CloudTrailEvent": "{not json"},
        {"CloudTrailEvent": None},
        {"CloudTrailEvent": json.dumps(["a list"])},
        {"CloudTrailEvent": json.dumps({"eventName": "CreateEndpoint", "userIdentity": {"type": "IAMUser"}})},
        {"CloudTrailEvent": json.dumps({"eventName": "DeleteEndpoint", "requestParameters": {"endpointName": "x"}})},
        {"CloudTrailEvent": json.dumps({**record("iam-user", "x", NOW), "userIdentity": "root"})},
        {"CloudTrailEvent": json.dumps({**record("iam-user", "x", NOW), "eventTime": "yesterday"})},
        {"CloudTrailEvent": json.dumps({**record("iam-user", "x", NOW), "requestParameters": None})},
    ],
)
def test_records_of_another_shape_are_ignored(event):
    assert record_of(event) is None


def test_hostile_strings_in_a_record_are_bounded():
    doc = record("assumed-role", "x" * 10_000, NOW)
    doc["userIdentity"]["arn"] = "arn:aws:sts::1:assumed-role/R/" + "<!channel>" * 10_000
    r = record_of(lookup_event(doc))
    assert r is not None and len(r.principal) <= 2048 and len(r.endpoint) <= 256


def test_principal_of_each_identity_type():
    assert principal_of({"type": "AWSAccount", "accountId": "111122223333"}) == ("account 111122223333", "AWSAccount")
    assert principal_of({"type": "AWSService"}) is None
    assert principal_of({"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/bob"})[0].endswith("bob")
    assert principal_of(None) is None


def test_the_creator_is_the_create_call_at_the_endpoints_creation_time():
    created = NOW - timedelta(days=10)
    records = [
        TrailRecord(CREATE, created - timedelta(days=40), "ep", "arn:old-owner", "IAMUser"),  # the name, reused
        TrailRecord(CREATE, created + timedelta(seconds=2), "ep", ROLE, "AssumedRole"),
        TrailRecord(CREATE, created, "other", "arn:someone-else", "IAMUser"),
        TrailRecord(UPDATE, created + timedelta(days=1), "ep", "arn:first-update", "Root"),
        TrailRecord(UPDATE, created + timedelta(days=5), "ep", "arn:last-update", "AWSService"),
        TrailRecord(UPDATE, created - timedelta(days=2), "ep", "arn:before-it-existed", "Root"),
    ]
    assert creator(records, "ep", created).principal == ROLE
    assert last_updater(records, "ep", created).principal == "arn:last-update"
    assert creator(records, "ep", created + timedelta(hours=1)) is None  # nothing within 15 minutes


def test_tag_keys_in_order_and_any_case():
    assert from_tags({"Contact": "ops@example.com", "team": "fraud"}).to_dict() | {"created_at": None} == {
        "principal": "fraud", "source": "tag:team", "created_by": None, "last_updated_by": None,
        "team": "fraud", "created_at": None, "trail": None,
    }  # fmt: skip
    assert from_tags({"contact": "ops@example.com"}, ["contact"]).source == "tag:contact"
    assert from_tags({"created-by": "ci-pipeline"}).principal == "ci-pipeline"
    assert from_tags({"owner": "  "}).principal is None  # blank is no owner
    assert from_tags({}).to_dict()["principal"] is None


def finding(owner: Owner, endpoint: str = "churn-model") -> Finding:
    return Finding(
        id=f"sw-{endpoint}", kind=Kind.IDLE, severity=Severity.HIGH, endpoint=endpoint, variant=None,
        inference_component=None, instance_type="ml.m5.xlarge", instance_count=1, evidence={"idle_hours": 24},
        recommendation=Recommendation(Action.DELETE_ENDPOINT, None, None, f"Delete endpoint {endpoint}."),
        monthly_cost_usd=168.0, monthly_savings_usd=168.0, owner=owner,
    )  # fmt: skip


def test_every_rendering_says_who_owns_it():
    owner = Owner(ROLE, "cloudtrail:CreateEndpoint", ROLE, None, "vision", (NOW - timedelta(days=93)).isoformat())
    assert describe(owner, NOW) == "owner: alice (CloudTrail, created 93 days ago), team vision"
    d = Digest("123456789012", "us-east-1", NOW, [Announcement(Reason.NEW, finding(owner))])
    assert "owner: alice (CloudTrail, created 93 days ago), team vision" in render_email(d)
    assert "owner: alice (CloudTrail, created 93 days ago)" in json.dumps(slack_payloads(d))
    assert "owner: alice (CloudTrail" in render_chatbot(d).description
    doc = json.loads(json.loads(sns_messages(d)[0].message)["sqs"])
    assert doc["announcements"][0]["finding"]["owner"]["principal"] == ROLE


def test_unknown_and_hostile_owners_read_plainly():
    unknown = Digest("1", "us-east-1", NOW, [Announcement(Reason.NEW, finding(Owner()))])
    assert "owner: unknown (no owner tag; CloudTrail not looked up)" in render_email(unknown)
    hostile = Owner("<!channel> @here", "tag:owner")
    d = Digest("1", "us-east-1", NOW, [Announcement(Reason.NEW, finding(hostile))])
    blob = json.dumps(slack_payloads(d)) + render_chatbot(d).description
    assert "<!channel>" not in blob and "@here" not in blob
    assert describe(Owner("maria", "tag:owner"), NOW) == "owner: maria (tag owner)"
    studio = from_tags({"sagemaker:user-profile-arn": "arn:aws:sagemaker:us-east-1:1:user-profile/d-1/priya"})
    assert describe(studio, NOW) == "owner: priya (SageMaker Studio)"


def test_owner_lines_say_what_cloudtrail_was_asked():
    """Unknown because nobody asked is not unknown because CloudTrail had no answer; a cached answer says so."""
    created = NOW - timedelta(days=93)
    tags = from_tags({})
    assert describe(with_trail(tags, None, created, asked=False), NOW) == (
        "owner: unknown (no owner tag; CloudTrail not looked up)"
    )
    asked = with_trail(tags, None, created, asked=True)
    assert describe(asked, NOW) == "owner: unknown (no owner tag, and CloudTrail did not say)"
    assert asked.to_dict()["trail"] == "looked-up"
    fresh = with_trail(tags, TrailFacts(ROLE, None), created)
    assert describe(fresh, NOW) == "owner: alice (CloudTrail, created 93 days ago)"
    cached = with_trail(tags, TrailFacts(ROLE, None, cached=True), created)
    assert describe(cached, NOW) == "owner: alice (CloudTrail, cached, created 93 days ago)"
    assert Owner.from_dict(cached.to_dict()) == cached  # the provenance survives a round trip (org records)
    assert Owner.from_dict(cached.to_dict() | {"trail": "<!channel>"}).trail is None  # nothing else is read
    nothing_cached = with_trail(tags, TrailFacts(None, None, cached=True), created)
    assert describe(nothing_cached, NOW) == "owner: unknown (no owner tag, and CloudTrail did not say, cached)"
    # an owner tag wins: CloudTrail is never the owner's source then, whatever it was asked
    tagged = with_trail(from_tags({"owner": "maria"}), None, created, asked=False)
    assert describe(tagged, NOW) == "owner: maria (tag owner, created 93 days ago)"


def test_alerts_and_remediation_notices_say_whose_endpoint_it_is():
    from sagewatch.monitoring import Alert, AlertKind
    from sagewatch.notify.alert import chatbot, text
    from sagewatch.notify.remediation import REMEDIATION_SCHEMA, RemediationNotice
    from sagewatch.notify.remediation import lines as notice_lines

    owner = from_tags({"owner": "Maria.Garcia", "team": "Fraud"})
    alert = Alert(AlertKind.ENDPOINT_FAILED, "fraud-detector-prod", "us-east-1", "1", "failed", owner=owner)
    assert "Owner: Maria.Garcia (tag owner), team Fraud" in text(alert)  # names keep their case
    assert "owner: Maria.Garcia (tag owner)" in chatbot(alert).description
    notice = RemediationNotice(
        {
            "schema": REMEDIATION_SCHEMA,
            "executed_at": NOW.isoformat(),
            "request": {"action": "delete-endpoint", "endpoint": "churn-model"},
            "requested_by": {"principal": ROLE, "source": "client-context"},
            "owner": owner.to_dict(),
        }
    )
    body = "\n".join(notice_lines(notice))
    assert f"Requested by: alice ({ROLE}, as the caller says, a claim: not verified)" in body
    assert "Owner: Maria.Garcia (tag owner), team Fraud" in body
    unknown = RemediationNotice({**notice.record, "requested_by": None})
    assert "Requested by: unknown" in "\n".join(notice_lines(unknown))
