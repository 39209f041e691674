"""Telegram: the chat notifier over the Bot API client (notifiers/bots.py), at `chat_rate`."""

from __future__ import annotations

from notifiers.chat import ChatNotifier


def from_settings(settings) -> ChatNotifier | None:  # noqa: ANN001 - nok_workflow.settings.Settings
    """None while no token is set (the channel's mails wait)."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        return None
    from notifiers.bots import TelegramBot

    token = settings.telegram_token.get_secret_value()
    return ChatNotifier(TelegramBot(token, settings.telegram_api_url,
                                   ca_file=str(settings.chat_ca_file) if settings.chat_ca_file else None), settings.chat_rate, "html", (token,))
