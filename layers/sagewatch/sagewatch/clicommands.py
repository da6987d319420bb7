"""The CLI's commands (sagewatch.cli parses the arguments and calls them): scan, preview-notification, report,
remediate and catalog refresh, with the AWS SDK and the use cases they need."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import NoRegionError
from pydantic import ValidationError as PydanticValidationError

from sagewatch.app.catalog import regional_catalog
from sagewatch.app.judge import run_scan
from sagewatch.app.scan import attach_owners, preview_digest
from sagewatch.app.weekly import cost_report
from sagewatch.aws.clients import Clients
from sagewatch.aws.cloudtrail import FileOwnerCache, TrailOwners
from sagewatch.aws.config_cache import FileConfigArchive
from sagewatch.aws.pricing import PriceList
from sagewatch.aws.serving import FileDailyCache
from sagewatch.aws.targets import (
    Credentials,
    Target,
    TargetError,
    accounts_from_file,
    enabled_regions,
    org_accounts,
    scan_targets,
)
from sagewatch.aws.wiring import (
    NoRemediationFunctionError,
    aws_view,
    commitments_reader,
    deployed_thresholds,
    invoke_remediation,
    local_remediation,
    readers,
    remediation_deployed,
    serving_checks,
)
from sagewatch.catalog import Catalog, CatalogError
from sagewatch.cli import _REGION, EXIT_FAILED, EXIT_OK, CliError
from sagewatch.commands import command_of
from sagewatch.commitments import CommitmentOptions
from sagewatch.costrender import render_html, to_csv
from sagewatch.costrender import render_table as render_cost_table
from sagewatch.costs import CostReport
from sagewatch.multiscan import MultiScanReport
from sagewatch.multiscan import render_table as render_multi_table
from sagewatch.notify.digest import render_chatbot, render_email, render_slack, subject
from sagewatch.progress import TerminalProgress
from sagewatch.remediation import RemediationRequest, describe_validation_error
from sagewatch.scan_report import ScanReport, render_table
from sagewatch.settings import (
    SettingsError,
    Thresholds,
    owner_tag_keys,
    provisioned_concurrency_rate,
    threshold_flags,
)


def _clients(region: str | None) -> Clients:
    if region is not None and not _REGION.match(region):
        raise CliError(f"--region {region!r} is not an AWS region name (like us-east-1)")
    return Clients.resolve(region)


def _connect(clients: Clients) -> Clients:
    """The first AWS call, once every flag and file is checked: says where it connects (on a terminal) and fails
    in seconds, naming the endpoint, when nothing answers (UnreachableError: main says so, exit 1)."""
    if sys.stderr.isatty():  # a person waits; a script's stderr stays clean (like the progress lines)
        where = os.environ.get("AWS_ENDPOINT_URL") or f"AWS {clients.region}"
        print(f"sagewatch: connecting to {where}...", file=sys.stderr, flush=True)
    clients.probe()
    return clients


def cache_dir() -> Path:
    """Where `catalog refresh --cache` keeps each region's prices (XDG_CACHE_HOME honoured)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sagewatch"


def _catalog(path: Path | None, region: str) -> Catalog:
    """--catalog, else the cached catalog of `region` (catalog refresh --cache), else the bundled one (whose
    prices are us-east-1's: the report then says so)."""
    if path is None:
        cached = cache_dir() / f"catalog-{region}.json"
        path = cached if cached.is_file() else None
    try:
        return Catalog.load(path)
    except CatalogError as exc:
        raise CliError(str(exc)) from exc


def _scan(args: argparse.Namespace) -> ScanReport:
    thresholds = _thresholds(args)
    clients = _clients(args.region)
    catalog = _catalog(args.catalog, clients.region)
    _connect(clients)
    progress = TerminalProgress(sys.stderr)
    now = datetime.now(UTC)
    account = clients.account_id()
    try:
        report = run_scan(
            *readers(
                clients,
                configs=FileConfigArchive(cache_dir() / "endpoint-configs.json"),
                progress=progress,
                only=_endpoint_names(args),
            ),
            catalog,
            thresholds,
            now=now,
            region=clients.region,
            account=account,
            owner_tags=_owner_tags(args),
            serving=serving_checks(
                clients, FileDailyCache(cache_dir() / "daily.json"), account=account, region=clients.region
            ),
            aws_view=aws_view(clients, FileDailyCache(cache_dir() / "daily.json"), account=account),
        )
    finally:
        progress.close()
    report = replace(report, remediation_function=remediation_deployed(clients))
    return _with_owners(report, clients, args, now)


