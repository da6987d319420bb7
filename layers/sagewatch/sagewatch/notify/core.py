"""What every notice renders to, and how a rendering becomes one SNS message (pure)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sagewatch.bounds import NAME_MAX, bounded, clip
from sagewatch.notify.limits import (
    CHATBOT_CONTEXT_VALUE_MAX,
    CHATBOT_DESCRIPTION_MAX,
    CHATBOT_KEYWORD_MAX,
    CHATBOT_KEYWORDS_MAX,
    CHATBOT_NEXT_STEP_MAX,
    CHATBOT_NEXT_STEPS_MAX,
    CHATBOT_TITLE_MAX,
    SLACK_BLOCKS_MAX,
    SLACK_CONTEXT_MAX,
    SLACK_FALLBACK_MAX,
    SLACK_HEADER_MAX,
    SLACK_SECTION_MAX,
    chat,
    chat_escape,
    clip_markdown,
    subject_text,
    utf8_len,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Chatbot:
    """An Amazon Q Developer in chat applications (AWS Chatbot) custom notification. Text is plain: it is
    escaped here. `description` is client-markdown already escaped by the renderer."""

    title: str
    description: str
    next_steps: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    thread_id: str = "sagewatch"
    event_type: str = "sagewatch"
    related: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "version": "1.0",
            "source": "custom",
            "content": {
                "textType": "client-markdown",
                "title": chat(self.title, CHATBOT_TITLE_MAX),
                "description": clip_markdown(self.description, CHATBOT_DESCRIPTION_MAX) or " ",
                "nextSteps": [chat(s, CHATBOT_NEXT_STEP_MAX) for s in self.next_steps[:CHATBOT_NEXT_STEPS_MAX]],
                "keywords": [chat(k, CHATBOT_KEYWORD_MAX) for k in self.keywords[:CHATBOT_KEYWORDS_MAX]],
            },
            "metadata": {
                "threadId": chat(self.thread_id, NAME_MAX),
                "summary": chat(self.title, CHATBOT_TITLE_MAX),
                "eventType": chat(self.event_type, 64),
                "relatedResources": [chat(r, NAME_MAX) for r in self.related[:20]],
                "additionalContext": {chat(k, 64): chat(v, CHATBOT_CONTEXT_VALUE_MAX) for k, v in self.context.items()},
            },
        }
        if self.id:
            doc["id"] = bounded(self.id, 128)
        return doc


@dataclass(frozen=True)
class Rendering:
    """One notice in every form: email text, the machine document (what email-json, SQS, Lambda and EventBridge
    subscribers receive, and what the Slack notifier reads back), Chatbot, and SNS attributes."""

    subject: str
    text: str
    document: dict[str, Any]
    chatbot: Chatbot
    attributes: dict[str, list[str]]


@dataclass(frozen=True)
class SnsMessage:
    subject: str
    message: str  # MessageStructure=json document
    attributes: dict[str, dict[str, str]]

    @property
    def size(self) -> int:
        """Bytes SNS counts against its 256 KiB: the message, the subject and every attribute."""
        attrs = sum(utf8_len(k) + len(v["DataType"]) + utf8_len(v["StringValue"]) for k, v in self.attributes.items())
        return utf8_len(self.message) + utf8_len(self.subject) + attrs


def string_array(values: Iterable[str]) -> dict[str, str]:
    """An SNS message attribute that subscription filter policies can match any of the values in."""
    return {"DataType": "String.Array", "StringValue": json.dumps(sorted({bounded(v) for v in values}))}


def sns_message(r: Rendering, *, chatbot: bool) -> SnsMessage:
    machine = json.dumps(r.document, default=str)
    body = {
        "default": r.text,
        "email": r.text,
        "email-json": machine,
        "sqs": machine,
        "lambda": machine,
        # Chatbot subscribes over HTTPS and reads its custom-notification format from this key.
        "https": json.dumps(r.chatbot.to_dict()) if chatbot else machine,
    }
    attributes = {k: string_array(v) for k, v in r.attributes.items()}
    return SnsMessage(subject_text(r.subject), json.dumps(body), attributes)


def sns_parts(
    items: Sequence[T], message: Callable[[list[T], tuple[int, int]], SnsMessage], limit: int
) -> list[SnsMessage]:
    """`items` in as few messages as the size limit allows, in order; `message(part, (i, n))` renders one. A part
    is measured with the longest "part i/n" label any part could carry, so the numbered part still fits.

    Each part is the longest run that fits (a message only grows with its items), found by doubling then
    halving: O(log n) renders a part, where adding one item at a time rendered the growing part per item
    (quadratic in a digest of thousands of findings)."""
    if not items:
        return [message([], (1, 1))]
    widest = (len(items), len(items))
    parts: list[list[T]] = []
    start, n = 0, len(items)

    def fits(begin: int, end: int) -> bool:
        return message(list(items[begin:end]), widest).size <= limit

    while start < n:
        good, bad, step = start + 1, n + 1, 1  # a part holds at least one item, whatever its size
        while good < n:
            probe = min(n, good + step)
            if not fits(start, probe):
                bad = probe
                break
            good, step = probe, step * 2
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if fits(start, middle) else (good, middle)
        parts.append(list(items[start:good]))
        start = good
    return [message(p, (i, len(parts))) for i, p in enumerate(parts, 1)]


# --- Slack Block Kit ------------------------------------------------------------------------------------


def header(text: str) -> dict[str, Any]:
    """A header block: plain text (Slack does not parse it), so it is clipped, not escaped."""
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, SLACK_HEADER_MAX) or " "}}


def section(markdown: str) -> dict[str, Any]:
    """A section of mrkdwn the caller escaped (limits.chat / limits.code), clipped to Slack's limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip_markdown(markdown, SLACK_SECTION_MAX) or " "}}


