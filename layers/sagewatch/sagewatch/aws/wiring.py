"""The one place that builds each use case's real (boto3-backed) dependencies from settings and clients.
The handlers and the CLI both call these, so a setting means the same thing wherever it is used."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.app.fanout import ChunkDependencies, FanOut
from sagewatch.app.monitor import MonitorDependencies
from sagewatch.app.org import OrgDependencies
from sagewatch.app.ports import Notifier
from sagewatch.app.remediate import RemediationDependencies, answer
from sagewatch.app.scan import ScanDependencies
from sagewatch.app.slack_actions import SlackActionsDependencies
from sagewatch.app.weekly import WeeklyDependencies
from sagewatch.aws.autoscaling import ScalingReader
from sagewatch.aws.awsview import ComputeOptimizerReader, CostOptimizationHubReader
from sagewatch.aws.catalog_store import CatalogStore
from sagewatch.aws.clients import Clients, error_code, error_message
from sagewatch.aws.cloudtrail import TableOwnerCache, TrailOwners
from sagewatch.aws.cloudwatch import CloudWatchMetrics
from sagewatch.aws.commitments import CommitmentsReader
from sagewatch.aws.config_cache import ConfigArchive, TableConfigArchive
from sagewatch.aws.events import FindingEvents, StackNotifier
from sagewatch.aws.lock import TableLock
from sagewatch.aws.monitor import MonitorReader
from sagewatch.aws.org_accounts import AccountNames
from sagewatch.aws.org_store import OrgStore
from sagewatch.aws.pricing import PriceList
from sagewatch.aws.remediate import RemediationTarget
from sagewatch.aws.report_store import OrgReportStore, ReportStore
from sagewatch.aws.routes import Router, RouteSender, load_routing
from sagewatch.aws.sagemaker import SageMakerInventory
from sagewatch.aws.scan_parts import BucketScanParts, StepFunctionsExecutions
from sagewatch.aws.serving import DailyCache, ServingReader, TableDailyCache
from sagewatch.aws.slack_actions import RemediationFunction, SelfInvoke, SlackTokens
from sagewatch.aws.sns import TopicPublisher
from sagewatch.aws.state import StateStore
from sagewatch.aws.tagging import EndpointTags
from sagewatch.cadence import Conclusions
from sagewatch.catalog import Catalog
from sagewatch.commitments import CommitmentOptions
from sagewatch.lifecycle import StateUnavailableError
from sagewatch.notify import Notice
from sagewatch.progress import ProgressSink, no_progress
from sagewatch.remediation import RemediationRequest
from sagewatch.settings import (
    MonitorSettings,
    Notifications,
    OrgSettings,
    RemediateSettings,
    ReportSettings,
    ScanChunkSettings,
    ScanSettings,
    SlackActionsSettings,
    Thresholds,
)
from sagewatch.webhook import WebhookPoster


def publisher(clients: Clients, notifications: Notifications, bus: str = "default") -> StackNotifier:
    """The stack's topic (unless notifications are left to the central account), the routing table's routes
    (read from SSM, cached), with copies of cost summaries and remediation notices on the bus."""
    n = notifications
    topic = TopicPublisher(clients.sns(), n.topic_arn, chatbot=n.chatbot)
    table = load_routing(n.routing_parameter, n.email_domains)
    router = None
    if table is not None:
        sender = RouteSender(clients, email_from=n.email_from, chatbot=n.chatbot, slack_url_prefix=n.slack_url_prefix)
        router = Router(table, sender, n.copy_all_to_default)
    return StackNotifier(topic if n.local else None, FindingEvents(clients.events(), bus), router)


def readers(
    clients: Clients,
    *,
    scaling: bool = True,
    configs: ConfigArchive | None = None,
    progress: ProgressSink = no_progress,
    only: Sequence[str] = (),
) -> tuple[SageMakerInventory, CloudWatchMetrics]:
    """What a read-only scan (with the variants' auto scaling) or cost report (without) needs; `configs` keeps
    endpoint config descriptions between scans; `progress` hears how far discovery and metric reads are; `only`:
    just these endpoints (described by name, never listed)."""
    reader = ScalingReader(clients.autoscaling(), clients.cloudwatch()) if scaling else None
    inventory = SageMakerInventory(
        clients.sagemaker(),
        scaling=reader,
        tags=EndpointTags(clients.tagging()),
        configs=configs,
        progress=progress,
        only=only,
    )
    return inventory, CloudWatchMetrics(clients.cloudwatch(), progress)


def serving_checks(clients: Clients, cache: DailyCache, *, account: str | None, region: str) -> ServingReader:
    """The keep-serving checks' reads of one account and region (quotas and dependencies kept a day in `cache`)."""
    return ServingReader(
        sagemaker=clients.sagemaker(),
        quotas=clients.service_quotas(),
        s3=clients.s3(),
        ecr=clients.ecr(),
        iam=clients.iam(),
        logs=clients.logs(),
        cache=cache,
        scope=f"{account}/{region}",
        account=account,
    )


def scan_dependencies(
    settings: ScanSettings, account: str | None, clients: Clients | None = None, catalog: Catalog | None = None
) -> ScanDependencies:
    """Cheap to call per invocation when the clients and the catalog are made once, at cold start."""
    clients = clients or Clients(settings.region)
    inventory, metrics = readers(clients, configs=TableConfigArchive(clients.dynamodb(), settings.state_table))
    return ScanDependencies(
        inventory=inventory,
        metrics=metrics,
        publisher=publisher(clients, settings.notifications),
        events=FindingEvents(clients.events(), settings.event_bus),
        state=StateStore(clients.dynamodb(), settings.state_table),
        lock=TableLock(clients.dynamodb(), settings.state_table, "scan") if settings.scan_lock else None,
        catalog=catalog or Catalog.load(settings.catalog_path),
        account=account,
        owners=TrailOwners(
            clients.cloudtrail() if settings.owner_lookups else None,
            TableOwnerCache(clients.dynamodb(), settings.state_table),
            f"{account}/{settings.region}",
            budget=settings.owner_lookups,
        ),
        serving=serving_checks(
            clients, TableDailyCache(clients.dynamodb(), settings.state_table), account=account, region=settings.region
        ),
        aws_view=aws_view(clients, TableDailyCache(clients.dynamodb(), settings.state_table), account=account),
        fan_out=fan_out(clients, settings, inventory),
    )


def fan_out(clients: Clients, settings: ScanSettings, lister: SageMakerInventory) -> FanOut | None:
    """The stack's fan-out state machine, where it has one (and a bucket for its chunks' parts)."""
    if settings.fan_out_state_machine is None or settings.bucket is None:
        return None
    return FanOut(
        threshold=settings.fan_out_endpoints,
        concurrency=settings.fan_out_concurrency,
        lister=lister,
        parts=BucketScanParts(clients.s3(), settings.bucket),
        executions=StepFunctionsExecutions(clients.stepfunctions(), settings.fan_out_state_machine),
    )


def chunk_dependencies(
    settings: ScanChunkSettings, clients: Clients, catalog: Catalog, account: str | None
) -> ChunkDependencies:
    """A fan-out chunk's reads: the scan's inventory over the chunk's listed endpoints, its metrics, the deep
    scans' conclusions (an hourly run carries them), its endpoints' dependency checks (kept a day in the state
    table, as the scan function keeps them), the bucket it writes its part to."""
    inventory, metrics = readers(clients, configs=TableConfigArchive(clients.dynamodb(), settings.state_table))
    state = StateStore(clients.dynamodb(), settings.state_table)

    def conclusions() -> Conclusions:
        try:
            state.load()  # reads the conclusions with the rest (a table per stack: a few thousand items)
        except StateUnavailableError:
            return Conclusions()  # nothing carried: these endpoints judged in full, as a deep scan would
        return state.conclusions()

    return ChunkDependencies(
        inventory=inventory.given,
        metrics=metrics,
        catalog=catalog,
        conclusions=conclusions,
        parts=BucketScanParts(clients.s3(), settings.bucket),
        serving=serving_checks(
            clients, TableDailyCache(clients.dynamodb(), settings.state_table), account=account, region=settings.region
        ),
    )


def aws_view(clients: Clients, cache: DailyCache | None, *, account: str | None) -> ComputeOptimizerReader:
    """Compute Optimizer's idle recommendations of one account and region, and Cost Optimization Hub's for its
    SageMaker endpoints, each kept a day in `cache`."""
    scope = f"{account or '-'}/{clients.region}"
    hub = CostOptimizationHubReader(clients.cost_optimization_hub(), cache, scope, clients.region)
    return ComputeOptimizerReader(clients.compute_optimizer(), cache, scope, hub)


def weekly_dependencies(
    settings: ReportSettings, account: str | None, clients: Clients | None = None, catalog: Catalog | None = None
) -> WeeklyDependencies:
    clients = clients or Clients(settings.region)
    inventory, metrics = readers(clients)  # with auto scaling: an auto scaled floor is what off-hours lowers
    cache = TableDailyCache(clients.dynamodb(), settings.state_table) if settings.state_table else None
    return WeeklyDependencies(
        inventory=inventory,
        metrics=metrics,
        catalog=catalog or Catalog.load(),
        archive=ReportStore(clients.s3(), settings.bucket),
        publisher=publisher(clients, settings.notifications),
        account=account,
        commitments=commitments_reader(clients, cache, account, settings.commitment_options)
        if settings.commitments
        else None,
    )


def commitments_reader(
    clients: Clients, cache: DailyCache | None, account: str | None, options: CommitmentOptions
) -> CommitmentsReader:
    """Savings Plans and Cost Explorer (payer-wide where the account may read it), kept a day per account."""
    return CommitmentsReader(clients.ce(), clients.savingsplans(), cache, f"{account or '-'}/commitments", options)


def monitor_dependencies(settings: MonitorSettings, account: str | None, clients: Clients) -> MonitorDependencies:
    return MonitorDependencies(
        source=MonitorReader(
            clients.sagemaker(),
            clients.s3(),
            f"arn:{clients.session.get_partition_for_region(settings.region)}:sagemaker:{settings.region}:{account}:endpoint/"
            if account
            else None,
        ),
        publisher=publisher(clients, settings.notifications),
        events=FindingEvents(clients.events(), settings.event_bus),
        region=settings.region,
        account=account,
    )


def org_dependencies(settings: OrgSettings, clients: Clients) -> OrgDependencies:
    """The central account's aggregator, digest and cost report: the org table, the central topic (always
    local: it is where the organization's notifications go), account names from Organizations, and Savings
    Plans with Cost Explorer's advice for the cost report."""
    n = settings.notifications
    return OrgDependencies(
        store=OrgStore(clients.dynamodb(), settings.org_table),
        publisher=TopicPublisher(clients.sns(), n.topic_arn, chatbot=n.chatbot),
        names=AccountNames(clients.organizations()),
        alerts_per_member_hour=settings.alerts_per_member_hour,
        records_per_member=settings.records_per_member,
        # read weekly, with the report (no day's cache: the org table is not the state table); 8 requests a week
        commitments=commitments_reader(clients, None, None, settings.commitment_options)
        if settings.commitments
        else None,
    )


def org_archive(settings: OrgSettings, clients: Clients) -> OrgReportStore:
    return OrgReportStore(clients.s3(), settings.bucket)


class _NoAnnouncement:
    """--local without --topic-arn: the caller reads the answer; nothing is published."""

    def publish(self, notice: Notice) -> list[str]:
        return [""]


def remediation_dependencies(
    clients: Clients,
    *,
    bucket: str | None,
    announcer: Notifier,
    thresholds: Thresholds,
    account: str | None,
    catalog: Catalog | None = None,
    requested_by: Mapping[str, Any] | None = None,
) -> RemediationDependencies:
    return RemediationDependencies(
        actor=RemediationTarget(clients.sagemaker(), clients.s3(), clients.autoscaling(), clients.cloudwatch(), bucket),
        metrics=CloudWatchMetrics(clients.cloudwatch()),
        announcer=announcer,
        catalog=catalog or Catalog.load(),
        thresholds=thresholds,
        account=account,
        requested_by=requested_by,
    )


def function_remediation(
    settings: RemediateSettings,
    account: str,
    clients: Clients,
    catalog: Catalog,
    requested_by: Mapping[str, Any] | None = None,
) -> RemediationDependencies:
    """The remediation function's dependencies (its own settings): notices to the stack's topic and bus."""
    return remediation_dependencies(
        clients,
        bucket=settings.bucket,
        announcer=publisher(clients, settings.notifications),
        thresholds=settings.thresholds,
        account=account,
        catalog=catalog,
        requested_by=requested_by,
    )


def slack_actions_dependencies(
    settings: SlackActionsSettings, clients: Clients, own_arn: str
) -> SlackActionsDependencies:
    """The Slack app's function: Apply tokens in the idempotency table, the remediation function, itself
    asynchronously, and Slack's response_url (only ever a URL with the Slack prefix)."""

    def post(url: str, message: Mapping[str, Any]) -> None:
        WebhookPoster(url, prefix=settings.slack_url_prefix).post(dict(message))

    return SlackActionsDependencies(
        tokens=SlackTokens(clients.dynamodb(), settings.tokens_table),
        remediation=RemediationFunction(clients.lambda_(), settings.remediate_function),
        enqueue=SelfInvoke(clients.lambda_(), own_arn),
        post=post,
    )


class NoRemediationFunctionError(Exception):
    """The stack does not exist here, or was deployed without its remediation function (Remediation=disabled)."""


def _stack_function(clients: Clients, stack: str) -> str:
    cfn = clients.session.client("cloudformation", region_name=clients.region)
    try:
        resource = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="RemediateFunction")
    except ClientError as exc:
        # CloudFormation answers ValidationError both for a stack that does not exist and for a resource it lacks
        if error_code(exc) in ("ValidationError", "ResourceNotFound", "ResourceNotFoundException"):
            raise NoRemediationFunctionError(
                f"stack {stack} in {clients.region} has no remediation function ({error_message(exc)}): add --local "
                "to plan with your own credentials, or deploy the stack with Remediation=enabled"
            ) from None
        raise
    return str(resource["StackResourceDetail"]["PhysicalResourceId"])


