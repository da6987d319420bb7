"""One status line for long CLI scans: on stderr, only when it is a terminal; never in JSON output or logs."""

from __future__ import annotations

import threading
import time
from typing import Protocol, TextIO


class ProgressSink(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None: ...


def no_progress(stage: str, done: int, total: int) -> None:
    """The adapters' default: say nothing."""


STAGES = ("targets", "listed", "described", "metric batches")


def status_line(counts: dict[str, tuple[int, int]]) -> str:
    """'sagewatch: 5,000 endpoints listed, 1,200/5,000 described, metric batches 3/95' (stages seen so far)."""
    parts = []
    for stage in STAGES:
        if stage not in counts:
            continue
        done, total = counts[stage]
        if stage == "targets":
            parts.append(f"{done:,}/{total:,} account/region pairs scanned")
        elif stage == "listed":
            parts.append(f"{done:,} endpoints listed")
        elif stage == "described":
            parts.append(f"{done:,}/{total:,} described")
        else:
            parts.append(f"metric batches {done:,}/{total:,}")
    return "sagewatch: " + ", ".join(parts)


class TerminalProgress:
    """Rewrites one line of `stream` (at most every `interval` seconds, and at the end of each stage); does
    nothing at all when `stream` is not a terminal, so pipes, files and CI logs get no progress noise."""

    def __init__(self, stream: TextIO, interval: float = 0.1):
        self.stream = stream
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = interval
        self._counts: dict[str, tuple[int, int]] = {}
        self._last = 0.0
        self._lock = threading.Lock()  # discovery reports from several threads

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._counts[stage] = (done, total)
            now = time.monotonic()
            if done < total and now - self._last < self.interval:
                return
            self._last = now
            self.stream.write("\r\x1b[K" + status_line(self._counts))
            self.stream.flush()

    def close(self) -> None:
        """Clear the line, so what follows (a table, an error) starts clean."""
        if self.enabled and self._counts:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