def context(markdown: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip_markdown(markdown, SLACK_CONTEXT_MAX)}]}


def payload(fallback: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """An incoming-webhook payload: at most 50 blocks, the fallback (notification preview) escaped."""
    return {"text": chat(fallback, SLACK_FALLBACK_MAX), "blocks": blocks[:SLACK_BLOCKS_MAX]}


def paged_payloads(title: str, summary: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Block Kit messages of a header, a summary context and `items`, as many as Slack's 50-block limit needs
    (each titled "(n/N)" when there are several)."""
    per_message = SLACK_BLOCKS_MAX - 2  # header and summary context
    chunks = [items[i : i + per_message] for i in range(0, len(items), per_message)] or [[]]
    out = []
    for n, chunk in enumerate(chunks, 1):
        head = title if len(chunks) == 1 else f"{title} ({n}/{len(chunks)})"
        out.append(payload(head, [header(head), context(summary), *chunk]))
    return out


def link(url: str, label: str) -> str:
    """A Slack link to a URL sagewatch built (console, S3): | and > would end it early, so they are encoded."""
    safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|{chat(label, 80)}>"


def lines_fitting(lines: list[str], limit: int, more: str) -> str:
    """As many whole `lines` as fit in `limit` characters, then `more` (with {n} the count left out)."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        tail = more.format(n=len(lines) - i)
        if used + len(line) + 1 + len(tail) + 1 > limit:
            out.append(tail)
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def escaped_chunks(text: str, size: int) -> list[str]:
    """`text` escaped for chat markdown, in pieces of at most `size` characters; no entity is split."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for c in text:
        piece = chat_escape(c)
        if used + len(piece) > size:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(piece)
        used += len(piece)
    if current:
        chunks.append("".join(current))
    return chunks


def bounded_tree(value: Any, limit: int, items: int = 100) -> Any:
    """A JSON value with every string bounded to `limit` characters and every list to `items` entries."""
    if isinstance(value, str):
        return bounded(value, limit)
    if isinstance(value, Mapping):
        return {bounded(k, 64): bounded_tree(v, limit, items) for k, v in value.items()}
    if isinstance(value, list):
        return [bounded_tree(v, limit, items) for v in value[:items]]
    return value


def text_of(value: Any) -> str:
    """A value read back from a document, as text (documents are ours, but travel through other systems)."""
    return bounded(value) if value is not None else ""


def as_mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
