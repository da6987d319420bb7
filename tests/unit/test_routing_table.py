"""The routing table (pure): each rule kind, first match, the default route, and documents that are not valid
refused naming the rule and the field."""

from __future__ import annotations

import pytest

from sagewatch.owners import Owner, describe, display_name, from_tags, with_trail
from sagewatch.routing import RoutingError, RoutingTable, Subject, split

TOPIC = "arn:aws:sns:us-east-1:123456789012:sagewatch-fraud-alerts"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sagewatch/genai-AbCdEf"
ROLE = "arn:aws:sts::123456789012:assumed-role/DataScientist/alice"

TABLE = RoutingTable.from_document(
    {
        "rules": [
            {"name": "fraud", "match": {"team": "fraud"}, "to": {"sns": TOPIC}},
            {"name": "alice", "match": {"owner": "alice"}, "to": {"email": "alice@example.com"}},
            {
                "name": "genai-dev",
                "match": {"endpoint": "genai-*", "tag": {"env": "dev*"}},
                "to": {"slack_secret": SECRET},
            },
            {"name": "errors", "match": {"kind": ["errors", "saturated"]}, "to": {"sns": TOPIC}},
        ]
    },
    email_domains=["example.com"],
)


def subject(endpoint="ep", owner=None, tags=None, kind="idle") -> Subject:
    return Subject(endpoint, owner or Owner(), tags or {}, kind)


@pytest.mark.parametrize(
    ("s", "rule"),
    [
        (subject(tags={"team": "Fraud"}, owner=from_tags({"team": "Fraud"})), "fraud"),  # team, either case
        (subject(owner=Owner(ROLE, "cloudtrail:CreateEndpoint", created_by=ROLE)), "alice"),  # owner's short name
        (subject(owner=Owner("alice", "tag:owner")), "alice"),  # an owner tag's value
        (subject("genai-chat", tags={"env": "dev-2"}), "genai-dev"),  # endpoint glob and tag glob
        (subject("genai-chat", tags={"env": "prod"}), None),  # both conditions must hold
        (subject(kind="errors"), "errors"),
        (subject(kind="idle"), None),  # nothing matches: the stack's topic
        (subject("genai-x", owner=Owner("alice", "tag:owner"), tags={"env": "dev"}), "alice"),  # first match wins
    ],
)
def test_each_rule_kind_and_first_match(s, rule):
    matched = TABLE.route(s)
    assert (matched.name if matched else None) == rule


def test_split_keeps_rule_order_and_the_unmatched():
    items = [("a", subject(kind="errors")), ("b", subject()), ("c", subject(owner=Owner("alice", "tag:owner")))]
    routed, unmatched = split(items, TABLE)
    assert list(routed) == ["alice", "errors"] and routed["errors"] == ["a"] and unmatched == ["b"]


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "must be a JSON object"),
        ({"rules": {}}, "`rules` must be a list"),
        ({"rules": [], "rulez": []}, "unknown field(s) ['rulez']"),
        ({"rules": ["x"]}, "routing rule 1 must be an object"),
        ({"rules": [{"name": "bad name!", "match": {"team": "a"}, "to": {"sns": TOPIC}}]}, "routing rule 1: name must"),
        (
            {"rules": [{"name": "r", "match": {}, "to": {"sns": TOPIC}}]},
            "routing rule 1 ('r'): match must be an object",
        ),
        (
            {"rules": [{"name": "r", "match": {"colour": "red"}, "to": {"sns": TOPIC}}]},
            "match has unknown key(s) ['colour']",
        ),
        (
            {"rules": [{"name": "r", "match": {"kind": "sluggish"}, "to": {"sns": TOPIC}}]},
            "match.kind ['sluggish'] is not one of",
        ),
        ({"rules": [{"name": "r", "match": {"owner": ""}, "to": {"sns": TOPIC}}]}, "match.owner must be a non-empty"),
        ({"rules": [{"name": "r", "match": {"tag": []}, "to": {"sns": TOPIC}}]}, "match.tag must be an object"),
        (
            {"rules": [{"name": "r", "match": {"team": "a"}, "to": {"sns": "fraud-alerts"}}]},
            "to.sns is not an SNS topic ARN",
        ),
        (
            {"rules": [{"name": "r", "match": {"team": "a"}, "to": {"sns": TOPIC.replace("sagewatch-", "")}}]},
            "to.sns is not an SNS topic ARN whose name starts with sagewatch-",
        ),
        (
            {"rules": [{"name": "r", "match": {"team": "a"}, "to": {"email": "findings@attacker.example"}}]},
            "to.email 'findings@attacker.example' is not in an allowed domain (RouteEmailDomains: example.com)",
        ),
        (
            {"rules": [{"name": "r", "match": {"team": "a"}, "to": {"email": "not-an-address"}}]},
            "to.email is not an email",
        ),
        (
            {
                "rules": [
                    {"name": "r", "match": {"team": "a"}, "to": {"slack_secret": SECRET.replace("sagewatch/", "prod/")}}
                ]
            },
            "whose name starts with sagewatch/",
        ),
        ({"rules": [{"name": "r", "match": {"team": "a"}, "to": {"pager": "x"}}]}, "to.pager is not a destination"),
        ({"rules": [{"name": "r", "match": {"team": "a"}, "to": {"sns": TOPIC, "email": "a@b.co"}}]}, "exactly one of"),
        (
            {"rules": [{"name": "r", "match": {"team": "a"}, "to": {"sns": TOPIC}}] * 2},
            "routing rule name 'r' is used twice",
        ),
    ],
)
def test_an_invalid_document_names_the_rule_and_field(doc, problem):
    with pytest.raises(RoutingError) as caught:
        RoutingTable.from_document(doc, email_domains=["example.com"])
    assert problem in str(caught.value)


def test_without_allowed_domains_no_email_route_is_accepted():
    doc = {"rules": [{"name": "r", "match": {"team": "a"}, "to": {"email": "alice@example.com"}}]}
    with pytest.raises(RoutingError, match=r"RouteEmailDomains: none set"):
        RoutingTable.from_document(doc)
    assert RoutingTable.from_document(doc, email_domains=["EXAMPLE.com"]).rules[0].to.target == "alice@example.com"


def test_owners_from_tags_studio_and_cloudtrail_read_plainly(now):
    assert from_tags({"Owner": "bob"}).to_dict()["source"] == "tag:owner"  # tag keys are matched in any case
    studio = from_tags({"sagemaker:user-profile-arn": "arn:aws:sagemaker:us-east-1:1:user-profile/d-1/carol"})
    assert studio.source == "studio" and studio.name == "carol"
    assert display_name(ROLE) == "alice" and display_name("arn:aws:iam::123456789012:root") == "root of 123456789012"
    created = now.replace(year=now.year - 1)
    trail = with_trail(Owner(), None, created)
    assert describe(trail, now).startswith("owner: unknown")
    from sagewatch.owners import TrailFacts

    known = with_trail(Owner(team="fraud"), TrailFacts(ROLE, None), created)
    assert known.source == "cloudtrail:CreateEndpoint" and known.created_by == ROLE
    assert describe(known, now).startswith(f"owner: alice (CloudTrail, created {(now - created).days} days ago)")
    assert describe(known, now).endswith("team fraud")