_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # SageMaker's EndpointName pattern


def _endpoint_names(args: argparse.Namespace) -> tuple[str, ...]:
    names = tuple(getattr(args, "endpoints", None) or ())
    bad = [n for n in names if not _ENDPOINT_NAME.match(n)]
    if bad:
        raise CliError(f"--endpoint {bad[0][:80]!r} is not an endpoint name (letters, digits and -, at most 63)")
    return names


def cmd_preview(args: argparse.Namespace) -> int:
    digest = preview_digest(_scan(args), remediation=args.remediation == "enabled")
    if args.format == "email":
        print(f"Subject: {subject(digest)}\n")
        print(render_email(digest))
    elif args.format == "slack":
        print(json.dumps(render_slack(digest), indent=2))
    else:
        print(json.dumps(render_chatbot(digest).to_dict(), indent=2))
    return EXIT_OK


def _multi(args: argparse.Namespace) -> bool:
    several = bool(args.regions or args.all_regions or args.role_name or args.accounts)
    if several and getattr(args, "endpoints", None):
        raise CliError("--endpoint names endpoints of one region: not with --regions, --all-regions or --accounts")
    return several


def _targets(args: argparse.Namespace, base: Clients) -> list[Target]:
    if bool(args.role_name) != bool(args.accounts):
        raise CliError("--role-name and --accounts go together: the role is assumed in each of the accounts")
    if args.region and args.regions and args.region not in {r.strip() for r in args.regions.split(",")}:
        raise CliError(
            f"--region {args.region} is not among --regions {args.regions}: --regions alone names every region"
        )
    if args.all_regions:
        regions = enabled_regions(base)
    elif args.regions:
        regions = sorted({r.strip() for r in args.regions.split(",") if r.strip()})
        bad = [r for r in regions if not _REGION.match(r)]
        if bad or not regions:
            raise CliError(
                f"--regions: {', '.join(repr(r[:40]) for r in bad) or 'none given'} is not an AWS region name"
            )
    else:
        regions = [base.region]
    try:
        accounts: list[str | None] = (
            list(org_accounts(base) if args.accounts == "org" else accounts_from_file(Path(args.accounts)))
            if args.accounts
            else [None]
        )
    except TargetError as exc:
        raise CliError(str(exc)) from exc
    return [Target(a, r) for a in accounts for r in regions]


def _thresholds(args: argparse.Namespace) -> Thresholds:
    try:
        return Thresholds.from_strings({k: getattr(args, k) for k in threshold_flags()}, by="flag")
    except SettingsError as exc:
        raise CliError(str(exc)) from exc


def _owner_tags(args: argparse.Namespace) -> tuple[str, ...]:
    try:
        return owner_tag_keys(args.owner_tags, "--owner-tags")
    except SettingsError as exc:
        raise CliError(str(exc)) from exc


OWNER_LOOKUPS = 20  # the CLI's CloudTrail budget, as the stack's default


def _with_owners(report: ScanReport, clients: Clients, args: argparse.Namespace, now: datetime) -> ScanReport:
    """CloudTrail's owners from the local cache, and (--owner-lookup) from LookupEvents for the rest."""
    lookup = bool(getattr(args, "owner_lookup", False))
    directory = TrailOwners(
        clients.cloudtrail() if lookup else None,
        FileOwnerCache(cache_dir() / "owners.json"),
        f"{report.account}/{report.region}",
        budget=OWNER_LOOKUPS,
    )
    unknown = {f.endpoint for f in report.findings if not f.owner.known}
    report.warnings += attach_owners(report, directory, unknown if lookup else set(), now)
    return report


