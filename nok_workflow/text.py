"""Russian wording shared by the CLI, emails and reports: dates, plurals, labels."""

from __future__ import annotations

import datetime as dt

from babel import Locale
from babel.dates import format_date

_RU = Locale("ru")

# Messengers a reminder can go to, by their names; with e-mail, every delivery channel.
MESSENGERS = {"telegram": "Telegram", "max": "MAX"}
CHANNEL_NAMES = {"email": "почта", **MESSENGERS}

KIND_LABELS = {
    "once": "к дате",
    "window": "в период",
    "recurring": "периодически",
    "ongoing": "постоянно",
    "relative": "от события",
    "unscheduled": "без срока",
}


def date_short(day: dt.date) -> str:
    return format_date(day, format="dd.MM.yyyy", locale=_RU)


def percent(value: float) -> str:
    """«37,5 %»: one decimal, a decimal comma, a space before the sign."""
    return f"{value:.1f}".replace(".", ",") + " %"


def date_long(day: dt.date) -> str:
    """«10 сентября 2014 г.»"""
    return format_date(day, format="long", locale=_RU)


def agree(count: int, one: str, few: str, many: str) -> str:
    """The form of a word that agrees with ``count`` by babel's CLDR plural rules for Russian:
    nouns («пункт», «пункта», «пунктов») and verbs alike («требует», «требуют», «требуют»)."""
    return {"one": one, "few": few}.get(_RU.plural_form(abs(count)), many)


def plural(count: int, one: str, few: str, many: str) -> str:
    """«1 пункт», «3 пункта», «5 пунктов», «21 пункт»."""
    return f"{count} {agree(count, one, few, many)}"


def days_phrase(due: dt.date, today: dt.date) -> str:
    """«остался 1 день», «осталось 3 дня», «срок сегодня», «просрочено на 5 дней»."""
    left = (due - today).days
    if left == 0:
        return "срок сегодня"
    if left < 0:
        return "просрочено на " + plural(-left, "день", "дня", "дней")
    return f"{agree(left, 'остался', 'осталось', 'осталось')} {plural(left, 'день', 'дня', 'дней')}"
