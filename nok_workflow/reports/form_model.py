"""The progress report in the official form of a shortcomings plan (Постановление Правительства
РФ от 17.04.2018 № 457) as data: the plan's sections by criterion, each measure with its
shortcoming, planned deadline and responsible person, and the two columns of «Сведения о ходе
реализации мероприятия» filled from the store.

Pure: `services/read/form_report.py` fills it; the writers (form_docx, form_xlsx, form_html)
print it; JSON is `FormReport.model_dump_json()` (docs/report-form.schema.json). The texts of
the two progress cells are made here once, so every format says the same.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from nok_workflow.reports.model import Model, Period
from nok_workflow.text import date_short

SCHEMA_VERSION = 1


class Measure(Model):
    """One thing done: what the executor wrote on upload and the document it is shown by."""

    text: str = Field(description="Что сделано (комментарий исполнителя или сведения из плана)")
    document: str | None = Field(default=None, description="Имя файла или адрес ссылки; нет — запись из плана")
    document_date: dt.date
    url: str | None = Field(default=None, description="Где открыть документ")
    period: str | None = Field(default=None, description="Период обязательства, если их у мероприятия несколько")


class FormRow(Model):
    number: str
    shortcoming: str = Field(description="Недостаток, выявленный независимой оценкой")
    measure: str = Field(description="Наименование мероприятия")
    deadline: str = Field(description="Плановый срок реализации — словами плана")
    responsible: list[str] = Field(description="Ответственные: ФИО и должность")
    done: list[Measure] = Field(default_factory=list, description="Реализованные меры")
    done_on: dt.date | None = Field(default=None, description="Фактический срок: последнее выполненное")
    periods_done: list[str] = Field(default_factory=list, description="Выполненные периоды, если их несколько")
    periods_total: int = Field(description="Обязательств у мероприятия (без отменённых)")
    overdue_since: dt.date | None = Field(default=None, description="Самый ранний пропущенный срок открытого")
    cancelled: bool = Field(default=False, description="Мероприятие снято или исключено из плана")

    @property
    def measures_text(self) -> str:
        return "\n".join(measure_line(m) for m in self.done)

    @property
    def done_text(self) -> str:
        """The cell «фактический срок реализации»: the day, which periods when several, the overdue mark."""
        parts = []
        if self.cancelled:
            parts.append("отменено")
        if self.done_on is not None:
            day = date_short(self.done_on)
            if self.periods_total > 1:
                day += f" (выполнено {len(self.periods_done)} из {self.periods_total}: {', '.join(self.periods_done)})"
            parts.append(day)
        if self.overdue_since is not None:
            parts.append(f"просрочено (срок {date_short(self.overdue_since)})")
        return "\n".join(parts)


def measure_line(m: Measure) -> str:
    """«<что сделано> (<документ> от <дата>)»; a record from the plan — its text and date."""
    head = f"{m.period}: " if m.period else ""
    if m.document is None:
        return f"{head}{m.text} ({date_short(m.document_date)})"
    text = f"{m.text} — " if m.text else ""
    return f"{head}{text}{m.document} от {date_short(m.document_date)}"


class FormSection(Model):
    criterion: int | None = Field(default=None, description="Критерий независимой оценки, 1–5")
    title: str = Field(description="Заголовок раздела, как в форме: «I. Открытость и доступность …»")
    rows: list[FormRow]


class FormReport(Model):
    schema_version: int = SCHEMA_VERSION
    plan_id: str
    plan_title: str
    organisation: str | None = Field(default=None, description="Организация, чей это план")
    period: Period
    as_of: dt.date = Field(description="По состоянию на")
    generated_at: dt.datetime
    sections: list[FormSection]

    @property
    def rows(self) -> list[FormRow]:
        return [r for s in self.sections for r in s.rows]
