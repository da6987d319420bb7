"""Inject AWS errors into botocore clients, to test what sagewatch does when AWS says no."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from sagewatch_testkit.calls import count_calls  # noqa: F401  (re-exported: tests count calls through faults)


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


def _in_front_of_moto(client: Any, answer: Callable[[str, Any], AWSResponse | None]) -> None:
    """Let `answer(event_name, request)` reply to each HTTP attempt of `client` before moto does. botocore calls every
    before-send handler, so an injected error registered beside moto would still let moto carry the request
    out (a "throttled" PutEvents would be delivered, then retried: delivered twice). Here moto only sees the
    attempts `answer` lets through, as AWS only acts on requests it does not throttle."""
    client.meta.events.unregister("before-send", botocore_stubber)

    def handler(event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
        return answer(event_name, request) or botocore_stubber(event_name, request, **kwargs)

    client.meta.events.register("before-send", handler)


def throttle_sends(client: Any, operation: str, times: int) -> Counter[str]:
    """The first `times` HTTP attempts of `operation` get ThrottlingException, so botocore's own retry logic
    has to recover. Returns a counter of attempts."""
    attempts: Counter[str] = Counter()

    def answer(event_name: str, request: Any) -> AWSResponse | None:
        if event_name.rsplit(".", 1)[-1] != operation:  # before-send.<service>.<operation>
            return None
        attempts["sent"] += 1
        if attempts["sent"] > times:
            return None
        attempts["throttled"] += 1
        return throttling_response(client, request.url)

    _in_front_of_moto(client, answer)
    return attempts


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    if len(data) < 24:
        return bytes([0x60 + len(data)]) + data
    if len(data) < 256:
        return bytes([0x78, len(data)]) + data
    return bytes([0x79]) + len(data).to_bytes(2, "big") + data


def _cbor_map(fields: dict[str, str]) -> bytes:
    # Just enough CBOR (RFC 8949) for an error body: a short map of short strings.
    assert len(fields) < 24
    return bytes([0xA0 + len(fields)]) + b"".join(_cbor_text(k) + _cbor_text(v) for k, v in fields.items())


def throttling_response(client: Any, url: str) -> AWSResponse:
    """A 400 ThrottlingException as the client's protocol spells it, so botocore parses and retries it."""
    # The parser the client really uses: CloudWatch's model lists cbor, json and query, and the client picks one.
    parser = type(client._response_parser).__name__
    headers = {"x-amzn-requestid": "injected-throttle"}
    if parser == "RpcV2CBORParser":
        body = _cbor_map({"__type": "ThrottlingException", "message": "Rate exceeded"})
        headers |= {"content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    elif parser == "JSONParser":
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        headers["content-type"] = "application/x-amz-json-1.1"
    elif parser in {"QueryParser", "EC2QueryParser"}:
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
        )
        headers["content-type"] = "text/xml"
    else:  # rest-xml, rest-json: the status alone marks a throttle
        body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        headers["content-type"] = "application/xml"
        return AWSResponse(url, 503, headers, MockRawResponse(body))
    return AWSResponse(url, 400, headers, MockRawResponse(body))


def throttle_randomly(client: Any, fraction: float, rng: random.Random, attempts: Counter[str]) -> None:
    """Every HTTP attempt of every operation of `client` is throttled with probability `fraction`, and the
    client's first attempt always is (so a service called twice is still seen throttled). `attempts` counts,
    per service, what was sent and what was throttled."""
    service = client.meta.service_model.service_id.hyphenize()

    def answer(_event_name: str, request: Any) -> AWSResponse | None:
        attempts[f"{service}:sent"] += 1
        if attempts[f"{service}:sent"] > 1 and rng.random() >= fraction:
            return None
        attempts[f"{service}:throttled"] += 1
        return throttling_response(client, request.url)

    _in_front_of_moto(client, answer)


@contextmanager
def every_new_client(configure: Callable[[Any], None]) -> Iterator[None]:
    """Pass every boto3 client created inside the block to `configure` (to inject faults into clients the code
    under test makes for itself)."""
    original = boto3.session.Session.client

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)  # type: ignore[call-overload]
        configure(made)
        return made

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(boto3.session.Session, "client", client)
        yield


@contextmanager
def no_waiting() -> Iterator[Counter[str]]:
    """Retries without the wait: botocore's backoff sleeps and the adaptive rate limiter's pauses are recorded
    (seconds, in the returned counter) instead of slept. Timing is botocore's business; what is under test is
    that every call is retried until it succeeds."""
    import botocore.endpoint
    import botocore.retries.bucket

    waited: Counter[str] = Counter()

    def backoff(seconds: float) -> None:
        waited["backoff"] += seconds

    def pause(self: Any, amount: int) -> float:
        waited["rate_limiter"] += original_sleep_amount(self, amount)
        return 0.0

    original_sleep_amount = botocore.retries.bucket.TokenBucket._sleep_amount
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=backoff))  # its only use of time
        mp.setattr(botocore.retries.bucket.TokenBucket, "_sleep_amount", pause)
        yield waited
