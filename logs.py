"""Logging set-up with a filter that masks phone numbers, NIK and bot tokens in every record."""
from __future__ import annotations

import logging
import re

_PATTERNS = (
    (re.compile(r"\bbot\d{5,}:[A-Za-z0-9_-]{20,}"), "bot<token>"),
    (re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b"), "<token>"),
    # a NIK: 16 digits, also written in groups ("5108 0614 0495 0001", "510806-140495-0001")
    (re.compile(r"(?<![\d])\d(?:[ .-]?\d){15}(?![\d])"), "<nik>"),
    # a mobile number: 08..., 62 8..., +62 8..., with or without spaces, dots or dashes between digits
    (re.compile(r"(?<![\w+])(?:\+?62|0)[ .-]?8(?:[ .-]?\d){7,12}(?!\d)"), "<phone>"),
)


def redact(text: str) -> str:
    """``text`` with phone numbers, NIK and tokens replaced by placeholders."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with :func:`redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup_logging(level: str = "INFO") -> None:
    """Root logging to stderr, redacted; chatty HTTP client loggers quietened (they print URLs)."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # "skipped: maximum number of running instances reached" on every tick of a long dispatch run
    logging.getLogger("apscheduler.executors.default").setLevel(logging.ERROR)
