"""Inject AWS errors into botocore clients, to test what sagewatch does when AWS says no."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse


class _Http:
    def __init__(self, status: int):
        self.status_code = status
        self.headers: dict[str, str] = {}


def fail_call(
    client: Any,
    operation: str,
    code: str,
    message: str = "injected",
    *,
    when: Callable[[dict[str, Any]], bool] = lambda _p: True,
    status: int = 400,
) -> None:
    """Answer `operation` with error `code` (no retries: botocore never sends the request)."""
    service = client.meta.service_model.service_id.hyphenize()
    _remember_api_params(client, service, operation)

    def handler(context: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]] | None:
        if not when(context.get("sagewatch_api_params", {})):
            return None
        return _Http(status), {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    client.meta.events.register_first(f"before-call.{service}.{operation}", handler)


def _remember_api_params(client: Any, service: str, operation: str) -> None:
    # before-call sees only the serialized request; keep the caller's parameters in the context.
    def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["sagewatch_api_params"] = dict(params)

    client.meta.events.register(
        f"before-parameter-build.{service}.{operation}", keep, unique_id=f"sagewatch-keep-{service}-{operation}"
    )


def on_call(client: Any, operation: str, action: Callable[[dict[str, Any]], None]) -> None:
    """Run `action(api_params)` just before each call of `operation` (e.g. to change the world mid-scan)."""
    service = client.meta.service_model.service_id.hyphenize()

    def handler(params: dict[str, Any], **_: Any) -> None:
        action(dict(params))

    client.meta.events.register(f"before-parameter-build.{service}.{operation}", handler)


def throttle_sends(client: Any, operation: str, times: int) -> Counter[str]:
    """The first `times` HTTP attempts of `operation` get ThrottlingException (JSON protocols), so
    botocore's own retry logic has to recover. Returns a counter of attempts."""
    attempts: Counter[str] = Counter()
    event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        attempts["sent"] += 1
        if attempts["sent"] > times:
            return None
        attempts["throttled"] += 1
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        headers = {"x-amzn-requestid": "injected", "content-type": "application/x-amz-json-1.1"}
        return AWSResponse(request.url, 400, headers, MockRawResponse(body))

    client.meta.events.register_first(event, handler)
    return attempts


def count_calls(events: Any) -> Counter[str]:
    """Count API calls (not retries) by operation on a boto3 session's or client's event emitter."""
    calls: Counter[str] = Counter()

    def handler(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events.register("before-call", handler)
    return calls