def remediation_deployed(clients: Clients, stack: str = "sagewatch") -> bool:
    """Whether the stack here has its remediation function: findings' commands invoke it, else carry --local.
    Not readable (denied, no network) counts as not deployed: a --local dry run works either way."""
    try:
        _stack_function(clients, stack)
    except (NoRemediationFunctionError, ClientError, BotoCoreError):
        return False
    return True


def invoke_remediation(
    clients: Clients, request: dict[str, Any], *, function: str | None, stack: str
) -> dict[str, Any]:
    """Invoke the deployed remediation function (found through its stack unless named) and return its answer."""
    function = function or _stack_function(clients, stack)
    # Lambda does not tell a function who invoked it: the CLI says who it is (as its credentials show) in the
    # client context, and the function records it as claimed; CloudTrail's Invoke data events have the proof.
    caller = caller_identity(clients)
    return RemediationFunction(clients.lambda_(), function).run(request, {"requested_by": caller or ""})


def caller_identity(clients: Clients) -> str | None:
    """The ARN of the credentials in use (sts:GetCallerIdentity needs no permission)."""
    try:
        return str(clients.sts().get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError):
        return None


def deployed_thresholds(clients: Clients, *, function: str | None, stack: str) -> Thresholds | None:
    """The thresholds the deployed remediation function uses (its environment), or None when it cannot be
    read: the idle re-check of `remediate --local` then matches what the function would check."""
    try:
        name = function or _stack_function(clients, stack)
        client = clients.session.client("lambda", region_name=clients.region)
        env = client.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
    except (NoRemediationFunctionError, ClientError, BotoCoreError):
        return None
    return Thresholds.from_env(env)


