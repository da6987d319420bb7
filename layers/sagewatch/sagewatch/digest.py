"""One scan's announcements as a digest (pure). How a digest looks is sagewatch.notify.digest's business."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sagewatch.commands import command_for
from sagewatch.hidden import Hidden
from sagewatch.lifecycle import Announcement, Reason

DIGEST_SCHEMA = "sagewatch.digest/1"
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Digest:
    account: str | None
    region: str
    generated_at: datetime
    announcements: list[Announcement]
    unchanged: int = 0
    snoozed: dict[str, str] = field(default_factory=dict)  # endpoint -> silent until (ISO date)
    open_savings_usd: float = 0.0
    state_available: bool = True
    part: tuple[int, int] = (1, 1)
    warnings: tuple[str, ...] = ()  # e.g. prices of another region: the reader must know
    route: str | None = None  # the routing rule this digest is for (None: the stack's topic)
    # endpoint -> its tags, for routing rules on tags (never rendered: tags stay in the account)
    endpoint_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    hidden: tuple[Hidden, ...] = ()  # ignored and snoozed endpoints with their cost (every part lists them)
    # False in a read-only deployment (Remediation disabled): commands run with the reader's credentials (--local)
    remediation: bool = True

    def count(self, reason: Reason) -> int:
        return sum(1 for a in self.announcements if a.reason is reason)

    def active(self) -> list[Announcement]:
        order = {s: i for i, s in enumerate(SEVERITIES)}
        live = [a for a in self.announcements if a.reason is not Reason.RESOLVED]
        return sorted(
            live,
            key=lambda a: (
                order.get(a.severity, 9),
                -(a.finding.monthly_savings_usd or 0),
                a.finding.endpoint,
            ),
        )

    def resolved(self) -> list[Announcement]:
        return [a for a in self.announcements if a.reason is Reason.RESOLVED]

    def command(self, a: Announcement) -> str | None:
        if a.reason is Reason.RESOLVED:
            return None
        return command_for(a.finding, self.region, local=not self.remediation)
