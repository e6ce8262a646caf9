"""The conversations, written against channel-neutral messages (channels.messages)."""
