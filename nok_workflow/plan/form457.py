"""The official form of a plan to remove the shortcomings an independent assessment found.

Постановление Правительства РФ от 17.04.2018 № 457 sets the form: sections by the assessment's
criteria and six columns, the last two under «Сведения о ходе реализации мероприятия». One
definition here serves the importer (recognising the form), the plan format (``criterion``) and
the report written in the form.
"""

from __future__ import annotations

import re

KIND = "shortcomings"
DEFAULT_REPORT_DAY = 3  # «ежеквартально в срок до 3 числа месяца, следующего за отчетным кварталом»

TITLE = ("План по устранению недостатков, выявленных в ходе независимой оценки качества условий "
         "осуществления образовательной деятельности")

# Criterion number → the section's title in the form.
CRITERIA: dict[int, str] = {
    1: "Открытость и доступность информации об организации",
    2: "Комфортность условий, в которых осуществляется образовательная деятельность",
    3: "Доступность услуг для инвалидов",
    4: "Доброжелательность, вежливость работников организации",
    5: "Удовлетворенность условиями осуществления образовательной деятельности организаций",
}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}

# The form's columns, as printed, in order.
COLUMNS: tuple[str, ...] = (
    "Недостатки, выявленные в ходе независимой оценки качества условий осуществления образовательной "
    "деятельности организацией",
    "Наименование мероприятия по устранению недостатков, выявленных в ходе независимой оценки качества "
    "условий осуществления образовательной деятельности организацией",
    "Плановый срок реализации мероприятия",
    "Ответственный исполнитель (с указанием фамилии, имени, отчества и должности)",
    "реализованные меры по устранению выявленных недостатков",
    "фактический срок реализации",
)
PROGRESS_HEADER = "Сведения о ходе реализации мероприятия"

_STEMS = {
    1: ("открытост", "доступност"),
    2: ("комфортност",),
    3: ("инвалид",),
    4: ("доброжелательност", "вежливост"),
    5: ("удовлетворенност",),
}


def criterion_of(title: str) -> int | None:
    """The criterion a section title names («I. Открытость и доступность…», «Критерий 3…»)."""
    text = title.lower().replace("ё", "е")
    for number, stems in _STEMS.items():
        if number == 1 and "инвалид" in text:
            continue  # «доступность услуг для инвалидов» is the third, not the first
        if all(stem in text for stem in stems) or (number != 1 and stems[0] in text):
            return number
    return None


def criterion_title(number: int) -> str:
    return f"{ROMAN[number]}. {CRITERIA[number]}"


_ROMAN_PREFIX = re.compile(r"^\s*(?:[IVX]+|\d)\s*[.)]\s*")


def plain_title(title: str) -> str:
    """A section title without its leading numeral."""
    return _ROMAN_PREFIX.sub("", title).strip()
