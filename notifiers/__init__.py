"""Delivery of messages. A Notifier takes finished messages and reports each outcome; it
knows nothing of plans. `email.EmailNotifier` speaks SMTP (aiosmtplib); `files.FileNotifier`
writes .eml files when no SMTP server is configured (the embedded default)."""

from __future__ import annotations

from notifiers.base import Attachment, Message, Notifier, Outcome, Record

__all__ = ["Attachment", "Message", "Notifier", "Outcome", "Record", "from_settings"]


def from_settings(settings) -> Notifier:  # noqa: ANN001 - nok_workflow.settings.Settings
    if settings.smtp_host:
        from notifiers.email import EmailNotifier

        return EmailNotifier.from_settings(settings)
    from notifiers.files import FileNotifier

    return FileNotifier(settings.outbox_dir)
