"""Alerts through apprise (Telegram, Slack, Discord, e-mail, webhooks, ...).

An alert is written to the ``alerts`` outbox in the caller's transaction (``queue_alert``),
once per ``dedupe_key``, and sent later by ``deliver``: rate-limited, each notifier at most
once per alert, a failing notifier retried with backoff and never raised to the caller.
Notifier URLs hold tokens, so they are stored encrypted and shown as their scheme only.
"""

from workbench.notify.alerts import AlertKind, DeliveryReport, deliver, deliver_after, queue_alert
from workbench.notify.notifiers import NotifierView, add_notifier, list_notifiers, remove_notifier

__all__ = [
    "AlertKind",
    "DeliveryReport",
    "NotifierView",
    "add_notifier",
    "deliver",
    "deliver_after",
    "list_notifiers",
    "queue_alert",
    "remove_notifier",
]
