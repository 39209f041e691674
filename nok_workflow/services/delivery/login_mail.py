"""The one-time sign-in link, mailed at once (not through the daily digest)."""

from __future__ import annotations

import datetime as dt
import html

from notifiers import Message, Outcome, from_settings
from nok_workflow.services.delivery.letters import new_message_id
from nok_workflow.settings import Settings
from nok_workflow.store.models import Account


def message(settings: Settings, account: Account, link: str, minutes: int) -> Message:
    text = (f"Здравствуйте, {account.name}!\n\nСсылка для входа в nok-workflow (действует {minutes} минут, "
            f"один раз):\n{link}\n\nЕсли вы не запрашивали вход, просто удалите это письмо.\n")
    page = (f"<p>Здравствуйте, {html.escape(account.name)}!</p><p>Ссылка для входа в nok-workflow "
            f"(действует {minutes} минут, один раз):<br><a href=\"{html.escape(link)}\">{html.escape(link)}</a></p>"
            "<p>Если вы не запрашивали вход, просто удалите это письмо.</p>")
    return Message(to_address=account.email or "", to_name=account.name, subject="Вход в nok-workflow",
                   text=text, html=page, message_id=new_message_id(settings.mail_from))


async def send_login_link(settings: Settings, account: Account, link: str, minutes: int,
                          now: dt.datetime) -> Outcome | None:
    outcomes: list[Outcome] = []

    async def record(_index: int, outcome: Outcome) -> bool:
        outcomes.append(outcome)
        return True

    await from_settings(settings).deliver([message(settings, account, link, minutes)], record)
    return outcomes[0] if outcomes else None
