"""Reminders: the daily plan into the outbox (``planner``) and its delivery (``dispatcher``)."""
