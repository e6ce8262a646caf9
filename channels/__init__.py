"""Transports. A channel only translates: provider payload -> Incoming, Reply -> provider call."""
