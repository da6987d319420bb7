"""A plan is a list of exact AWS calls (pure).

Each planner turns (request, everything read about the endpoint) into `Step`s: a `Call` is one AWS API call
with the very parameters the real run sends (botocore's operation name and shapes), a `Wait` is a pause until
an endpoint or an inference component reaches a state. The dry run shows these steps; the real run executes
them in order and nothing else. A value one call needs from another's answer (the ARN PutScalingPolicy
returns, which PutMetricAlarm's AlarmActions names) is a `Ref` to that call, resolved when it runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

SAGEMAKER = "sagemaker"
AUTOSCALING = "application-autoscaling"
CLOUDWATCH = "cloudwatch"


@dataclass(frozen=True)
class Ref:
    """A value from the answer of the call whose `key` is `call` (e.g. its PolicyARN)."""

    call: str
    field: str


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name
    operation: str  # botocore's operation name, e.g. "UpdateEndpoint"
    params: Mapping[str, Any]  # exactly what is sent; Refs where an earlier answer fills a value in
    why: str  # one line in words
    key: str = ""  # set on a call whose answer a later call refers to (Ref.call)

    def refs(self) -> list[Ref]:
        return list(_refs(self.params))


@dataclass(frozen=True)
class Wait:
    """Until endpoint (or inference component) `name` is `until`. A wait for InService on an endpoint may name the
    config it must then run (`config`): another update meanwhile stops the run instead of building on it."""

    what: Literal["endpoint", "inference-component"]
    name: str
    until: Literal["InService", "gone"]
    why: str
    config: str | None = None


Step = Call | Wait


def _refs(value: Any) -> Iterable[Ref]:
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _refs(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _refs(v)


def resolve(value: Any, answers: Mapping[str, Mapping[str, Any]]) -> Any:
    """`value` with each Ref replaced by the field of the answer it names (KeyError: not answered yet)."""
    if isinstance(value, Ref):
        return answers[value.call][value.field]
    if isinstance(value, Mapping):
        return {k: resolve(v, answers) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, answers) for v in value]
    return value


def _shown(value: Any, numbers: Mapping[str, int]) -> Any:
    if isinstance(value, Ref):
        return f"<{value.field} returned by step {numbers.get(value.call, '?')}>"
    if isinstance(value, Mapping):
        return {k: _shown(v, numbers) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(v, numbers) for v in value]
    return value


def step_numbers(steps: Sequence[Step]) -> dict[str, int]:
    """Call key -> its step number (1-based)."""
    return {s.key: i for i, s in enumerate(steps, 1) if isinstance(s, Call) and s.key}


def to_dicts(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """The steps as the dry run shows them (and as the real run records them): numbered, each call with its
    service, operation and parameters."""
    numbers = step_numbers(steps)
    out: list[dict[str, Any]] = []
    for i, s in enumerate(steps, 1):
        if isinstance(s, Call):
            out.append(
                {
                    "step": i,
                    "service": s.service,
                    "operation": s.operation,
                    "params": _shown(dict(s.params), numbers),
                    "why": s.why,
                }
            )
        else:
            wait: dict[str, Any] = {s.what: s.name, "until": s.until}
            if s.config:
                wait["config"] = s.config
            out.append({"step": i, "wait": wait, "why": s.why})
    return out


def digest(steps: Sequence[Step]) -> str:
    """SHA-256 of the steps, canonically: two plans with the same digest make the same calls."""
    doc = [{k: v for k, v in d.items() if k != "why"} for d in to_dicts(steps)]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def first_needed(steps: Sequence[Step], start: int) -> int:
    """Where a resume from step `start` (1-based) must begin: earlier still, at the first call whose answer a
    remaining call needs (its answer is gone with the run that stopped; the calls that return one, such as
    PutScalingPolicy, create or update and can run again)."""
    numbers = step_numbers(steps)
    needed = [numbers[r.call] for s in steps[start - 1 :] if isinstance(s, Call) for r in s.refs()]
    return min([start, *[n for n in needed if n < start]])


@dataclass
class Steps:
    """A planner's steps as it writes them (calls and waits in order)."""

    items: list[Step] = field(default_factory=list)

    def call(self, service: str, operation: str, why: str, key: str = "", **params: Any) -> Call:
        made = Call(service, operation, params, why, key)
        self.items.append(made)
        return made

    def add(self, steps: Iterable[Step]) -> None:
        self.items.extend(steps)
