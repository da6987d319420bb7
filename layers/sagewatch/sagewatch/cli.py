"""`python -m sagewatch`: the read-only scan, cost report and catalog tools, and remediation by hand."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shlex
import shutil
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
from pydantic import ValidationError as PydanticValidationError

from sagewatch import __version__
from sagewatch.app.catalog import regional_catalog
from sagewatch.app.scan import attach_owners, preview_digest, run_scan
from sagewatch.app.weekly import cost_report
from sagewatch.aws.clients import Clients, UnreachableError, error_code, error_message
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
    aws_view,
    commitments_reader,
    deployed_thresholds,
    invoke_remediation,
    local_remediation,
    readers,
    serving_checks,
)
from sagewatch.catalog import Catalog, CatalogError
from sagewatch.commands import command_of
from sagewatch.commitments import PAYMENT_CHOICES, TERM_CHOICES, CommitmentOptions
from sagewatch.costrender import render_html, to_csv
from sagewatch.costrender import render_table as render_cost_table
from sagewatch.costs import CostReport
from sagewatch.multiscan import MultiScanReport
from sagewatch.multiscan import render_table as render_multi_table
from sagewatch.notify.digest import render_chatbot, render_email, render_slack, subject
from sagewatch.progress import TerminalProgress
from sagewatch.remediation import ACTIONS as REMEDIATION_ACTIONS
from sagewatch.remediation import RemediationRequest, describe_validation_error
from sagewatch.scan_report import ScanReport, render_table
from sagewatch.settings import (
    SettingsError,
    Thresholds,
    owner_tag_keys,
    provisioned_concurrency_rate,
    threshold_flags,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_REPORT_DAYS = 90  # hourly datapoints: 2,160 per metric, well inside CloudWatch's 455 days of hourly data


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for a mistyped flag, subcommand or choice (Python 3.14 has it built in)."""

    def error(self, message: str) -> NoReturn:
        hint = _did_you_mean(self, message)
        super().error(message + (f" (did you mean {hint}?)" if hint else ""))