def _base_clients(args: argparse.Namespace) -> Clients:
    """Where a scan of several regions starts (its account, its regions' list): --region, else the first of
    --regions, else AWS_REGION or the profile's, else us-east-1 (--all-regions asks EC2 there): neither needs
    AWS_REGION."""
    if args.region:
        return _clients(args.region)
    named = [r.strip() for r in (args.regions or "").split(",") if r.strip()]
    if named and _REGION.match(named[0]):
        return _clients(named[0])
    try:
        return Clients.resolve(None)
    except NoRegionError:
        return _clients("us-east-1")


def _scan_many(args: argparse.Namespace) -> MultiScanReport:
    thresholds = _thresholds(args)
    base = _connect(_base_clients(args))
    targets = _targets(args, base)
    catalogs = {t.region: _catalog(args.catalog, t.region) for t in targets}
    configs = FileConfigArchive(cache_dir() / "endpoint-configs.json")
    now = datetime.now(UTC)

    owner_tags = _owner_tags(args)

    daily = FileDailyCache(cache_dir() / "daily.json")

    def scan(clients: Clients, target: Target) -> ScanReport:
        account = target.account or clients.account_id()
        report = run_scan(
            *readers(clients, configs=configs),
            catalogs[target.region],
            thresholds,
            now=now,
            region=target.region,
            account=account,
            owner_tags=owner_tags,
            serving=serving_checks(clients, daily, account=account, region=target.region),
            aws_view=aws_view(clients, daily, account=account),
        )
        report = replace(report, remediation_function=remediation_deployed(clients))
        return _with_owners(report, clients, args, now)

    progress = TerminalProgress(sys.stderr)
    try:
        reports, failures = scan_targets(
            targets, Credentials(base, args.role_name), scan, lambda i, n, _t: progress("targets", i, n)
        )
    finally:
        progress.close()
    return MultiScanReport(now, reports, failures)


