"""Account names and the organization's accounts, from AWS Organizations (optional: a central account that is
neither the management account nor a delegated administrator cannot ask, and sagewatch then shows ids)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.bounds import bounded

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient

LOOKUPS_PER_RUN = 20  # Organizations allows a few calls a second; names are cached for a week


class AccountNames:
    def __init__(self, client: OrganizationsClient | Any):
        self.client = client
        self.problem: str | None = None  # why names could not be read (said once in the log)

    def lookup(self, accounts: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
        """Names of `accounts` not in `known` (at most LOOKUPS_PER_RUN); stops at the first refusal."""
        found: dict[str, str] = {}
        for account in [a for a in sorted(set(accounts)) if a not in known][:LOOKUPS_PER_RUN]:
            try:
                name = self.client.describe_account(AccountId=account)["Account"].get("Name")
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "AccountNotFoundException":
                    continue
                self.problem = f"organizations:DescribeAccount: {code}"
                break
            except BotoCoreError as exc:
                self.problem = f"organizations:DescribeAccount: {type(exc).__name__}"
                break
            if name:
                found[account] = bounded(name, 64)
        return found


def organization_accounts(client: OrganizationsClient | Any) -> list[tuple[str, str]]:
    """Every ACTIVE account of the organization: (id, name)."""
    out = []
    for page in client.get_paginator("list_accounts").paginate():
        for account in page.get("Accounts", []):
            if account.get("Status", "ACTIVE") == "ACTIVE":
                out.append((str(account["Id"]), bounded(account.get("Name", ""), 64)))
    return out
