"""Where each finding goes (pure): a routing table of rules matching on owner, team, any tag, endpoint name
glob or finding kind, each sending to an SNS topic, a Slack webhook secret or an email address; first match
wins; what no rule matches goes to the stack's topic.

The table is a JSON document (an SSM parameter, read once at cold start):

    {"rules": [
      {"name": "fraud-team", "match": {"team": "fraud"}, "to": {"sns": "arn:aws:sns:us-east-1:111122223333:fraud"}},
      {"name": "alice", "match": {"owner": "alice"}, "to": {"email": "alice@example.com"}},
      {"name": "genai-dev", "match": {"endpoint": "genai-*", "tag": {"env": "dev"}, "kind": ["idle"]},
       "to": {"slack_secret": "arn:aws:secretsmanager:us-east-1:111122223333:secret:sagewatch/genai-AbCdEf"}}
    ]}

Every condition of a rule must hold. A document that is not valid stops the function's cold start with a
message naming the rule and the field.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagewatch.bounds import bounded
from sagewatch.models import Kind
from sagewatch.owners import Owner, from_tags

MAX_RULES = 100
MATCH_KEYS = ("owner", "team", "tag", "endpoint", "kind")
# this account's topics named sagewatch-* only (the functions' roles may publish to nothing else)
_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:sagewatch-[A-Za-z0-9_-]{1,246}$")
# The stack may read only secrets named sagewatch/...: a route cannot point the scan at any other secret.
_SECRET = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:sagewatch/[\w/+=.@-]{1,400}$")
_EMAIL = re.compile(r"^[^@\s,;<>\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_NAME = re.compile(r"^[\w.-]{1,64}$")


class RoutingError(ValueError):
    """The routing document is not valid; the message names the rule and the field."""


@dataclass(frozen=True)
class Destination:
    kind: str  # sns | slack_secret | email
    target: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.target}"


@dataclass(frozen=True)
class Match:
    owner: str | None = None
    team: str | None = None
    tags: tuple[tuple[str, str], ...] = ()  # key, value glob
    endpoint: str | None = None  # glob
    kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Subject:
    """What a rule is matched against: an announced finding, or a remediation notice (no kind)."""

    endpoint: str
    owner: Owner
    tags: Mapping[str, str] = field(default_factory=dict)
    kind: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    match: Match
    to: Destination

    def matches(self, s: Subject) -> bool:
        m = self.match
        if m.owner is not None and not s.owner.matches(m.owner):
            return False
        team = s.owner.team or from_tags(s.tags).team
        if m.team is not None and (team or "").lower() != m.team.lower():
            return False
        if m.endpoint is not None and not fnmatch.fnmatchcase(s.endpoint, m.endpoint):
            return False
        if m.kinds and s.kind not in m.kinds:
            return False
        return all(k in s.tags and fnmatch.fnmatchcase(s.tags[k], v) for k, v in m.tags)


@dataclass(frozen=True)
class RoutingTable:
    rules: tuple[Rule, ...] = ()

    def route(self, s: Subject) -> Rule | None:
        """The first rule that matches; None: the stack's topic."""
        return next((r for r in self.rules if r.matches(s)), None)

    @classmethod
    def from_document(cls, doc: object, email_domains: Sequence[str] = ()) -> RoutingTable:
        """`email_domains`: the recipient domains email routes may send to (RouteEmailDomains); none: no
        email route is accepted (whoever can write the parameter must not mail findings anywhere)."""
        if not isinstance(doc, Mapping):
            raise RoutingError("the routing document must be a JSON object with a `rules` list")
        unknown = set(doc) - {"rules", "version", "description"}
        if unknown:
            raise RoutingError(f"the routing document has unknown field(s) {sorted(unknown)}: only `rules` is read")
        rules = doc.get("rules")
        if not isinstance(rules, list):
            raise RoutingError("the routing document's `rules` must be a list")
        if len(rules) > MAX_RULES:
            raise RoutingError(f"the routing document has {len(rules)} rules; at most {MAX_RULES}")
        parsed = [_rule(i, r) for i, r in enumerate(rules, 1)]
        allowed = {d.lower() for d in email_domains}
        for rule in parsed:
            if rule.to.kind == "email" and rule.to.target.rsplit("@", 1)[1].lower() not in allowed:
                raise RoutingError(
                    f"routing rule {rule.name!r}: to.email {rule.to.target!r} is not in an allowed domain "
                    f"(RouteEmailDomains: {', '.join(sorted(allowed)) or 'none set'})"
                )
        names = [r.name for r in parsed]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise RoutingError(f"routing rule name {duplicate!r} is used twice: names must be unique")
        return cls(tuple(parsed))


