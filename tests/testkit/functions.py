"""The stack's Lambda handlers, loaded the way Lambda loads them, and the context Lambda passes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def load_function(name: str) -> ModuleType:
    """Import functions/<name>/app.py afresh, as a cold start does (settings are read from the environment now)."""
    spec = importlib.util.spec_from_file_location(f"{name}_app", ROOT / "functions" / name / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lambda_context(name: str, *, seconds: int = 300, memory: int = 256) -> SimpleNamespace:
    """What Powertools reads from a Lambda context: names, ARN, memory and the time left."""
    return SimpleNamespace(
        function_name=f"sagewatch-{name}",
        memory_limit_in_mb=memory,
        aws_request_id="req-1",
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:sagewatch-{name}",
        get_remaining_time_in_millis=lambda: seconds * 1000,
    )


def sample_event(name: str) -> Any:
    """A sample event of events/ (the same files `sam local invoke` uses), freshly parsed."""
    return json.loads((ROOT / "events" / name).read_text())
