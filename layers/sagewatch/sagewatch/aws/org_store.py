"""The central account's org table (DynamoDB): every member's latest state, the findings members announced,
their weekly cost summaries and the account names Organizations gave. One item per thing, keyed by `id`:

    member#ACCOUNT#REGION           the member's last scan summary (expires 90 days after it)
    finding#ACCOUNT#REGION#ID       an announced finding, open or waiting for the digest to say resolved
    cost#ACCOUNT#REGION#END         a weekly cost summary (expires after 60 days)
    name#ACCOUNT                    the account's name (expires after 7 days, then asked again)
    records#ACCOUNT#REGION          how many finding records the member has (`n`; bounded per member)
    alerts#ACCOUNT#REGION#HOUR      alerts the member sent that hour (`sent`), held back over the limit
                                    (`held`) and how many of those a digest has told (`told`); 3 days
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sagewatch.aws.clients import conditional_failed
from sagewatch.formats import iso_z
from sagewatch.org import (
    FINDING_RETENTION,
    MEMBER_RETENTION,
    HeldAlerts,
    Member,
    OrgFinding,
    finding_from_doc,
    finding_to_doc,
    member_from_doc,
    member_to_doc,
)
from sagewatch.orgcost import MemberCost

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _version_of_member(m: Member) -> str:
    return f"{iso_z(m.summary.scanned_at)}|{iso_z(m.silent_announced_at) if m.silent_announced_at else ''}"


COST_RETENTION = timedelta(days=60)
NAME_RETENTION = timedelta(days=7)
ALERT_COUNT_RETENTION = timedelta(days=3)


@dataclass
class OrgState:
    members: dict[str, Member] = field(default_factory=dict)
    findings: list[OrgFinding] = field(default_factory=list)
    costs: list[MemberCost] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # keys of items that could not be read back
    held: list[HeldAlerts] = field(default_factory=list)  # alerts held back that no digest has told yet


class OrgStore:
    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table

    # --- reads ---

    def load(self, now: datetime) -> OrgState:
        """Everything (an organization's table holds members x findings: thousands of items at most)."""
        state = OrgState()
        for page in self.client.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                expires = int(item.get("expires_at", {}).get("N", "0"))
                if expires and expires < now.timestamp():
                    continue  # expired, not yet deleted by TTL (that takes up to days)
                key = str(item.get("id", {}).get("S", "?"))
                try:
                    if key.startswith("alerts#"):
                        self._read_alert_count(key, item, state)
                    elif not key.startswith("records#"):
                        self._read(key, json.loads(item["doc"]["S"]), state)
                except (KeyError, TypeError, ValueError):
                    state.unreadable.append(key[:300])
        return state

    @staticmethod
    def _read_alert_count(key: str, item: Mapping[str, Any], state: OrgState) -> None:
        _, account, region, hour = key.split("#", 3)
        held, told = (int(item.get(a, {}).get("N", "0")) for a in ("held", "told"))
        if held > told:
            state.held.append(HeldAlerts(account, region, hour, held - told, held))

    @staticmethod
    def _read(key: str, doc: Mapping[str, Any], state: OrgState) -> None:
        kind = key.split("#", 1)[0]
        if kind == "member":
            member = member_from_doc(doc)
            state.members[member.key] = member
        elif kind == "finding":
            state.findings.append(finding_from_doc(doc))
        elif kind == "cost":
            state.costs.append(MemberCost.from_detail(str(doc["account"]), str(doc["region"]), doc))
        elif kind == "name":
            state.names[key.split("#", 1)[1]] = str(doc["name"])

    def finding(self, key: str) -> OrgFinding | None:
        item = self.client.get_item(TableName=self.table, Key={"id": {"S": f"finding#{key}"}}, ConsistentRead=True)
        if "Item" not in item:
            return None
        return finding_from_doc(json.loads(item["Item"]["doc"]["S"]))

    def member(self, key: str) -> Member | None:
        item = self.client.get_item(TableName=self.table, Key={"id": {"S": f"member#{key}"}}, ConsistentRead=True)
        if "Item" not in item:
            return None
        return member_from_doc(json.loads(item["Item"]["doc"]["S"]))

    # --- writes ---

    def _put(self, key: str, doc: Mapping[str, Any], expires: datetime, version: str = "") -> None:
        self.client.put_item(TableName=self.table, Item=self._item(key, doc, expires, version))

    @staticmethod
    def _item(key: str, doc: Mapping[str, Any], expires: datetime, version: str = "") -> Any:
        return {
            "id": {"S": key},
            "expires_at": {"N": str(int(expires.timestamp()))},  # the table's TTL attribute
            "doc": {"S": json.dumps(doc)},
            "version": {"S": version},  # what settle() checks nothing changed since it read the item
        }

    def put_member(self, m: Member) -> None:
        self._put(f"member#{m.key}", member_to_doc(m), m.summary.scanned_at + MEMBER_RETENTION, _version_of_member(m))

    def put_finding(self, f: OrgFinding) -> None:
        self._put(f"finding#{f.key}", finding_to_doc(f), f.updated_at + FINDING_RETENTION, iso_z(f.updated_at))

    def settle(self, findings: Iterable[OrgFinding], members: Iterable[tuple[Member, Member]]) -> int:
        """After a digest: its findings no longer pending (resolved ones deleted), members' silence marks set.
        Each write only if the item is as read: news that arrived while the digest went out stays pending
        for the next one. Returns how many items had changed."""
        raced = 0
        writes: list[tuple[str, str, Any]] = []
        for f in findings:
            key = f"finding#{f.key}"
            if f.open:
                settled = replace(f, pending=None, previous=None)
                item = self._item(key, finding_to_doc(settled), f.updated_at + FINDING_RETENTION, iso_z(f.updated_at))
                writes.append(("put", iso_z(f.updated_at), item))
            else:
                writes.append(("delete", iso_z(f.updated_at), {"id": {"S": key}}))
        for old, new in members:
            item = self._item(
                f"member#{new.key}",
                member_to_doc(new),
                new.summary.scanned_at + MEMBER_RETENTION,
                _version_of_member(new),
            )
            writes.append(("put", _version_of_member(old), item))
        for op, version, body in writes:
            condition: Any = {
                "TableName": self.table,
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"S": version}},
            }
            try:
                if op == "put":
                    self.client.put_item(Item=body, **condition)
                else:
                    self.client.delete_item(Key=body, **condition)
            except ClientError as exc:
                if not conditional_failed(exc):
                    raise
                raced += 1
        return raced

    def put_cost(self, c: MemberCost) -> None:
        key = f"cost#{c.account}#{c.region}#{iso_z(c.end)}"
        self._put(key, {"account": c.account, "region": c.region, **c.to_doc()}, c.end + COST_RETENTION)

    def put_name(self, account: str, name: str, now: datetime) -> None:
        self._put(f"name#{account}", {"name": name}, now + NAME_RETENTION)

    def delete_finding(self, key: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"id": {"S": f"finding#{key}"}})

    def forget(self, raw_key: str) -> None:
        """An item that could not be read back (named in a digest once)."""
        self.client.delete_item(TableName=self.table, Key={"id": {"S": raw_key}})

    # --- what one member may cost the central account ---

    def _add(self, key: str, attribute: str, by: int, condition: str | None, values: Mapping[str, Any]) -> bool:
        """Atomically add `by` to a counter; False when `condition` does not hold (nothing added)."""
        args: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"id": {"S": key}},
            "UpdateExpression": f"ADD {attribute} :by",
            "ExpressionAttributeValues": {":by": {"N": str(by)}, **values},
        }
        if condition:
            args["ConditionExpression"] = condition
        try:
            self.client.update_item(**args)
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def take_record(self, member_key: str, limit: int) -> bool:
        """One more finding record for the member, if it has fewer than `limit`."""
        condition = "attribute_not_exists(n) OR n < :max"
        return self._add(f"records#{member_key}", "n", 1, condition, {":max": {"N": str(limit)}})

    def release_record(self, member_key: str) -> None:
        self._add(f"records#{member_key}", "n", -1, "n > :zero", {":zero": {"N": "0"}})

    def recount_records(self, member_key: str, count: int) -> None:
        """The member's true count (a summary loads them all): records expired by TTL are given back."""
        self.client.put_item(TableName=self.table, Item={"id": {"S": f"records#{member_key}"}, "n": {"N": str(count)}})

    def take_alert(self, member_key: str, now: datetime, limit: int) -> bool:
        """One more alert the member may send this hour; False (and counted as held) beyond `limit`."""
        key = f"alerts#{member_key}#{now:%Y-%m-%dT%H}"
        expires = {":exp": {"N": str(int((now + ALERT_COUNT_RETENTION).timestamp()))}}
        args: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"id": {"S": key}},
            "UpdateExpression": "ADD sent :one SET expires_at = :exp",
            "ConditionExpression": "attribute_not_exists(sent) OR sent < :max",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(limit)}, **expires},
        }
        try:
            self.client.update_item(**args)
            return True
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
        self.client.update_item(
            TableName=self.table,
            Key={"id": {"S": key}},
            UpdateExpression="ADD held :one SET expires_at = :exp",
            ExpressionAttributeValues={":one": {"N": "1"}, **expires},
        )
        return False

    def told_held(self, held: Iterable[HeldAlerts]) -> None:
        """After a digest told of held alerts: what it told is not told again."""
        for h in held:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": f"alerts#{h.account}#{h.region}#{h.hour}"}},
                UpdateExpression="SET told = :told",
                ExpressionAttributeValues={":told": {"N": str(h.total)}},
            )
