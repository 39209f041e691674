"""Delivery of messages. A Notifier takes finished messages and reports each outcome; it
knows nothing of plans. `email.EmailNotifier` speaks SMTP (aiosmtplib); `files.FileNotifier`
writes .eml files when no SMTP server is configured (the embedded default); with a server,
`routing.RoutingNotifier` still writes files for reserved `.invalid` addresses (the demo)."""

from __future__ import annotations

from notifiers.base import Attachment, Message, Notifier, Outcome, Record

__all__ = ["Attachment", "Message", "Notifier", "Outcome", "Record", "chats_from_settings", "from_settings"]


def from_settings(settings) -> Notifier:  # noqa: ANN001 - nok_workflow.settings.Settings
    from notifiers.files import FileNotifier

    files = FileNotifier(settings.outbox_dir)
    if settings.smtp_host:
        from notifiers.email import EmailNotifier
        from notifiers.routing import RoutingNotifier

        return RoutingNotifier(EmailNotifier.from_settings(settings), files)
    return files


def chats_from_settings(settings) -> dict[str, Notifier]:  # noqa: ANN001
    """The messenger notifiers whose token is set, by channel ("telegram", "max")."""
    from notifiers import max as max_chat
    from notifiers import telegram

    found = {"telegram": telegram.from_settings(settings), "max": max_chat.from_settings(settings)}
    return {channel: notifier for channel, notifier in found.items() if notifier is not None}
