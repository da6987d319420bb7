"""`sagewatch` (or `python -m sagewatch`): the read-only scan, cost report and catalog tools, and remediation by
hand. This module parses the command line and nothing more: `--help` and `--version` import no AWS SDK, the
commands themselves live in sagewatch.clicommands (imported once the arguments are known)."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sagewatch import __version__
from sagewatch.commitments import PAYMENT_CHOICES, TERM_CHOICES
from sagewatch.settings import threshold_flags

if TYPE_CHECKING:
    from collections.abc import Callable

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
    """The parser's own flags (a subcommand's unknown flag is refused by that subcommand: _parse)."""
    return {flag for action in parser._actions for flag in action.option_strings}


def _parser(remediation: bool = True) -> argparse.ArgumentParser:
    """The command line; without `remediation`, the remediate command lists no actions (what --help needs)."""
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
            "--endpoint",
            dest="endpoints",
            action="append",
            metavar="NAME",
            default=[],
            help="scan just this endpoint (repeat for more): one DescribeEndpoint each, no listing",
        )
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
    if remediation:  # the actions' registry needs pydantic: only when the command line names remediate
        from sagewatch.remediation import ACTIONS

        fix.add_argument(
            "action",
            choices=list(ACTIONS),
            help="what to do (a finding's command names it): "
            + "; ".join(f"{name}: {spec.summary}" for name, spec in ACTIONS.items()),
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


def _schedule_json(text: str) -> dict[str, Any]:
    """--schedule: a JSON object (checked in full by the remediation request)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise argparse.ArgumentTypeError("must be a JSON object with timezone and scheduled_actions")
    return doc


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; an unknown flag is refused by the subcommand it was given to, with that subcommand's usage
    and a suggestion among its own flags only (argparse would have the top parser refuse it, suggesting any
    subcommand's flag, with the top usage)."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(remediation="remediate" in words)
    args, extra = parser.parse_known_args(words)
    if extra:
        _subcommand(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _subcommand(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)parser that parsed the chosen (sub)command: `catalog refresh` is two levels down."""
    for action in parser._actions:  # argparse has no public list of its actions
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            return _subcommand(chosen, args) if chosen is not None else parser
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    # the commands, and the AWS SDK, once the arguments are known (--help and --version have exited by now)
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    from sagewatch import clicommands as run
    from sagewatch.aws.clients import UnreachableError, error_code, error_message
    from sagewatch.catalog import CatalogError

    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "scan": run.cmd_scan,
        "preview-notification": run.cmd_preview,
        "remediate": run.cmd_remediate,
        "report": run.cmd_report,
    }
    try:
        return commands.get(args.command, run.cmd_catalog_refresh)(args)
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
        if isinstance(exc, ClientError) and "<html" in error_message(exc).lower():
            # a web server's error page, not an AWS answer: an AWS_ENDPOINT_URL that does not serve this API
            where = os.environ.get("AWS_ENDPOINT_URL") or "the AWS endpoint"
            operation = exc.operation_name
            detail = (
                f"{operation}: {where} answered HTTP {error_code(exc)} with a web page, not an AWS answer "
                "(an AWS_ENDPOINT_URL that does not serve this API?)"
            )
        print(f"sagewatch: error: {detail}", file=sys.stderr)
        return EXIT_FAILED
    except BotoCoreError as exc:
        print(f"sagewatch: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
