"""The central account's org table in memory, for property tests of the aggregator and the digest (pure).

Every record goes through the same documents the DynamoDB store writes (finding_to_doc, member_to_doc, JSON),
so what one test stores is read back as the real store would read it; the per-member counters behave like
the store's conditional updates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sagewatch.aws.org_store import OrgState
from sagewatch.notify import Notice, from_document, slack_payloads, sns_messages
from sagewatch.org import (
    HeldAlerts,
    Member,
    OrgFinding,
    finding_from_doc,
    finding_to_doc,
    member_from_doc,
    member_to_doc,
)
from sagewatch.orgcost import MemberCost


@dataclass
class MemoryOrgStore:
    items: dict[str, str] = field(default_factory=dict)  # key -> JSON document, as the table keeps them
    counters: dict[str, dict[str, int]] = field(default_factory=dict)

    def load(self, now: datetime) -> OrgState:
        state = OrgState()
        for key, raw in self.items.items():
            try:
                doc = json.loads(raw)
                if key.startswith("member#"):
                    m = member_from_doc(doc)
                    state.members[m.key] = m
                elif key.startswith("finding#"):
                    state.findings.append(finding_from_doc(doc))
            except (KeyError, TypeError, ValueError):
                state.unreadable.append(key)
        for key, c in self.counters.items():
            if key.startswith("alerts#") and c.get("held", 0) > c.get("told", 0):
                _, account, region, hour = key.split("#", 3)
                state.held.append(HeldAlerts(account, region, hour, c["held"] - c.get("told", 0), c["held"]))
        return state

    def finding(self, key: str) -> OrgFinding | None:
        raw = self.items.get(f"finding#{key}")
        return finding_from_doc(json.loads(raw)) if raw else None

    def member(self, key: str) -> Member | None:
        raw = self.items.get(f"member#{key}")
        return member_from_doc(json.loads(raw)) if raw else None

    def put_member(self, m: Member) -> None:
        self.items[f"member#{m.key}"] = json.dumps(member_to_doc(m))

    def put_finding(self, f: OrgFinding) -> None:
        self.items[f"finding#{f.key}"] = json.dumps(finding_to_doc(f))

    def put_cost(self, c: MemberCost) -> None:
        self.items[f"cost#{c.account}#{c.region}"] = json.dumps(c.to_doc())

    def put_name(self, account: str, name: str, now: datetime) -> None:
        self.items[f"name#{account}"] = json.dumps({"name": name})

    def delete_finding(self, key: str) -> None:
        self.items.pop(f"finding#{key}", None)

    def forget(self, raw_key: str) -> None:
        self.items.pop(raw_key, None)

    def settle(self, findings: Iterable[OrgFinding], members: Iterable[tuple[Member, Member]]) -> int:
        for f in findings:
            if f.open:
                self.put_finding(replace(f, pending=None, previous=None))
            else:
                self.delete_finding(f.key)
        for _, new in members:
            self.put_member(new)
        return 0

    def take_record(self, member_key: str, limit: int) -> bool:
        c = self.counters.setdefault(f"records#{member_key}", {})
        if c.get("n", 0) >= limit:
            return False
        c["n"] = c.get("n", 0) + 1
        return True

    def release_record(self, member_key: str) -> None:
        c = self.counters.setdefault(f"records#{member_key}", {})
        c["n"] = max(0, c.get("n", 0) - 1)

    def recount_records(self, member_key: str, count: int) -> None:
        self.counters[f"records#{member_key}"] = {"n": count}

    def take_alert(self, member_key: str, now: datetime, limit: int) -> bool:
        c = self.counters.setdefault(f"alerts#{member_key}#{now:%Y-%m-%dT%H}", {})
        if c.get("sent", 0) >= limit:
            c["held"] = c.get("held", 0) + 1
            return False
        c["sent"] = c.get("sent", 0) + 1
        return True

    def told_held(self, held: Iterable[HeldAlerts]) -> None:
        for h in held:
            self.counters[f"alerts#{h.account}#{h.region}#{h.hour}"]["told"] = h.total


@dataclass
class MemoryPublisher:
    """Renders every notice for SNS as the topic publisher does (strict JSON: no NaN or Infinity), and for
    Slack as the Slack notifier does from the machine document; keeps the documents."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, notice: Notice) -> list[str]:
        for message in sns_messages(notice, chatbot=True):
            body = json.loads(message.message, parse_constant=_not_json)
            document = json.loads(body["sqs"], parse_constant=_not_json)
            json.loads(body["https"], parse_constant=_not_json)
            slack_payloads(from_document(document))
            self.sent.append(document)
        return [f"m-{len(self.sent)}"]


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


@dataclass
class NoNames:
    problem: str | None = None

    def lookup(self, accounts: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
        return {}
