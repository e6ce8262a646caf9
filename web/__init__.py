"""The aiohttp app: webhooks and health."""
