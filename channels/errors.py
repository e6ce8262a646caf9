"""The few error classes every channel maps its provider's errors to."""
from __future__ import annotations


class ChannelError(Exception):
    """A send failed; ``retryable`` says whether trying again later can help."""

    retryable = False


class RateLimited(ChannelError):
    """The provider asks us to slow down for ``retry_after`` seconds."""

    retryable = True

    def __init__(self, retry_after: float, message: str = "rate limited", *, per_chat: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        #: only this one chat gets too many messages (WhatsApp 131056): slow down for it, not the channel
        self.per_chat = per_chat


class Unreachable(ChannelError):
    """The person blocked the bot or the account is gone: stop sending to them."""


class TemporaryFailure(ChannelError):
    """Network trouble or a provider outage."""

    retryable = True


class PermanentFailure(ChannelError):
    """The provider rejected this message; sending it again will not help."""
