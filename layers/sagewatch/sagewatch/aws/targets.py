"""Which accounts and regions the CLI scans, and credentials for each: the regions where SageMaker is
available and enabled for the account, the accounts of a file or of the organization, a read-only role
assumed in each (org/scan-role.yaml)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import Clients, error_code, error_message
from sagewatch.aws.org_accounts import organization_accounts
from sagewatch.multiscan import TargetFailure
from sagewatch.scan_report import ScanReport

_ACCOUNT = re.compile(r"^\d{12}$")
MAX_TARGET_WORKERS = 4  # each scan is itself concurrent (discovery pool, three metric batches at a time)


class TargetError(ValueError):
    """A list of accounts or regions that cannot be used; the message names the problem."""


def enabled_regions(clients: Clients) -> list[str]:
    """Regions where SageMaker exists and the account is enabled (opt-in regions only once opted in)."""
    sagemaker = set(clients.session.get_available_regions("sagemaker"))
    answer = clients.ec2().describe_regions(AllRegions=False)["Regions"]
    enabled = {r["RegionName"] for r in answer if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"}
    return sorted(sagemaker & enabled)


def accounts_from_file(path: Path) -> list[str]:
    """One 12-digit account id per line (anything after it on the line, and # comments, ignored)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetError(f"--accounts {path}: {exc.strerror or exc}") from None
    accounts = []
    for number, line in enumerate(text.splitlines(), 1):
        word = line.split("#", 1)[0].strip().split(maxsplit=1)
        if not word:
            continue
        if not _ACCOUNT.match(word[0]):
            raise TargetError(f"--accounts {path}, line {number}: {word[0][:40]!r} is not a 12-digit account id")
        accounts.append(word[0])
    if not accounts:
        raise TargetError(f"--accounts {path} lists no account")
    return sorted(set(accounts))


def org_accounts(clients: Clients) -> list[str]:
    return [account for account, _ in organization_accounts(clients.organizations())]


@dataclass(frozen=True)
class Target:
    account: str | None  # None: the caller's own credentials
    region: str


class Credentials:
    """Assumed-role sessions, one AssumeRole per account (its credentials serve every region)."""

    def __init__(self, base: Clients, role_name: str | None):
        self.base = base
        self.role_name = role_name
        self._sessions: dict[str, dict[str, str]] = {}

    def clients(self, target: Target) -> Clients:
        if target.account is None or self.role_name is None:
            return Clients(target.region, boto3.session.Session(region_name=target.region))
        if target.account not in self._sessions:
            partition = self.base.session.get_partition_for_region(target.region)
            role = f"arn:{partition}:iam::{target.account}:role/{self.role_name}"
            creds = self.base.sts().assume_role(RoleArn=role, RoleSessionName="sagewatch-scan")["Credentials"]
            self._sessions[target.account] = {
                "aws_access_key_id": creds["AccessKeyId"],
                "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"],
            }
        c = self._sessions[target.account]
        session = boto3.session.Session(
            aws_access_key_id=c["aws_access_key_id"],
            aws_secret_access_key=c["aws_secret_access_key"],
            aws_session_token=c["aws_session_token"],
            region_name=target.region,
        )
        return Clients(target.region, session)


def scan_targets(
    targets: Sequence[Target],
    credentials: Credentials,
    scan: Callable[[Clients, Target], ScanReport],
    done: Callable[[int, int, Target], Any] = lambda i, n, t: None,
) -> tuple[list[ScanReport], list[TargetFailure]]:
    """Every target scanned, a few at a time; a target that fails (role, region, AWS) is a failure in the
    answer, never a lost account."""
    reports: list[ScanReport] = []
    failures: list[TargetFailure] = []

    def one(target: Target) -> ScanReport:
        return scan(credentials.clients(target), target)

    with ThreadPoolExecutor(max_workers=max(1, min(MAX_TARGET_WORKERS, len(targets)))) as pool:
        futures = {pool.submit(one, t): t for t in targets}
        for i, future in enumerate(as_completed(futures), 1):
            target = futures[future]
            try:
                reports.append(future.result())
            except ClientError as exc:
                failures.append(
                    TargetFailure(target.account, target.region, f"{error_code(exc)}: {error_message(exc)[:300]}")
                )
            except BotoCoreError as exc:
                failures.append(TargetFailure(target.account, target.region, f"{type(exc).__name__}: {str(exc)[:300]}"))
            done(i, len(targets), target)
    return reports, sorted(failures, key=lambda f: (f.account or "", f.region))
