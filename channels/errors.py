"""The few error classes every channel maps its provider's errors to (each channel by one function:
``channels.telegram.api_error``, ``channels.whatsapp.graph_error``).

=================== =============================================== ==========================================
class               what it means                                   what the outbox does
=================== =============================================== ==========================================
RateLimited         slow down (the channel, or ``per_chat``)        waits ``retry_after``, nothing counted
ChannelDown         the channel cannot send at all: a wrong token,  pauses the whole channel, says so loudly
                    an unregistered or locked account, a removed    (log, ``/healthz``), tries again after
                    permission                                      ``retry_after``; nobody is marked blocked
Unreachable         this person blocked the bot / has no account    marks the person unreachable
TemporaryFailure    network trouble, a provider outage              tries again with a backoff
TemplateRejected    the provider refused the template (not approved fails the message, the reason kept for
                    in that language, paused, parameters wrong)     staff (``/status``)
PermanentFailure    the provider refused this message               fails the message
=================== =============================================== ==========================================

``reason`` is a short text without personal data (no addresses, no message text); the outbox keeps it.
"""
from __future__ import annotations

import re

#: seconds a channel that cannot send waits before it tries again (one request), e.g. for a token to be fixed
DOWN_PROBE = 600.0


class ChannelError(Exception):
    """A send failed; ``retryable`` says whether trying again later can help."""

    retryable = False
    #: the provider's error code, when it has one
    code: int | None = None

    @property
    def reason(self) -> str:
        """A short description without personal data (the exception text, by default)."""
        return str(self)


class RateLimited(ChannelError):
    """The provider asks us to slow down for ``retry_after`` seconds."""

    retryable = True

    def __init__(self, retry_after: float, message: str = "rate limited", *, per_chat: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        #: only this one chat gets too many messages (WhatsApp 131056): slow down for it, not the channel
        self.per_chat = per_chat


class ChannelDown(ChannelError):
    """The channel cannot send anything until its configuration or account is fixed (``problem`` says
    what, for the operator); nothing is wrong with the message or the person."""

    retryable = True

    def __init__(self, problem: str, retry_after: float = DOWN_PROBE, *, code: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after
        self.code = code


class Unreachable(ChannelError):
    """The person blocked the bot or the account is gone: stop sending to them."""


class TemporaryFailure(ChannelError):
    """Network trouble or a provider outage."""

    retryable = True


class PermanentFailure(ChannelError):
    """The provider rejected this message; sending it again will not help."""


class TemplateRejected(PermanentFailure):
    """The provider refused a message template (WhatsApp 132xxx): the message fails and staff are told.

    Its ``reason`` has one fixed form, ``template <name> rejected (<code>)``, that ``/status`` reads back.
    """

    def __init__(self, code: int | None, template: str | None = None, detail: str = "") -> None:
        super().__init__(f"template {template or '?'} rejected ({code or '?'}){': ' + detail if detail else ''}")
        self.code = code
        self.template = template

    @property
    def reason(self) -> str:
        return f"template {self.template or '?'} rejected ({self.code or '?'})"


_LONG_NUMBER = re.compile(r"\d{7,}")  # a chat id or phone number a channel put in its error text (6-digit error codes stay)


def describe(exc: BaseException, reason: str | None = None) -> str:
    """An error as a job keeps it (the outbox's and the import jobs' ``error``): the exception class and a
    short reason, nothing personal."""
    if reason is None:
        reason = _LONG_NUMBER.sub("#", exc.reason) if isinstance(exc, ChannelError) else ""
    text = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
    return text[:200]
