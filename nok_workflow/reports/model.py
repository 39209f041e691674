"""The quarterly progress report as data: what every format (DOCX, XLSX, HTML, JSON) shows.

Pure: the models, the period a report covers, and the official wording of an obligation's
outcome as of a day. `services/read/report.py` fills them from the store; the JSON format is
`Report.model_dump_json()` and its schema `Report.model_json_schema()` (docs/report.schema.json).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from babel.dates import get_month_names
from pydantic import BaseModel, ConfigDict, Field

from nok_workflow.deadlines.periods import span
from nok_workflow.problems import InputError, Problem

SCHEMA_VERSION = 1
# More obligations than this in the period and an item shows counts, not one line each
# (a per-school item of a region has thousands; the organisations table has them).
DETAIL_MAX = 12

Outcome = Literal["on_time", "late", "not_done", "in_progress", "cancelled"]
# The words officials use in such reports, in the order the tables and the chart show them.
OUTCOME_WORDS: dict[str, str] = {
    "on_time": "выполнено в срок",
    "late": "выполнено с нарушением срока",
    "not_done": "не выполнено",
    "in_progress": "в работе",
    "cancelled": "отменено",
}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def outcome(state: str, completed_on: dt.date | None, due: dt.date, as_of: dt.date) -> Outcome:
    """An obligation due in the report's period, as of the report's day.

    Waived (снято координатором) and cancelled (removed from the plan) are «отменено»; a
    document dated after the due date is «с нарушением срока»; a due date passed with no
    document is «не выполнено»; the due day itself and later ones are «в работе»."""
    if state in ("waived", "cancelled"):
        return "cancelled"
    if completed_on is not None:
        return "on_time" if completed_on <= due else "late"
    return "not_done" if due < as_of else "in_progress"


def days_late(kind: Outcome, completed_on: dt.date | None, due: dt.date, as_of: dt.date) -> int | None:
    """Calendar days past the due date: to the document's date, or to the report's day."""
    if kind == "late" and completed_on is not None:
        return (completed_on - due).days
    if kind == "not_done":
        return (as_of - due).days
    return None


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Period(Model):
    code: str = Field(description="Квартал, напр. 2024Q4; с суффиксом -YTD — с начала года")
    year: int
    quarter: int = Field(ge=1, le=4)
    year_to_date: bool = Field(description="Нарастающим итогом: с 1 января по конец квартала")
    start: dt.date
    end: dt.date
    label: str = Field(description="Как период назван в отчёте: «IV квартал 2024 года»")


def report_period(year: int, quarter: int, year_to_date: bool = False) -> Period:
    first, last = span("quarter", year, quarter)
    if year_to_date:
        months = get_month_names("wide", context="stand-alone", locale="ru")
        first = dt.date(year, 1, 1)
        label = f"{months[1]} – {months[last.month]} {year} года (нарастающим итогом)"
    else:
        label = f"{ROMAN[quarter]} квартал {year} года"
    return Period(code=f"{year}Q{quarter}" + ("-YTD" if year_to_date else ""), year=year, quarter=quarter,
                  year_to_date=year_to_date, start=first, end=last, label=label)


_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[QqКк]\s*([1-4])\s*$")


def parse_quarter(text: str, flag: str = "--quarter") -> tuple[int, int]:
    """2024Q4, 2024-Q4 (and the Cyrillic К a Russian keyboard gives) → (2024, 4)."""
    found = _QUARTER.match(text or "")
    if found is None:
        raise InputError([Problem(flag, 0, 0, f"«{text}» — не квартал; ожидается вида 2024Q4")])
    return int(found[1]), int(found[2])


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def previous_quarter(today: dt.date) -> tuple[int, int]:
    """The last closed quarter: the one a report is written for."""
    year, q = quarter_of(today)
    return (year, q - 1) if q > 1 else (year - 1, 4)


class Counts(Model):
    total: int = Field(description="Обязательств со сроком в периоде")
    on_time: int = 0
    late: int = 0
    not_done: int = 0
    in_progress: int = 0
    cancelled: int = 0

    @property
    def done(self) -> int:
        return self.on_time + self.late

    @property
    def counted(self) -> int:
        """What percentages are of: the total without the cancelled."""
        return self.total - self.cancelled

    def percent(self, outcome: str) -> float:
        value = self.done if outcome == "done" else getattr(self, outcome)
        return round(100 * value / self.counted, 1) if self.counted else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{k: getattr(self, k) + getattr(other, k) for k in Counts.model_fields})


class EvidenceRef(Model):
    name: str = Field(description="Имя файла или адрес ссылки")
    sha256: str | None = Field(default=None, description="Первые 12 знаков SHA-256 файла")
    url: str | None = Field(default=None, description="Где его открыть (страница координатора)")
    document_date: dt.date


class ObligationLine(Model):
    due: dt.date
    period: str = Field(description="Период обязательства: «IV квартал 2024», «октябрь 2024»")
    organisation: str | None = None
    outcome: Outcome
    status: str = Field(description="Словами: «выполнено в срок» и т. п.")
    completed_on: dt.date | None = None
    days_late: int | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list)


class ItemLine(Model):
    number: str
    title: str
    deadline: str = Field(description="Срок словами плана")
    due_dates: list[dt.date] = Field(description="Сроки этого пункта в периоде")
    owners: list[str]
    results: list[str]
    counts: Counts
    status: str = Field(description="Одно обязательство — его итог; несколько — сводка")
    outcome: Outcome | None = Field(default=None, description="Итог, если обязательство в периоде одно")
    completed_on: dt.date | None = Field(default=None, description="Когда выполнено (последнее из выполненных)")
    days_late: int | None = Field(default=None, description="Наибольшая просрочка, дней")
    evidence: list[EvidenceRef] = Field(default_factory=list)
    obligations: list[ObligationLine] = Field(
        default_factory=list, description=f"По одному на обязательство, если их не больше {DETAIL_MAX}")


class SectionLine(Model):
    number: str
    title: str
    counts: Counts
    items: list[ItemLine]


class PartyLine(Model):
    id: str
    name: str
    counts: Counts


class Report(Model):
    schema_version: int = SCHEMA_VERSION
    plan_id: str
    plan_title: str
    approved_by: str | None = None
    approval_act: str | None = None
    coordinator: str = Field(description="Кто отчитывается: координатор плана")
    period: Period
    as_of: dt.date = Field(description="На какой день: после него «в работе» ещё не «не выполнено»")
    generated_at: dt.datetime
    totals: Counts
    sections: list[SectionLine]
    owners: list[PartyLine] = Field(description="По исполнителям: их пункты (у пункта для организаций — группа)")
    organisations: list[PartyLine] = Field(description="По организациям: обязательства каждой")


def item_status(counts: Counts, single: Outcome | None) -> str:
    """An item's status cell: its one obligation's word, or what its several add up to."""
    if single is not None:
        return OUTCOME_WORDS[single]
    parts = [f"{OUTCOME_WORDS[k]} — {getattr(counts, k)}" for k in OUTCOME_WORDS if getattr(counts, k)]
    return f"из {counts.total}: " + "; ".join(parts) if parts else "—"
