"""What each destination accepts, and the two operations every rendering goes through: bounding a string that
came from data, and escaping it for the chat markdown it lands in (pure).

Numbers are the services' documented limits where they publish one. Amazon Q Developer in chat applications
(AWS Chatbot) publishes none for custom notifications: sagewatch keeps to the conservative ones below, which
every notification it has rendered so far fits in.
"""

from __future__ import annotations

import re

from sagewatch.bounds import ELLIPSIS, NAME_MAX, clip

# SNS: the whole publish (message with every protocol body, subject, attributes) is at most 256 KiB of UTF-8.
SNS_MAX_BYTES = 256 * 1024
SNS_SUBJECT_MAX = 100  # characters, ASCII printable only
# EventBridge PutEvents: one entry (source, detail type, detail, resources) at most 256 KiB of UTF-8.
EVENT_MAX_BYTES = 256 * 1024
# Slack Block Kit (incoming webhooks).
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_CONTEXT_MAX = 2000  # a context element's text
SLACK_BLOCKS_MAX = 50
SLACK_FALLBACK_MAX = 150  # the payload's top-level "text" (notification preview)
# Chatbot custom notifications (conservative, see above).
CHATBOT_TITLE_MAX = 250
CHATBOT_DESCRIPTION_MAX = 3500
CHATBOT_NEXT_STEPS_MAX = 5
CHATBOT_NEXT_STEP_MAX = 500
CHATBOT_KEYWORDS_MAX = 10
CHATBOT_KEYWORD_MAX = 75
# an additionalContext value: names, and a Dry run button's encoded request (sagewatch.chat.REQUEST_MAX)
CHATBOT_CONTEXT_VALUE_MAX = 2048


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


# --- chat markdown ----------------------------------------------------------------------------------------

# Slack turns <!channel>, <!here>, <@U123>, <#C123> and <http://x|label> into pings and links; escaping & < >
# makes them literal (Slack's documented escaping). Chatbot's client-markdown is rendered by the same clients.
_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Plain @channel / @here / @everyone are not pings in webhook messages, but a zero-width joiner keeps them from
# becoming one in any client that links names.
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def chat_escape(text: str) -> str:
    """Text from data, made literal for Slack mrkdwn and Chatbot client-markdown."""
    escaped = "".join(_SLACK_ESCAPES.get(c, c) for c in text)
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), escaped)


def code(text: str, limit: int = NAME_MAX) -> str:
    """A name from data inside `code` in chat markdown: escaped, and no backtick to close the span early."""
    return "`" + chat(text.replace("`", "'"), limit) + "`"


def chat(text: str, limit: int) -> str:
    """Data for chat markdown, escaped, in at most `limit` characters (no entity cut in half)."""
    return clip_markdown(chat_escape(clip(text, limit)), limit)


def clip_markdown(text: str, limit: int) -> str:
    """Markdown already escaped, cut to `limit` characters without cutting an &entity; in half."""
    if len(text) <= limit:
        return text
    cut = max(0, limit - 1)
    amp = text.rfind("&", max(0, cut - 5), cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return text[:cut] + ELLIPSIS


def subject_text(text: str) -> str:
    """An SNS subject: printable ASCII (SNS refuses anything else), at most 100 characters."""
    ascii_only = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return clip(ascii_only, SNS_SUBJECT_MAX).replace(ELLIPSIS, ".")
