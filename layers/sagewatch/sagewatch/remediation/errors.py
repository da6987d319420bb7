"""What a remediation answers when it does not simply succeed: refused (nothing changed), invalid (it names
nothing that exists), or partial (it stopped half way, with what was done, what is left and how to resume)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class RemediationError(ValueError):
    """The request cannot be carried out as asked; nothing was changed. The message says why."""


class InvalidTargetError(RemediationError):
    """The request names something that does not exist (and sagewatch never removed): status `invalid`."""


class PartialChangeError(RemediationError):
    """An action stopped after it had changed something: what was done, and what is left. Unlike a refusal
    it is audited and announced, and the answer is status `partial` with the exact request that resumes it.

    `resume_from` is the number (1-based) of the first step of the plan a resume runs."""

    def __init__(self, message: str, done: list[str], left: list[str], resume_from: int | None = None):
        super().__init__(message)
        self.done = list(done)
        self.left = list(left)
        self.resume_from = resume_from


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot as sagewatch took it: its key, the S3 version it wrote and the SHA-256 of its bytes. A
    restore reads exactly that version and checks the digest: a snapshot planted or rewritten by anyone
    else is refused."""

    key: str
    version_id: str | None
    sha256: str

    def to_dict(self) -> dict[str, str | None]:
        return {"key": self.key, "version_id": self.version_id, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> SnapshotRef:
        return cls(str(doc["key"]), doc.get("version_id"), str(doc["sha256"]))
