"""The shared error classes every channel maps to (channels/errors.py): what may be tried again, and the
reason the outbox keeps."""
from __future__ import annotations

import pytest

from channels.errors import (
    DOWN_PROBE,
    ChannelDown,
    ChannelError,
    PermanentFailure,
    RateLimited,
    TemplateRejected,
    TemporaryFailure,
    Unreachable,
)


@pytest.mark.parametrize(("error", "retryable"), [
    (RateLimited(3.0), True),
    (ChannelDown("token refused"), True),
    (TemporaryFailure("telegram: TimedOut"), True),
    (Unreachable("telegram: blocked or deactivated"), False),
    (PermanentFailure("telegram: BadRequest"), False),
    (TemplateRejected(132015, "ilp_pengingat"), False),
])
def test_what_may_be_tried_again(error, retryable):
    assert isinstance(error, ChannelError) and error.retryable is retryable


def test_a_rate_limit_says_how_long_and_for_whom():
    limited = RateLimited(6.0, "whatsapp 131056: pair rate limit", per_chat=True)
    assert (limited.retry_after, limited.per_chat, limited.reason) == (6.0, True, "whatsapp 131056: pair rate limit")
    assert RateLimited(2.0).per_chat is False


def test_a_channel_down_is_probed_again_after_a_pause():
    down = ChannelDown("WhatsApp error 190: the access token is invalid", code=190)
    assert (down.retry_after, down.code, down.problem) == (DOWN_PROBE, 190, "WhatsApp error 190: the access token is invalid")


def test_a_rejected_template_keeps_one_fixed_reason_without_the_detail():
    rejected = TemplateRejected(132001, "ilp_pengingat", detail="template name does not exist in the translation")
    assert rejected.reason == "template ilp_pengingat rejected (132001)"
    assert "does not exist" in str(rejected)
    assert TemplateRejected(None).reason == "template ? rejected (?)"
