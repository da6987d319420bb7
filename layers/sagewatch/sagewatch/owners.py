"""Who owns an endpoint (pure): its owner tags, the tags SageMaker Studio adds to what is deployed from it, or
the principal CloudTrail saw create it (and last update it). Cheapest first; unknown is said plainly.

CloudTrail's part is read by sagewatch.aws.cloudtrail (LookupEvents, within a budget, cached); this module
only reads its records, which come from another system: every field is checked and bounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sagewatch.bounds import NAME_MAX, bounded, optional

DEFAULT_OWNER_TAGS = ("owner", "team", "created-by", "contact")
TEAM_TAG = "team"
CREATED_BY_TAG = "created-by"
STUDIO_TAGS = ("sagemaker:user-profile-arn", "sagemaker:space-arn", "sagemaker:domain-arn")
CREATE, UPDATE = "CreateEndpoint", "UpdateEndpoint"
HISTORY = timedelta(days=90)  # CloudTrail's event history
CREATE_SLACK = timedelta(minutes=15)  # CreateEndpoint's event time against the endpoint's CreationTime
LOOKED_UP, CACHED, NOT_LOOKED_UP = "looked-up", "cached", "not-looked-up"
TRAIL_STATES = (LOOKED_UP, CACHED, NOT_LOOKED_UP)


@dataclass(frozen=True)
class Owner:
    """The `owner` of a finding. `principal` is an ARN or a tag value; `source` says where it came from."""

    principal: str | None = None
    source: str | None = None  # "tag:<key>" | "studio" | "cloudtrail:CreateEndpoint" | "cloudtrail:UpdateEndpoint"
    created_by: str | None = None
    last_updated_by: str | None = None
    team: str | None = None
    created_at: str | None = None  # the endpoint's creation time (ISO), for "created 93 days ago"
    # What CloudTrail was asked (TRAIL_STATES): looked up this scan, answered from the cache of an earlier
    # lookup, or not asked (no --owner-lookup, no budget, an endpoint already announced); None: never relevant
    trail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "source": self.source,
            "created_by": self.created_by,
            "last_updated_by": self.last_updated_by,
            "team": self.team,
            "created_at": self.created_at,
            "trail": self.trail,
        }

    @classmethod
    def from_dict(cls, doc: object) -> Owner:
        if not isinstance(doc, Mapping):
            return cls()
        return cls(
            principal=optional(doc.get("principal"), 2048),
            source=optional(doc.get("source"), 64),
            created_by=optional(doc.get("created_by"), 2048),
            last_updated_by=optional(doc.get("last_updated_by"), 2048),
            team=optional(doc.get("team")),
            created_at=optional(doc.get("created_at"), 40),
            trail=doc.get("trail") if doc.get("trail") in TRAIL_STATES else None,
        )

    @property
    def known(self) -> bool:
        return self.principal is not None

    @property
    def name(self) -> str | None:
        """The short name a person reads: alice for an assumed-role session or a user, a tag's value."""
        return display_name(self.principal) if self.principal else None

    def matches(self, wanted: str) -> bool:
        """Whether `wanted` names this owner: its principal (ARN or tag value), short name or creator."""
        names = {self.principal, self.name, self.created_by, display_name(self.created_by or "") or None}
        return wanted in {n for n in names if n}


def display_name(principal: str) -> str:
    """arn:aws:sts::1:assumed-role/DataScientist/alice -> alice; arn:aws:iam::1:user/ml/intern -> intern;
    arn:aws:iam::1:root -> root of 1; a Studio user profile ARN -> its profile name; anything else as is."""
    if not principal.startswith("arn:"):
        return principal
    parts = principal.split(":", 5)
    if len(parts) < 6:
        return principal
    resource = parts[5]
    if resource == "root":
        return f"root of {parts[4]}"
    if resource.startswith(("assumed-role/", "user/", "user-profile/", "space/", "federated-user/")):
        return resource.rsplit("/", 1)[-1] or principal
    return principal


def from_tags(tags: Mapping[str, str], keys: Sequence[str] = DEFAULT_OWNER_TAGS) -> Owner:
    """The owner its tags name: the first owner tag key with a value, else a Studio tag; unknown otherwise."""
    lowered = {k.lower(): v.strip() for k, v in tags.items() if isinstance(v, str)}  # a blank tag names no one
    team = optional(lowered.get(TEAM_TAG))
    created_by = optional(lowered.get(CREATED_BY_TAG), 2048)
    for key in keys:
        value = optional(lowered.get(key.lower()), NAME_MAX)
        if value:
            return Owner(value, f"tag:{key}", created_by=created_by, team=team)
    for key in STUDIO_TAGS:
        value = optional(lowered.get(key), 2048)
        if value:
            return Owner(value, "studio", created_by=created_by, team=team)
    return Owner(created_by=created_by, team=team)


# --- CloudTrail ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointRef:
    """An endpoint as CloudTrail knows it: its name and creation time (names are reused)."""

    name: str
    created_at: datetime
    last_modified: datetime

    @property
    def key(self) -> str:
        return f"{self.name}#{self.created_at.isoformat()}"


def refs_of(names: Iterable[str], times: Mapping[str, tuple[datetime, datetime]]) -> list[EndpointRef]:
    return [EndpointRef(n, *times[n]) for n in sorted(set(names)) if n in times]


@dataclass(frozen=True)
class TrailRecord:
    """One CreateEndpoint or UpdateEndpoint call, from LookupEvents."""

    event_name: str
    event_time: datetime
    endpoint: str
    principal: str
    identity_type: str


