"""An organization on moto: member stacks in three accounts and two regions, each scanning its own simulated
fleet and forwarding to the central account's bus, and the central account taking it all in.

moto keys its backends by account; credentials from sts:AssumeRole select the account (each member works
through its own assumed-role session). The central account is moto's default one. What crosses from a member
to the central account goes through the member's EventBridge rule with the template's pattern and the
central bus as its target (moto_ext keeps the sender's account and region on the way, as EventBridge does),
then a rule on the central bus into a queue the simulation hands to the aggregator's use case, with the
envelope's account and region.

Times are simulated (the use cases take `now`), so one test can cover hours of scans and a week of reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3

from sagewatch.app.org import OrgEvent, digest_tick, ingest, org_cost_report
from sagewatch.app.scan import scheduled_scan
from sagewatch.app.weekly import weekly_report
from sagewatch.aws.clients import Clients
from sagewatch.aws.events import FindingEvents
from sagewatch.aws.wiring import org_archive, org_dependencies, scan_dependencies, weekly_dependencies
from sagewatch.monitoring import Alert, AlertKind
from sagewatch.org import FORWARDED_DETAIL_TYPES, Origin
from sagewatch.orgcost import OrgCostReport
from sagewatch.requests import ReportRequest, ScanRequest
from sagewatch.settings import OrgSettings, ReportSettings, ScanSettings
from sagewatch_testkit import fleet
from sagewatch_testkit.aws_fixtures import drain, id_table, watch_queue

CENTRAL = "123456789012"  # moto's default account: the central stack's functions use default credentials
CENTRAL_REGION = "us-east-1"
ORGANIZATION = "o-a1b2c3d4e5"
MEMBER_NAMES = ("ml-platform-prod", "fraud-team-dev", "research-sandbox")
REGIONS = ("us-east-1", "eu-west-1")
ORG_BUS = "sagewatch-org"


def member_fleet(name: str, region: str) -> list[fleet.SimEndpoint]:
    """A small fleet per member, different in each: busy, idle, oversized; names say whose they are."""
    tag = f"{name.split('-')[0]}-{region.split('-')[1]}"
    seed = MEMBER_NAMES.index(name) * 10 + REGIONS.index(region)
    return [
        fleet.SimEndpoint(
            f"{tag}-scoring",
            [fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 2, fleet.diurnal(2000, seed=seed), cpu=60, memory=50)],
        ),
        fleet.SimEndpoint(
            f"{tag}-old-experiment", [fleet.SimVariant("AllTraffic", "ml.g5.2xlarge", 1, cpu=1, memory=9)]
        ),
        fleet.SimEndpoint(
            f"{tag}-embedder",
            [
                fleet.SimVariant(
                    "AllTraffic",
                    "ml.c5.4xlarge",
                    2,
                    fleet.diurnal(500, seed=seed + 1),
                    cpu=6,
                    memory=12,
                )
            ],
        ),
    ]


@dataclass
class MemberStack:
    account: str
    region: str
    clients: Clients
    scan_settings: ScanSettings
    report_settings: ReportSettings
    topic_queue: str

    @property
    def key(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass
class OrgSimulation:
    now: datetime
    central: Clients = field(init=False)
    settings: OrgSettings = field(init=False)
    members: dict[str, MemberStack] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # member account id -> its name
    queues: dict[str, str] = field(default_factory=dict)
    bus_arn: str = ""

    def __post_init__(self) -> None:
        self.central = Clients(CENTRAL_REGION, boto3.session.Session(region_name=CENTRAL_REGION))
        self._build_organization()
        self._build_central()
        for account in self.accounts:
            for region in REGIONS:
                self._build_member(account, region)

    def _build_organization(self) -> None:
        """The organization, as moto's Organizations knows it: the central account is its management account
        (so DescribeAccount answers), the members are accounts moto creates (it picks their ids)."""
        org = self.central.organizations()
        org.create_organization(FeatureSet="ALL")
        for name in MEMBER_NAMES:
            status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
            self.accounts[status["AccountId"]] = name

    # --- the stacks ---

    def _build_central(self) -> None:
        sns, sqs = self.central.sns(), self.central.session.client("sqs", region_name=CENTRAL_REGION)
        events, ddb, s3 = self.central.events(), self.central.dynamodb(), self.central.s3()
        topic = sns.create_topic(Name="sagewatch-central")["TopicArn"]
        for name in ("org", "idempotency"):
            id_table(ddb, name)
        s3.create_bucket(Bucket="sagewatch-central")
        self.bus_arn = events.create_event_bus(Name=ORG_BUS)["EventBusArn"]
        for name in ("inbox", "central-topic"):
            self.queues[name] = watch_queue(sqs, name)[0]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=watch_queue(sqs, "central-topic")[1],
            Attributes={"RawMessageDelivery": "true"},
        )
        pattern = {"source": ["sagewatch"], "detail-type": list(FORWARDED_DETAIL_TYPES)}
        events.put_rule(Name="aggregator", EventBusName=ORG_BUS, EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule="aggregator", EventBusName=ORG_BUS, Targets=[{"Id": "q", "Arn": watch_queue(sqs, "inbox")[1]}]
        )
        self.settings = OrgSettings.from_env(
            {
                "AWS_REGION": CENTRAL_REGION,
                "SAGEWATCH_TOPIC_ARN": topic,
                "SAGEWATCH_ORG_TABLE": "org",
                "SAGEWATCH_BUCKET": "sagewatch-central",
                "SAGEWATCH_ORGANIZATION_ID": ORGANIZATION,
            }
        )

    def _session(self, account: str, region: str) -> boto3.session.Session:
        creds = self.central.sts().assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/sagewatch-member", RoleSessionName="sagewatch-sim"
        )["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region,
        )

    def _build_member(self, account: str, region: str) -> None:
        clients = Clients(region, self._session(account, region))
        assert clients.account_id() == account, "moto did not switch accounts on the assumed role"
        sns, sqs, events = clients.sns(), clients.session.client("sqs", region_name=region), clients.events()
        topic = sns.create_topic(Name="sagewatch")["TopicArn"]
        id_table(clients.dynamodb(), "state")
        bucket = f"sagewatch-{account}-{region}"
        clients.s3().create_bucket(
            Bucket=bucket,
            **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}),  # type: ignore[dict-item]
        )
        url, arn = watch_queue(sqs, "member-topic")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        # the template's CentralBusForwardRule: every forwarded detail type to the central bus
        pattern = {"source": ["sagewatch"], "detail-type": list(FORWARDED_DETAIL_TYPES)}
        events.put_rule(Name="central-bus", EventPattern=json.dumps(pattern))
        role = f"arn:aws:iam::{account}:role/sagewatch-CentralBusForwardRole"
        events.put_targets(Rule="central-bus", Targets=[{"Id": "central-bus", "Arn": self.bus_arn, "RoleArn": role}])
        env = {
            "AWS_REGION": region,
            "SAGEWATCH_TOPIC_ARN": topic,
            "SAGEWATCH_STATE_TABLE": "state",
            "SAGEWATCH_BUCKET": bucket,
            "SAGEWATCH_LOCAL_NOTIFICATIONS": "false",  # a member's default (LocalNotifications=auto)
            "SAGEWATCH_SCAN_SCHEDULE": "rate(1 hour)",
        }
        stack = MemberStack(account, region, clients, ScanSettings.from_env(env), ReportSettings.from_env(env), url)
        sims = member_fleet(self.accounts[account], region)
        fleet.seed(clients.sagemaker(), sims, region=region, now=self.now, account=account)
        self.members[stack.key] = stack

    # --- what members do ---

    def scan(self, key: str, now: datetime) -> dict[str, Any]:
        m = self.members[key]
        deps = scan_dependencies(m.scan_settings, m.account, m.clients)
        return scheduled_scan(m.scan_settings, ScanRequest(), deps, now=now)[1]

    def weekly(self, key: str, now: datetime) -> dict[str, Any]:
        m = self.members[key]
        deps = weekly_dependencies(m.report_settings, m.account, m.clients)
        return weekly_report(m.report_settings, ReportRequest(), deps, now=now)

    def alert(self, key: str, now: datetime) -> None:
        """An endpoint failure in a member (what its Model Monitor function puts on its bus)."""
        m = self.members[key]
        alert = Alert(
            kind=AlertKind.ENDPOINT_FAILED,
            endpoint=f"{self.accounts[m.account].split('-')[0]}-broken",
            region=m.region,
            account=m.account,
            summary="Endpoint creation failed",
            reason="CannotStartContainerError: the container did not pass ping health checks",
            time=now.isoformat(),
        )
        FindingEvents(m.clients.events()).put_alert(alert)

    def member_notifications(self, key: str) -> list[Any]:
        m = self.members[key]
        return drain(m.clients.session.client("sqs", region_name=m.region), m.topic_queue)

    # --- the central account ---

    def deliver(self, now: datetime) -> list[dict[str, Any]]:
        """Everything on the central bus, handed to the aggregator (as its rule would), oldest first."""
        sqs = self.central.session.client("sqs", region_name=CENTRAL_REGION)
        results = []
        for event in drain(sqs, self.queues["inbox"]):
            origin = Origin.of(event["account"], event["region"], now)
            org_event = OrgEvent(event["id"], event["detail-type"], origin, event["detail"])
            results.append(ingest(org_event, org_dependencies(self.settings, self.central)))
        return results

    def tick(self, now: datetime) -> dict[str, Any]:
        return digest_tick(self.settings, org_dependencies(self.settings, self.central), now)

    def cost_report(self, now: datetime) -> tuple[OrgCostReport, dict[str, Any]]:
        deps = org_dependencies(self.settings, self.central)
        return org_cost_report(self.settings, deps, org_archive(self.settings, self.central), now)

    def central_notifications(self) -> list[Any]:
        return drain(self.central.session.client("sqs", region_name=CENTRAL_REGION), self.queues["central-topic"])


def later(t: datetime, minutes: float) -> datetime:
    return t + timedelta(minutes=minutes)