def _did_you_mean(parser: argparse.ArgumentParser, message: str) -> str | None:
    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        options = re.findall(r"'?([\w.-]+)'?", choice.group(2))
        close = difflib.get_close_matches(choice.group(1), options, n=1, cutoff=0.6)
        return close[0] if close else None
    unknown = re.search(r"unrecognized arguments: (\S+)", message)
    if unknown:
        flags = sorted(_flags(parser))
        close = difflib.get_close_matches(unknown.group(1).split("=")[0], flags, n=1, cutoff=0.6)
        return close[0] if close else None
    return None


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every flag of the parser and its subcommands (the top parser reports a subcommand's unknown flags)."""
    out: set[str] = set()
    for action in parser._actions:  # argparse has no public list of its actions
        out.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= _flags(sub)
    return out


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sagewatch", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sagewatch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = commands.add_parser(
        "scan", help="scan every endpoint of a region, or of several accounts and regions (read-only)"
    )
    scan.add_argument(
        "--format", choices=["table", "json"], default="table", help="a table (default), or JSON (the report schema)"
    )
    many = scan.add_mutually_exclusive_group()
    many.add_argument(
        "--regions", metavar="R1,R2", type=_regions, help="scan these regions (concurrently), one merged report"
    )
    many.add_argument(
        "--all-regions", action="store_true", help="scan every region where SageMaker is enabled for the account"
    )
    scan.add_argument(
        "--role-name",
        metavar="ROLE",
        help="assume this read-only role in each account of --accounts (org/scan-role.yaml creates it)",
    )
    scan.add_argument(
        "--accounts",
        metavar="FILE|org",
        help="the accounts to scan: a file of account ids (one per line), or `org` for every active account "
        "of the organization (needs organizations:ListAccounts)",
    )
    preview = commands.add_parser(
        "preview-notification", help="print the digest a scan of the region would send (read-only, sends nothing)"
    )
    preview.add_argument(
        "--format", choices=["email", "slack", "chatbot"], required=True, help="which rendering of the digest to print"
    )
    preview.add_argument(
        "--remediation",
        choices=["disabled", "enabled"],
        default="disabled",
        help="the stack's Remediation parameter, which decides the commands and buttons a digest carries: "
        "disabled (the stack's default) prints the read-only --local commands, enabled the remediation "
        "function's (default: disabled)",
    )
    scan.add_argument(
        "--owner-lookup",
        action="store_true",
        help="ask CloudTrail who created the endpoints no owner tag names (LookupEvents: at most 20 calls, "
        "answers cached in ~/.cache/sagewatch/owners.json)",
    )
    for command in (scan, preview):
        command.add_argument(
            "--owner-tags",
            metavar="K1,K2",
            default="",
            help="tag keys naming an owner, first wins (default: "
            "owner,team,created-by,contact; SageMaker Studio's tags are always read)",
        )
        command.add_argument("--region", help="AWS region (default: AWS_REGION or your profile's)")
        command.add_argument(
            "--catalog",
            type=Path,
            help="instance catalog JSON (default: the region's cached one, else the bundled one)",
        )
        for name, (flag, text, default) in threshold_flags().items():
            shown, meta = (default, "ZONE") if isinstance(default, str) else (f"{default:g}", "N")
            command.add_argument(flag, dest=name, metavar=meta, help=f"{text} (default {shown})")

    cost = commands.add_parser(
        "report", help="what each endpoint, variant and inference component cost, how busy, what was wasted (read-only)"
    )
    cost.add_argument(
        "--format",
        choices=["table", "csv", "html", "json"],
        default="table",
        help="a table (default), CSV, one self-contained HTML page, or JSON",
    )
    cost.add_argument(
        "--days", type=_days, default=7, metavar="N", help="the period: N days to the last full hour (1-90, default 7)"
    )
    cost.add_argument("--output", type=_output, help="write here instead of standard output")
    cost.add_argument("--region", help="AWS region (default: AWS_REGION or your profile's)")
    cost.add_argument(
        "--catalog", type=Path, help="instance catalog JSON (default: the region's cached one, else the bundled one)"
    )
    name, (flag, text, default) = "target_utilization_pct", threshold_flags()["target_utilization_pct"]
    cost.add_argument(flag, dest=name, metavar="N", help=f"{text}; waste is measured against it (default {default:g})")
    name, (flag, text, default) = "schedule_timezone", threshold_flags()["schedule_timezone"]
    cost.add_argument(flag, dest=name, metavar="ZONE", help=f"{text} (default {default})")
    cost.add_argument(
        "--no-commitments",
        dest="commitments",
        action="store_false",
        help="leave out SageMaker Savings Plans and Cost Explorer's recommendation (otherwise read: at most 8 Cost "
        "Explorer requests at $0.01, kept a day)",
    )
    cost.add_argument(
        "--savings-plans-term",
        choices=sorted(TERM_CHOICES),
        default="1y",
        help="the term of the Savings Plans recommendation (default 1y)",
    )
    cost.add_argument(
        "--savings-plans-payment",
        choices=sorted(PAYMENT_CHOICES),
        default="no-upfront",
        help="its payment option (default no-upfront)",
    )

    fix = commands.add_parser(
        "remediate",
        help="plan (dry run, the default) or carry out one action on one endpoint through the remediation function",
    )
    fix.add_argument(
        "action",
        choices=list(REMEDIATION_ACTIONS),
        help="what to do (a finding's command names it): "
        + "; ".join(f"{name}: {spec.summary}" for name, spec in REMEDIATION_ACTIONS.items()),
    )
    fix.add_argument("--endpoint", required=True, help="the endpoint to act on")
    fix.add_argument("--variant", help="the variant (needed when the endpoint has several)")
    fix.add_argument("--instance-type", help="resize-variant: the new instance type")
    fix.add_argument("--instance-count", type=int, help="resize-variant, set-instance-count: the new count")
    fix.add_argument(
        "--min-capacity", type=int, help="set-scaling-limits, resize-variant of an auto scaled variant: the new minimum"
    )
    fix.add_argument(
        "--max-capacity", type=int, help="set-scaling-limits, resize-variant of an auto scaled variant: the new maximum"
    )
    fix.add_argument(
        "--snapshot",
        help="restore-endpoint: the snapshot key a run returned; with --resume-from: the snapshot of the run to resume",
    )
    fix.add_argument(
        "--resume-from",
        type=int,
        metavar="STEP",
        help="go on with a run that stopped half way, from this step of its plan (its answer gives the command)",
    )
    fix.add_argument(
        "--schedule",
        type=_schedule_json,
        metavar="JSON",
        help="schedule-scaling: the finding's recommendation.schedule (JSON, as its command gives it)",
    )
    fix.add_argument("--expect-instance-type", help="what the finding saw (refused if it changed)")
    fix.add_argument("--expect-instance-count", type=int, help="what the finding saw (refused if it changed)")
    fix.add_argument("--expect-idle", action="store_true", help="refuse if the endpoint served requests since")
    fix.add_argument("--finding-id", help="the finding this carries out (kept in the audit record)")
    fix.add_argument(
        "--expect-max-capacity",
        type=int,
        help="the auto scaling maximum the finding recommends: a maximum may grow to it, never past it",
    )
    fix.add_argument(
        "--expect-plan-digest",
        metavar="SHA256",
        help="the dry run's plan digest: the real run carries out that plan or nothing",
    )
    fix.add_argument("--execute", action="store_true", help="carry it out (needs --confirm ENDPOINT)")
    fix.add_argument("--confirm", help="the endpoint name again, for a real run")
    fix.add_argument("--request-id", help="unique id of a real run (default: a new one, printed)")
    fix.add_argument("--force", action="store_true", help="act even if the endpoint no longer matches the finding")
    fix.add_argument(
        "--allow-accelerator-change",
        action="store_true",
        help="resize-variant across CPU / GPU / Inferentia / Trainium (a real run needs --force too)",
    )
    fix.add_argument("--region", help="AWS region (default: AWS_REGION or your profile's)")
    where = fix.add_mutually_exclusive_group()
    where.add_argument("--stack-name", default="sagewatch", help="stack whose RemediateFunction to invoke")
    where.add_argument("--function-name", help="remediation function to invoke (name or ARN)")
    where.add_argument("--local", action="store_true", help="act with your own credentials instead of the function")
    fix.add_argument("--bucket", help="--local: bucket for snapshots and audit records")
    fix.add_argument(
        "--idle-hours",
        metavar="N",
        help="--local: the idle window an idle finding is re-checked over "
        "(default: the deployed function's IdleHours, else 24)",
    )
    fix.add_argument("--topic-arn", help="--local: topic to announce executed actions on")

    catalog = commands.add_parser("catalog", help="the instance type and price catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    refresh = catalog_commands.add_parser("refresh", help="rebuild the catalog from the AWS Price List API")
    refresh.add_argument("--region", required=True, help="region whose prices to fetch")
    target = refresh.add_mutually_exclusive_group()
    target.add_argument("--output", type=_output, help="write here instead of standard output")
    target.add_argument(
        "--cache",
        action="store_true",
        help="keep it in ~/.cache/sagewatch/, where scan and report find it for that region",
    )
    refresh.add_argument(
        "--provisioned-concurrency-price",
        metavar="USD",
        default="",
        help="serverless provisioned concurrency, USD per GB-second, from your SageMaker pricing page "
        "(not in the Price List answer sagewatch reads; without it provisioned concurrency is unpriced)",
    )
    return parser


def _regions(text: str) -> str:
    """--regions: one or more region names, comma-separated (an empty value is a mistake, not "this region")."""
    regions = sorted({r.strip() for r in text.split(",") if r.strip()})
    if not regions:
        raise argparse.ArgumentTypeError("name at least one region (like us-east-1,eu-west-1)")
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise argparse.ArgumentTypeError(f"{', '.join(repr(r[:40]) for r in bad)} is not an AWS region name")
    return ",".join(regions)


def _output(text: str) -> Path:
    """--output: a file in a directory that exists and can be written (checked before any AWS call)."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory: name a file in it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text} cannot be written (permissions)")
    return path


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= days <= MAX_REPORT_DAYS:
        raise argparse.ArgumentTypeError(f"{days} is outside 1-{MAX_REPORT_DAYS} days")
    return days


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


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
            *readers(clients, configs=FileConfigArchive(cache_dir() / "endpoint-configs.json"), progress=progress),
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
    return _with_owners(report, clients, args, now)


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
    return bool(args.regions or args.all_regions or args.role_name or args.accounts)


def _targets(args: argparse.Namespace, base: Clients) -> list[Target]:
    if bool(args.role_name) != bool(args.accounts):
        raise CliError("--role-name and --accounts go together: the role is assumed in each of the accounts")
    if args.region and (args.regions or args.all_regions):
        raise CliError("--region names one region; use --regions R1,R2 or --all-regions for several, not both")
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


def _scan_many(args: argparse.Namespace) -> MultiScanReport:
    thresholds = _thresholds(args)
    base = _connect(_clients(args.region))
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


def _schedule_json(text: str) -> dict[str, Any]:
    """--schedule: a JSON object (checked in full by the remediation request)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise argparse.ArgumentTypeError("must be a JSON object with timezone and scheduled_actions")
    return doc


def _local_thresholds(args: argparse.Namespace, clients: Clients) -> Thresholds:
    """--idle-hours, else what the deployed function uses, else the defaults (said on stderr)."""
    if args.idle_hours is not None:
        try:
            return Thresholds.from_strings({"idle_hours": args.idle_hours}, by="flag")
        except SettingsError as exc:
            raise CliError(str(exc)) from exc
    deployed = deployed_thresholds(clients, function=args.function_name, stack=args.stack_name)
    if deployed is None:
        print(f"note: stack {args.stack_name} not readable: idle re-check over the default 24 h", file=sys.stderr)
        return Thresholds()
    return deployed


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
        result = invoke_remediation(clients, raw, function=args.function_name, stack=args.stack_name)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "scan": cmd_scan,
        "preview-notification": cmd_preview,
        "remediate": cmd_remediate,
        "report": cmd_report,
    }
    try:
        return commands.get(args.command, cmd_catalog_refresh)(args)
    except CliError as exc:
        print(f"sagewatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UnreachableError as exc:
        print(f"sagewatch: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except NoCredentialsError:
        print("sagewatch: error: no AWS credentials found (see the AWS CLI's `aws configure`)", file=sys.stderr)
        return EXIT_FAILED
    except NoRegionError:
        print("sagewatch: error: no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
        return EXIT_USAGE
    except (ClientError, CatalogError) as exc:
        detail = f"{error_code(exc)}: {error_message(exc)}" if isinstance(exc, ClientError) else str(exc)
        print(f"sagewatch: error: {detail}", file=sys.stderr)
        return EXIT_FAILED
    except BotoCoreError as exc:
        print(f"sagewatch: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
