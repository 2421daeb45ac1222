"""Alerts pushed to subscribers (issue 16): the messages, the senders and the fan-out runner."""