def local_remediation(
    clients: Clients, request: RemediationRequest, *, bucket: str | None, topic_arn: str | None, thresholds: Thresholds
) -> dict[str, Any]:
    """The same use case with the caller's own credentials (no idempotency table: keep request ids unique)."""
    deps = remediation_dependencies(
        clients,
        requested_by={"principal": caller_identity(clients), "source": "credentials", "verified": True},
        bucket=bucket,
        announcer=TopicPublisher(clients.sns(), topic_arn) if topic_arn else _NoAnnouncement(),
        thresholds=thresholds,
        account=clients.account_id(),
    )
    return answer(request, deps)


def stack_catalog(
    clients: Clients, *, bucket: str | None, region: str, path: Path | None = None
) -> tuple[Catalog, str | None]:
    """The catalog a function prices with, loaded once at cold start: an explicit file, else the region's
    catalog the refresh keeps in the stack bucket, else the bundled one (the reports then warn whose prices
    they are). Returns it, and why the stored one was not used (None when it was, or none was looked for)."""
    if path is not None:
        return Catalog.load(path), None
    if bucket:
        stored, problem = CatalogStore(clients.s3(), bucket).get(region)
        if stored is not None:
            return stored, None
        return Catalog.load(), problem
    return Catalog.load(), None


def catalog_refresh(clients: Clients, bucket: str) -> tuple[PriceList, CatalogStore]:
    return PriceList(clients.pricing()), CatalogStore(clients.s3(), bucket)