def _width() -> int | None:
    """The width tables must fit: $COLUMNS when set, else the terminal's; None when the output goes to a pipe or a
    file (one line per row, for grep and cut)."""
    raw = os.environ.get("COLUMNS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return max(int(raw), 40)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def cmd_scan(args: argparse.Namespace) -> int:
    if _multi(args):
        merged = _scan_many(args)
        if args.format == "json":
            print(json.dumps(merged.to_dict(), indent=2, default=str))
        else:
            print(render_multi_table(merged, _width()))
        for failure in merged.failures:
            print(
                f"sagewatch: not scanned: {failure.account or '-'}/{failure.region}: {failure.error}", file=sys.stderr
            )
        return EXIT_FAILED if merged.failures else EXIT_OK
    report = _scan(args)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print(render_table(report, _width()))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    try:
        defaults = {k: None for k in threshold_flags()}
        thresholds = Thresholds.from_strings(
            defaults
            | {"target_utilization_pct": args.target_utilization_pct, "schedule_timezone": args.schedule_timezone},
            by="flag",
        )
    except SettingsError as exc:
        raise CliError(str(exc)) from exc
    clients = _clients(args.region)
    catalog = _catalog(args.catalog, clients.region)
    _connect(clients)
    account = clients.account_id()
    commitments = None
    if args.commitments:
        options = CommitmentOptions.parse(args.savings_plans_term, args.savings_plans_payment)
        commitments = commitments_reader(clients, FileDailyCache(cache_dir() / "daily.json"), account, options)
    report = cost_report(
        *readers(clients),
        catalog,
        days=args.days,
        target_utilization_pct=thresholds.target_utilization_pct,
        now=datetime.now(UTC),
        region=clients.region,
        account=account,
        schedule_timezone=thresholds.schedule_timezone,
        commitments=commitments,
    )
    width = None if args.output else _width()  # a file keeps one line per row
    renderers: dict[str, Callable[[CostReport], str]] = {
        "table": lambda r: render_cost_table(r, width),
        "csv": to_csv,
        "html": render_html,
        "json": lambda r: json.dumps(r.to_dict(), indent=2) + "\n",
    }
    _write(renderers[args.format](report), args.output, f"the {args.format} report")
    return EXIT_OK


def _write(text: str, output: Path | None, what: str) -> None:
    if output:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {what} to {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def _remediation_request(args: argparse.Namespace) -> dict[str, Any]:
    expect = {
        k: v
        for k, v in {
            "instance_type": args.expect_instance_type,
            "instance_count": args.expect_instance_count,
            "idle": args.expect_idle or None,
            "finding_id": args.finding_id,
            "max_capacity": args.expect_max_capacity,
            "plan_digest": args.expect_plan_digest,
        }.items()
        if v is not None
    }
    request: dict[str, Any] = {"action": args.action, "endpoint": args.endpoint, "dry_run": not args.execute}
    for key in (
        "variant",
        "instance_type",
        "instance_count",
        "min_capacity",
        "max_capacity",
        "snapshot",
        "resume_from",
        "confirm",
    ):
        if getattr(args, key) is not None:
            request[key] = getattr(args, key)
    if args.schedule is not None:
        request["schedule"] = args.schedule
    if expect:
        request["expect"] = expect
    if args.force:
        request["force"] = True
    if args.allow_accelerator_change:
        request["allow_accelerator_change"] = True
    if args.execute:
        request["request_id"] = args.request_id or f"cli-{uuid.uuid4()}"
        print(f"request_id {request['request_id']} (reuse it to retry safely)", file=sys.stderr)
    return request


def _local_thresholds(args: argparse.Namespace, clients: Clients) -> Thresholds:
    """--idle-hours, else what the deployed function uses, else the defaults (said on stderr)."""
    if args.idle_hours is not None:
        try:
            return Thresholds.from_strings({"idle_hours": args.idle_hours}, by="flag")
        except SettingsError as exc:
            raise CliError(str(exc)) from exc
    # no stack (the usual case of --local): the defaults, as the answer's idle window shows
    deployed = deployed_thresholds(clients, function=args.function_name, stack=args.stack_name)
    return Thresholds() if deployed is None else deployed


def cmd_remediate(args: argparse.Namespace) -> int:
    raw = _remediation_request(args)
    try:
        request = RemediationRequest.model_validate(raw)  # the same checks the function makes, before any call
    except PydanticValidationError as exc:
        raise CliError(describe_validation_error(exc)) from exc
    clients = _connect(_clients(args.region))
    if args.local:
        thresholds = _local_thresholds(args, clients)
        result = local_remediation(
            clients, request, bucket=args.bucket, topic_arn=args.topic_arn, thresholds=thresholds
        )
    else:
        try:
            result = invoke_remediation(clients, raw, function=args.function_name, stack=args.stack_name)
        except NoRemediationFunctionError as exc:
            raise CliError(str(exc)) from None
    if "to_execute" in result:  # the function's answer names its payload's fields: here, this command's flags
        extra = " --allow-accelerator-change --force" if result.get("plan", {}).get("accelerator_change") else ""
        digest = result.get("plan", {}).get("digest")
        bound = f" --expect-plan-digest {digest}" if digest else ""
        result["to_execute"] = (
            f"run this command again with --execute --confirm {request.endpoint}{bound}{extra} (a request id is made "
            "and printed; pass it as --request-id to retry safely; the plan digest makes the real run carry out "
            "this plan or nothing)"
        )
    if isinstance(result.get("resume"), dict):  # stopped half way: the command that goes on from there
        region = args.region or clients.region
        bucket = ["--bucket", args.bucket] if args.local and args.bucket else []
        result["resume_command"] = command_of(
            result["resume"], region, local=args.local, function=args.function_name
        ) + "".join(f" {shlex.quote(b)}" for b in bucket)
    print(json.dumps(result, indent=2, default=str))  # once: the answer says why, on stdout
    return EXIT_FAILED if result.get("status") in ("refused", "invalid", "stale") else EXIT_OK


def cmd_catalog_refresh(args: argparse.Namespace) -> int:
    try:
        rate = provisioned_concurrency_rate(args.provisioned_concurrency_price, "--provisioned-concurrency-price")
    except SettingsError as exc:
        raise CliError(str(exc)) from exc
    clients = _connect(_clients(args.region))
    catalog = regional_catalog(
        PriceList(clients.pricing()),
        args.region,
        datetime.now(UTC).date(),
        provisioned_concurrency_rate=rate,
    )
    output = args.output
    if args.cache:
        output = cache_dir() / f"catalog-{args.region}.json"
        output.parent.mkdir(parents=True, exist_ok=True)
    _write(json.dumps(catalog.to_document(), indent=1) + "\n", output, f"{len(catalog)} instance types")
    return EXIT_OK
