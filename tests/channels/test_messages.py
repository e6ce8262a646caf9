"""channels/messages.py: what a channel shares with the rest of the bot (the Channel protocol, NotStored)."""
from __future__ import annotations

import pytest

from channels.local import LocalChat
from channels.messages import Channel, NotStored, Reply
from channels.telegram import TelegramChannel
from channels.whatsapp import WhatsAppChannel


@pytest.mark.parametrize("channel", [TelegramChannel, WhatsAppChannel, LocalChat])
def test_every_channel_has_the_one_send_path_of_the_protocol(channel):
    assert issubclass(channel, Channel)


async def test_the_local_chat_sends_through_the_protocol(capsys):
    async def handle(_incoming):
        return []

    chat: Channel = LocalChat(handle)
    assert await chat.send_one("terminal", Reply("Pengingat")) == "local-1"
    assert "Pengingat" in capsys.readouterr().out


def test_not_stored_carries_the_apology():
    apology = [Reply("Maaf")]
    assert NotStored(apology).replies is apology