def _rule(index: int, doc: object) -> Rule:
    where = f"routing rule {index}"
    if not isinstance(doc, Mapping):
        raise RoutingError(f"{where} must be an object with name, match and to")
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RoutingError(
            f"{where}: name must be 1-64 letters, digits, '.', '_' or '-', got {bounded(repr(name), 60)}"
        )
    where = f"{where} ({name!r})"
    extra = set(doc) - {"name", "match", "to", "description"}
    if extra:
        raise RoutingError(f"{where}: unknown field(s) {sorted(extra)}")
    return Rule(name, _match(where, doc.get("match")), _destination(where, doc.get("to")))


def _text(where: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise RoutingError(f"{where}: match.{key} must be a non-empty string of at most 256 characters")
    return value.strip()


def _match(where: str, doc: object) -> Match:
    if not isinstance(doc, Mapping) or not doc:
        raise RoutingError(f"{where}: match must be an object with at least one of {', '.join(MATCH_KEYS)}")
    extra = set(doc) - set(MATCH_KEYS)
    if extra:
        raise RoutingError(f"{where}: match has unknown key(s) {sorted(extra)}; known: {', '.join(MATCH_KEYS)}")
    tags: list[tuple[str, str]] = []
    if "tag" in doc:
        raw = doc["tag"]
        if not isinstance(raw, Mapping) or not raw:
            raise RoutingError(f"{where}: match.tag must be an object of tag key -> value (a glob)")
        tags = [(_text(where, f"tag.{k}", k), _text(where, f"tag.{k}", v)) for k, v in raw.items()]
    kinds: frozenset[str] = frozenset()
    if "kind" in doc:
        raw_kinds = doc["kind"] if isinstance(doc["kind"], list) else [doc["kind"]]
        known = {k.value for k in Kind}
        bad = [k for k in raw_kinds if k not in known]
        if bad or not raw_kinds:
            raise RoutingError(
                f"{where}: match.kind {bounded(repr(bad or raw_kinds), 80)} is not one of {sorted(known)}"
            )
        kinds = frozenset(str(k) for k in raw_kinds)
    return Match(
        owner=_text(where, "owner", doc["owner"]) if "owner" in doc else None,
        team=_text(where, "team", doc["team"]) if "team" in doc else None,
        tags=tuple(tags),
        endpoint=_text(where, "endpoint", doc["endpoint"]) if "endpoint" in doc else None,
        kinds=kinds,
    )


def _destination(where: str, doc: object) -> Destination:
    if not isinstance(doc, Mapping) or len(doc) != 1:
        raise RoutingError(f"{where}: to must be an object with exactly one of sns, slack_secret, email")
    [(kind, target)] = doc.items()
    checks = {
        "sns": (_TOPIC, "an SNS topic ARN whose name starts with sagewatch-"),
        "slack_secret": (_SECRET, "a Secrets Manager secret ARN whose name starts with sagewatch/"),
        "email": (_EMAIL, "an email address"),
    }
    if kind not in checks:
        raise RoutingError(f"{where}: to.{bounded(str(kind), 40)} is not a destination (sns, slack_secret, email)")
    pattern, what = checks[kind]
    if not isinstance(target, str) or not pattern.match(target):
        raise RoutingError(f"{where}: to.{kind} is not {what}: {bounded(repr(target), 120)}")
    return Destination(kind, target)


def split(subjects: Sequence[tuple[Any, Subject]], table: RoutingTable) -> tuple[dict[str, list[Any]], list[Any]]:
    """Items by the rule that routes them (rule name -> items, in rule order), and the unmatched ones."""
    routed: dict[str, list[Any]] = {}
    unmatched: list[Any] = []
    for item, subject in subjects:
        rule = table.route(subject)
        if rule is None:
            unmatched.append(item)
        else:
            routed.setdefault(rule.name, []).append(item)
    order = {r.name: i for i, r in enumerate(table.rules)}
    return dict(sorted(routed.items(), key=lambda kv: order[kv[0]])), unmatched