def principal_of(identity: object) -> tuple[str, str] | None:
    """(principal, type) of a CloudTrail `userIdentity`: the ARN for AssumedRole, IAMUser, Root and
    FederatedUser; the calling service for AWSService; the account for AWSAccount."""
    if not isinstance(identity, Mapping):
        return None
    kind = bounded(identity.get("type") or "", 32)
    if kind == "AWSService":
        service = optional(identity.get("invokedBy"))
        return (service, kind) if service else None
    if kind == "AWSAccount":
        account = optional(identity.get("accountId"), 32)
        return (f"account {account}", kind) if account else None
    arn = optional(identity.get("arn"), 2048)
    if arn:
        return arn, kind or "unknown"
    principal_id = optional(identity.get("principalId"))
    return (principal_id, kind or "unknown") if principal_id else None


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else None


def record_of(event: Mapping[str, Any]) -> TrailRecord | None:
    """A LookupEvents event (its `CloudTrailEvent` is a JSON string) as a TrailRecord; None for anything that
    is not a successful CreateEndpoint or UpdateEndpoint naming an endpoint."""
    raw = event.get("CloudTrailEvent")
    try:
        doc = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if not isinstance(doc, Mapping) or doc.get("errorCode"):
        return None  # a refused call created nothing
    name = bounded(doc.get("eventName") or event.get("EventName") or "", 64)
    params = doc.get("requestParameters")
    endpoint = optional(params.get("endpointName")) if isinstance(params, Mapping) else None
    when = _time(doc.get("eventTime")) or _time(event.get("EventTime"))
    who = principal_of(doc.get("userIdentity"))
    if name not in (CREATE, UPDATE) or not endpoint or when is None or who is None:
        return None
    return TrailRecord(name, when, endpoint, who[0], who[1])


@dataclass(frozen=True)
class TrailFacts:
    """What CloudTrail says of one endpoint (as created at `created_at`): who created it, who last updated it.
    `searched_from`: how far back the history was read (a creator not found before then is unknown)."""

    created_by: str | None
    last_updated_by: str | None
    searched_from: datetime | None = None
    last_updated_at: datetime | None = None
    cached: bool = False  # read from the cache of an earlier lookup (not stored: every cached fact is)

    def to_doc(self) -> dict[str, Any]:
        return {
            "created_by": self.created_by,
            "last_updated_by": self.last_updated_by,
            "searched_from": self.searched_from.isoformat() if self.searched_from else None,
            "last_updated_at": self.last_updated_at.isoformat() if self.last_updated_at else None,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TrailFacts:
        return cls(
            created_by=optional(doc.get("created_by"), 2048),
            last_updated_by=optional(doc.get("last_updated_by"), 2048),
            searched_from=_time(doc.get("searched_from")),
            last_updated_at=_time(doc.get("last_updated_at")),
        )


def creator(records: Iterable[TrailRecord], endpoint: str, created_at: datetime) -> TrailRecord | None:
    """The CreateEndpoint of this endpoint: its name, at its creation time (names are reused)."""
    matches = [
        r
        for r in records
        if r.event_name == CREATE and r.endpoint == endpoint and abs(r.event_time - created_at) <= CREATE_SLACK
    ]
    return min(matches, key=lambda r: abs(r.event_time - created_at), default=None)


def last_updater(records: Iterable[TrailRecord], endpoint: str, created_at: datetime) -> TrailRecord | None:
    updates = [r for r in records if r.event_name == UPDATE and r.endpoint == endpoint and r.event_time >= created_at]
    return max(updates, key=lambda r: r.event_time, default=None)


def with_trail(
    owner: Owner, facts: TrailFacts | None, created_at: datetime | None, *, asked: bool | None = None
) -> Owner:
    """`owner` (from tags) completed with CloudTrail's facts: the creator is the owner when no tag named one,
    else the last updater; created_by and last_updated_by are filled in either way. `asked`: whether CloudTrail
    was asked about this endpoint when it gave no facts (None: not a question yet, the owner stays as it is)."""
    created = created_at.isoformat() if created_at else owner.created_at
    if facts is None:
        trail = owner.trail if asked is None else (LOOKED_UP if asked else NOT_LOOKED_UP)
        return Owner(owner.principal, owner.source, owner.created_by, owner.last_updated_by, owner.team, created, trail)
    created_by = owner.created_by or facts.created_by
    principal, source = owner.principal, owner.source
    if principal is None and facts.created_by:
        principal, source = facts.created_by, f"cloudtrail:{CREATE}"
    elif principal is None and facts.last_updated_by:
        principal, source = facts.last_updated_by, f"cloudtrail:{UPDATE}"
    trail = CACHED if facts.cached else LOOKED_UP
    return Owner(principal, source, created_by, facts.last_updated_by, owner.team, created, trail)


def describe(owner: Owner, now: datetime) -> str:
    """owner: alice (CloudTrail, created 93 days ago) — how every rendering says it (plain text)."""
    age = ""
    created = _time(owner.created_at) if owner.created_at else None
    if created is not None:
        days = max(0, (now - created).days)
        age = f", created {days} day{'s' if days != 1 else ''} ago"
    if not owner.known:
        team = f", team {owner.team}" if owner.team else ""
        if owner.trail in (LOOKED_UP, CACHED):
            cached = ", cached" if owner.trail == CACHED else ""
            return f"owner: unknown (no owner tag, and CloudTrail did not say{cached}){team}"
        return f"owner: unknown (no owner tag; CloudTrail not looked up){team}"
    source = owner.source or ""
    if source.startswith("tag:"):
        where = f"tag {source[4:]}"
    elif source == "studio":
        where = "SageMaker Studio"
    else:
        where = "CloudTrail" + (", last updated" if source.endswith(UPDATE) else "")
        where += ", cached" if owner.trail == CACHED else ""
    text = f"owner: {owner.name} ({where}{age})"
    if owner.team and source != "tag:team":
        text += f", team {owner.team}"
    return text
