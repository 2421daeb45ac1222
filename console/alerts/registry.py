"""The alert channels the `subscribers` fan-out channel sends through, in the order their
jobs are created. One line per alert channel."""

from __future__ import annotations

from console.alerts.email import EmailSender
from console.alerts.sender import AlertSender
from console.alerts.sms import SmsSender
from console.alerts.web_push import WebPushSender
from console.alerts.webhooks import WebhookSender

SENDERS: tuple[type[AlertSender], ...] = (EmailSender, WebhookSender, SmsSender, WebPushSender)
