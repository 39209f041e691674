"""A campaign's roll-up as data: each organisation's plan and how far its measures have got, in
all and by the assessment's criteria, and its last progress report. Pure: filled by
`services/read/campaign_rollup.py`, written by `reports/rollup_files.py`; JSON is
`Rollup.model_dump_json()`.

A measure (an item of the plan) is counted once, as of the roll-up's day:
done — every obligation of it closed (done late — one of them after its due date); overdue —
not done and a due date passed; open — the rest. Measures waived or removed are left out."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from nok_workflow.reports.model import Model

SCHEMA_VERSION = 1


class Progress(Model):
    total: int = Field(default=0, description="Мероприятий (без снятых)")
    done: int = Field(default=0, description="Выполнено")
    done_late: int = Field(default=0, description="Из выполненных — с нарушением срока")
    overdue: int = Field(default=0, description="Просрочено: срок прошёл, не выполнено")
    open: int = Field(default=0, description="В работе: срок не наступил")

    def __add__(self, other: Progress) -> Progress:
        return Progress(**{k: getattr(self, k) + getattr(other, k) for k in Progress.model_fields})

    @property
    def percent_done(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 0.0


class OrganisationLine(Model):
    plan_id: str
    plan_title: str
    organisation: str = Field(description="Организация плана (или название плана, если она не указана)")
    progress: Progress
    by_criterion: dict[int, Progress] = Field(description="По критериям 1–5 (раздел без критерия — 0)")
    last_report: str | None = Field(default=None, description="Последний сформированный отчёт: квартал")
    last_report_on: dt.date | None = None


class Rollup(Model):
    schema_version: int = SCHEMA_VERSION
    campaign_id: str
    title: str
    year: int
    as_of: dt.date
    generated_at: dt.datetime
    totals: Progress
    by_criterion: dict[int, Progress]
    organisations: list[OrganisationLine]
