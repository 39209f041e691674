"""MAX: the chat notifier over the platform API client (notifiers/bots.py), at `chat_rate`."""

from __future__ import annotations

from notifiers.chat import ChatNotifier


def _ca(settings) -> str | None:  # noqa: ANN001
    return str(settings.chat_ca_file) if settings.chat_ca_file else None


def from_settings(settings) -> ChatNotifier | None:  # noqa: ANN001 - nok_workflow.settings.Settings
    """None while no token is set (the channel's mails wait)."""
    if settings.max_token is None or not settings.max_token.get_secret_value():
        return None
    from notifiers.bots import MaxBot

    token = settings.max_token.get_secret_value()
    return ChatNotifier(MaxBot(token, settings.max_api_url, ca_file=_ca(settings)), settings.chat_rate, "markdown", (token,))
