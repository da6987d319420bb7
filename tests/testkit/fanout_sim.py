"""The scan's fan-out state machine run in-process, as template.yaml defines it (ScanFanOutStateMachine).

moto stores a state machine and its executions but runs nothing of a Distributed Map. This reads the definition
from the template and does what Step Functions does with it: the ItemReader's S3 object (its JSON array), batches
by ItemBatcher's MaxItemsPerBatch and MaxInputBytesPerBatch ("Map state ItemBatcher" in the Step Functions
developer guide: a child execution's input is {"Items": [...]}, at most 256 KiB), the chunk task's Payload
(JSONPath, with $$.State.RetryCount from the context object), its Retry rules (ErrorEquals against the error
name, which for a Lambda function that raises is the exception's class name; MaxAttempts counts retries after
the first attempt), ToleratedFailurePercentage, then the merge task's Payload from the execution's input. The
waits between retries are not slept: the order and the number of attempts are what a test can check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
CHILD_INPUT_LIMIT = 256 * 1024  # bytes of a child workflow execution's input (Step Functions quotas)


def definition(template: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """The state machine's ASL as the template writes it (DefinitionSubstitutions not yet applied)."""
    doc = yaml_parse(template.read_text())
    return dict(doc["Resources"]["ScanFanOutStateMachine"]["Properties"]["Definition"])


def _path(path: str, doc: Any, context: Mapping[str, Any]) -> Any:
    """A JSONPath of the simple kind the definition uses: $.a.b on the state's input, $$.a.b on the context."""
    root, rest = (context, path[2:]) if path.startswith("$$") else (doc, path[1:])
    value = root
    for key in filter(None, rest.split(".")):
        value = value[key]
    return value


def _resolve(template: Any, doc: Any, context: Mapping[str, Any], substitutions: Mapping[str, str]) -> Any:
    """Parameters / Payload: keys ending in .$ take the path's value; ${Name} strings take the substitution."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _path(value, doc, context)
            else:
                out[key] = _resolve(value, doc, context, substitutions)
        return out
    if isinstance(template, str) and template.startswith("${") and template.endswith("}"):
        return substitutions[template[2:-1]]
    return template


def batches(items: list[Any], batcher: Mapping[str, Any]) -> list[list[Any]]:
    """Items in order, a batch closed when the next item would pass MaxItemsPerBatch or MaxInputBytesPerBatch."""
    most = int(batcher.get("MaxItemsPerBatch", len(items) or 1))
    size_limit = int(batcher.get("MaxInputBytesPerBatch", CHILD_INPUT_LIMIT))
    out: list[list[Any]] = []
    current: list[Any] = []
    for item in items:
        candidate = [*current, item]
        too_big = len(json.dumps({"Items": candidate}).encode()) > size_limit
        if current and (len(candidate) > most or too_big):
            out.append(current)
            current = [item]
        else:
            current = candidate
    if current:
        out.append(current)
    return out


@dataclass
class Attempt:
    batch: int  # which batch, in listing order
    retry_count: int
    error: str | None  # the error's name when the attempt failed


@dataclass
class Execution:
    """What the run did: each chunk attempt, the batches that failed for good, the merge's answer."""

    attempts: list[Attempt] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    merge_payload: dict[str, Any] | None = None
    output: Any = None
    concurrency: int | None = None


def run(
    execution_input: Mapping[str, Any],
    read_object: Callable[[str, str], bytes],
    chunk: Callable[[dict[str, Any]], Any],
    merge: Callable[[dict[str, Any]], Any],
    *,
    substitutions: Mapping[str, str],
    max_items: int | None = None,
) -> Execution:
    """One execution. `chunk` and `merge` stand for the Lambda invocations (their payload in, their answer out;
    an exception is the function's error). `max_items` overrides MaxItemsPerBatch (several chunks of a small
    fleet)."""
    asl = definition()
    done = Execution()
    state = asl["States"][asl["StartAt"]]
    assert state["Type"] == "Map" and state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    reader = _resolve(state["ItemReader"]["Parameters"], execution_input, {}, substitutions)
    assert state["ItemReader"]["ReaderConfig"]["InputType"] == "JSON"
    items = json.loads(read_object(reader["Bucket"], reader["Key"]))
    if "MaxConcurrencyPath" in state:
        done.concurrency = int(_path(state["MaxConcurrencyPath"], execution_input, {}))
    batcher = dict(state["ItemBatcher"]) | ({"MaxItemsPerBatch": max_items} if max_items else {})
    processor = state["ItemProcessor"]
    task = processor["States"][processor["StartAt"]]
    for index, batch in enumerate(batches(items, batcher)):
        child = {"Items": batch}
        assert len(json.dumps(child).encode()) <= CHILD_INPUT_LIMIT
        retries: dict[int, int] = {}
        retry_count = 0
        while True:
            payload = _resolve(task["Parameters"]["Payload"], child, {"State": {"RetryCount": retry_count}}, {})
            try:
                chunk(payload)
            except Exception as exc:  # the function's error, named as Lambda names it
                name = type(exc).__name__
                done.attempts.append(Attempt(index, retry_count, name))
                rule = next(
                    (i for i, r in enumerate(task.get("Retry", [])) if {name, "States.ALL"} & set(r["ErrorEquals"])),
                    None,
                )
                if rule is not None and retries.get(rule, 0) < int(task["Retry"][rule].get("MaxAttempts", 3)):
                    retries[rule] = retries.get(rule, 0) + 1
                    retry_count += 1
                    continue
                done.failed.append(index)
                break
            done.attempts.append(Attempt(index, retry_count, None))
            break
    total = len({a.batch for a in done.attempts})
    if total and len(done.failed) * 100 / total > float(state.get("ToleratedFailurePercentage", 0)):
        raise RuntimeError(f"States.ExceedToleratedFailureThreshold: {len(done.failed)} of {total} chunks failed")
    after = asl["States"][state["Next"]]
    done.merge_payload = _resolve(after["Parameters"]["Payload"], execution_input, {}, substitutions)
    done.output = merge(done.merge_payload)
    return done
