"""A stand-in HTTP endpoint (a Slack incoming webhook, a custom resource's response URL, the Price List API)
answering from a script of responses and recording each JSON request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeWebhook:
    """`script` is a list of (status, headers, body); the last entry repeats. Requests are recorded."""

    def __init__(self, script: list[tuple[int, dict[str, str], str]]):
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    def respond(self) -> tuple[int, dict[str, str], str]:
        index = min(len(self.requests) - 1, len(self.script) - 1)
        return self.script[index]


@contextmanager
def fake_webhook(
    script: list[tuple[int, dict[str, str], str]], max_requests: int = 500, host: str = "127.0.0.1"
) -> Iterator[FakeWebhook]:
    hook = FakeWebhook(script)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            hook.requests.append(json.loads(self.rfile.read(length) or b"null"))
            status, headers, body = hook.respond() if len(hook.requests) <= max_requests else (410, {}, "too many")
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if "Content-Type" not in headers:
                self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body.encode())

        def do_PUT(self) -> None:  # CloudFormation's pre-signed response URL (custom resources)
            self.do_POST()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    hook.url = f"http://{host}:{server.server_address[1]}/services/T000/B000/XXXX"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
