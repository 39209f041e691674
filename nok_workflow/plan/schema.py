"""The YAML plan format as pydantic models.

These models are the single definition of the format: validation, the shipped JSON
Schema (``plan_definitions/plan.schema.json``) and the README all follow from them.
Cross-references (owner ids, ``depends_on``, ``after``) are checked separately in
:mod:`nok_workflow.plan.crossref`, where the file positions of the offending nodes are known.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Identifier = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        max_length=64,
        description="Латинские строчные буквы, цифры, '_', '-', '.'",
    ),
]
# An owner is a directory id, or "@<group>" meaning every organisation of that group,
# each answering for itself.
OwnerRef = Annotated[str, Field(pattern=r"^@?[a-z0-9][a-z0-9_.-]*$", max_length=65)]
ItemNumber = Annotated[str, Field(pattern=r"^[0-9IVXLC]+(\.\s?[0-9IVXLC]*)*\.?$", max_length=32)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must not silently vanish."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReminderPolicy(Strict):
    days_before: list[Annotated[int, Field(ge=0, le=366)]] | None = Field(
        default=None, description="За сколько дней до срока напоминать (0 — в день срока)"
    )
    working_days: bool | None = Field(default=None, description="Считать дни рабочими")
    hour: Annotated[int, Field(ge=0, le=23)] | None = Field(
        default=None, description="Час отправки по местному времени плана"
    )
    calendar: bool | None = Field(
        default=None,
        description="Напоминать и в календаре подписчика (VALARM) в те же дни и час; по умолчанию нет",
    )


EscalationTarget = Literal["owners", "escalates_to", "coordinator"] | Identifier


class EscalationLevel(Strict):
    after_days: Annotated[int, Field(ge=0, le=366)] = Field(
        description="Через сколько дней после срока"
    )
    to: EscalationTarget = Field(
        description="owners, escalates_to, coordinator или id из справочника"
    )


class EscalationPolicy(Strict):
    working_days: bool | None = None
    levels: list[EscalationLevel] | None = None


DEFAULT_REMINDERS = ReminderPolicy(days_before=[14, 3, 1, 0], working_days=False, hour=9, calendar=False)
DEFAULT_ESCALATION = EscalationPolicy(
    working_days=True,
    levels=[
        EscalationLevel(after_days=1, to="owners"),
        EscalationLevel(after_days=5, to="escalates_to"),
        EscalationLevel(after_days=10, to="coordinator"),
    ],
)


class Offset(Strict):
    """A relative deadline's offset: exactly one unit."""

    days: Annotated[int, Field(ge=0, le=3660)] | None = None
    working_days: Annotated[int, Field(ge=0, le=3660)] | None = None
    months: Annotated[int, Field(ge=0, le=120)] | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> Offset:
        given = [v for v in (self.days, self.working_days, self.months) if v is not None]
        if len(given) != 1:
            raise ValueError("укажите ровно одно из: days, working_days, months")
        return self


class StructuredDeadline(Strict):
    """A deadline given in structured form; ``text`` keeps the document's wording."""

    text: str | None = Field(default=None, description="Формулировка срока как в документе")
    due: dt.date | None = Field(default=None, description="Единственный срок")
    opens: dt.date | None = Field(default=None, description="Начало окна исполнения")
    every: Literal["month", "quarter", "half_year", "year"] | None = Field(
        default=None, description="Периодичность"
    )
    due_day: Annotated[int, Field(ge=1, le=31)] | None = Field(
        default=None,
        description="Срок — это число месяца, следующего за периодом (для every)",
    )
    after: str | None = Field(
        default=None, description="Номер или id пункта, от исполнения которого считается срок"
    )
    offset: Offset | None = None
    unscheduled: bool = Field(default=False, description="Срок не установлен")

    @model_validator(mode="after")
    def _consistent(self) -> StructuredDeadline:
        forms = sum(
            [self.due is not None, self.every is not None, self.after is not None, self.unscheduled]
        )
        if forms > 1:
            raise ValueError("укажите только одно из: due, every, after, unscheduled")
        if forms == 0 and not self.text:
            raise ValueError("нужен text или одно из: due, every, after, unscheduled")
        if self.opens is not None and self.due is not None and self.opens > self.due:
            raise ValueError(f"opens ({self.opens}) позже due ({self.due})")
        if self.opens is not None and self.due is None:
            raise ValueError("opens задаётся только вместе с due")
        if self.due_day is not None and self.every is None:
            raise ValueError("due_day задаётся только вместе с every")
        if self.offset is not None and self.after is None:
            raise ValueError("offset задаётся только вместе с after")
        return self


Deadline = str | StructuredDeadline


class DirectoryEntry(Strict):
    """A person or a unit (department, council, operator) that can own items."""

    id: Identifier
    name: Text
    kind: Literal["person", "unit"] = "unit"
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    position: str | None = None
    aliases: list[Text] = Field(
        default_factory=list, description="Другие написания в документах (для импорта)"
    )
    escalates_to: Identifier | None = Field(
        default=None, description="Кому эскалировать просроченные пункты"
    )
    organisation: Identifier | None = Field(
        default=None, description="Организация, где работает человек (id из справочника или organisations)"
    )


class Group(Strict):
    """A class of organisations: an owner ``@<id>`` means each of them answers for itself."""

    id: Identifier
    name: Text = Field(description="Как группа названа в плане, напр. «Образовательные учреждения»")
    aliases: list[Text] = Field(
        default_factory=list, description="Другие написания в документах (для импорта)"
    )
    escalates_to: Identifier | None = None


class Organisation(Strict):
    id: Identifier
    name: Text
    group: Identifier
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    head: str | None = Field(default=None, description="Руководитель")
    escalates_to: Identifier | None = None


class Progress(Strict):
    """What was already done about an item before the plan was loaded (a plan imported mid-year):
    the form's «Сведения о ходе реализации мероприятия»."""

    measures: Text = Field(description="Реализованные меры")
    done_on: dt.date | None = Field(
        default=None, description="Фактический срок реализации; с ним пункт считается выполненным в этот день"
    )


class Item(Strict):
    number: ItemNumber = Field(description="Номер как в документе: 1, 1.2., 4.5, I.2")
    id: Identifier | None = Field(
        default=None, description="Постоянный идентификатор пункта (сохраняется при правках)"
    )
    title: Text
    deadline: Deadline = Field(default="", description="Срок: формулировка или структура")
    owners: list[OwnerRef] = Field(default_factory=list)
    results: list[Text] = Field(default_factory=list, description="Ожидаемые документы")
    depends_on: list[str] = Field(default_factory=list, description="Номера или id пунктов")
    reminders: ReminderPolicy | None = None
    escalation: EscalationPolicy | None = None
    review_required: bool | None = None
    note: str | None = None
    shortcoming: Text | None = Field(
        default=None,
        description="Недостаток, выявленный независимой оценкой, который устраняет мероприятие "
                    "(план устранения недостатков, форма № 457)",
    )
    progress: Progress | None = Field(default=None, description="Что уже сделано (план, принятый в середине года)")


class Section(Strict):
    number: ItemNumber | None = None
    title: str = ""
    criterion: Annotated[int, Field(ge=1, le=5)] | None = Field(
        default=None,
        description="Критерий независимой оценки, которому посвящён раздел (1–5, план устранения недостатков)",
    )
    items: list[Item] = Field(min_length=1)


MIN_YEAR, MAX_YEAR = 1900, 2200  # as for ``period: 2018`` and ``nok deadline --year``


class Period(Strict):
    start: dt.date
    end: dt.date

    @field_validator("start", "end", mode="before")
    @classmethod
    def _year_as_date(cls, value: object, info) -> object:
        # ``start: 2014`` means the whole year's first day, ``end: 2016`` its last.
        if isinstance(value, int) and not isinstance(value, bool) and MIN_YEAR <= value <= MAX_YEAR:
            return dt.date(value, 1, 1) if info.field_name == "start" else dt.date(value, 12, 31)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start > self.end:
            raise ValueError(f"start ({self.start}) позже end ({self.end})")
        if self.start.year < MIN_YEAR or self.end.year > MAX_YEAR:
            # A year-0001 plan would make every item overdue at once and mail it.
            raise ValueError(f"период плана {self.start.year:04d}–{self.end.year:04d} вне {MIN_YEAR}–{MAX_YEAR} годов")
        if (self.end.year - self.start.year) > 10:
            raise ValueError("период плана длиннее 10 лет")
        return self

    @property
    def years(self) -> range:
        return range(self.start.year, self.end.year + 1)


PlanKind = Literal["plan", "shortcomings"]


class Plan(Strict):
    id: Identifier
    title: Text
    kind: PlanKind = Field(
        default="plan",
        description="plan — план мероприятий; shortcomings — план по устранению недостатков, выявленных "
                    "независимой оценкой (форма Постановления Правительства РФ от 17.04.2018 № 457)",
    )
    organisation: Identifier | None = Field(
        default=None, description="Организация, чей это план (id из справочника или organisations)"
    )
    approved_by: str | None = Field(default=None, description="Кем утверждён")
    approval_act: str | None = Field(
        default=None, description="Акт утверждения, напр. «Приложение № 1 к протоколу №1 от 17.09.2024»"
    )
    period: Period
    timezone: str = Field(default="Europe/Moscow", description="Часовой пояс IANA")
    coordinator: Identifier = Field(description="id координатора плана в справочнике")
    review_required: bool = Field(
        default=False, description="Закрывать пункт только принятым (проверенным) документом"
    )
    reminders: ReminderPolicy = Field(
        default_factory=ReminderPolicy, description="По умолчанию: за 14, 3, 1 день и в день срока, в 9:00"
    )
    escalation: EscalationPolicy = Field(
        default_factory=EscalationPolicy,
        description="По умолчанию: +1 раб. день исполнителям, +5 — escalates_to, +10 — координатору",
    )
    report_item: str | None = Field(
        default=None,
        description="Пункт плана, которым сдаётся квартальный отчёт о его выполнении (номер или id): "
                    "отчёт формируется к его сроку и прикладывается к нему документом",
    )
    report_day: Annotated[int, Field(ge=1, le=28)] | None = Field(
        default=None,
        description="Число месяца после квартала, когда отчёт о ходе выполнения готов и уходит координатору; "
                    "по умолчанию для плана устранения недостатков — 3, для прочих — день после квартала",
    )
    after_period_working_days: int = Field(
        default=10, ge=0, le=60,
        description="Сколько рабочих дней после окончания периода даёт срок «по итогам квартала» "
                    "(полугодия, года, месяца)",
    )
    directory: list[DirectoryEntry] = Field(min_length=1)
    groups: list[Group] = Field(default_factory=list)
    organisations: list[Organisation] = Field(default_factory=list)
    sections: list[Section] = Field(min_length=1)
    notes: str | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _period_shorthand(cls, value: object) -> object:
        # ``period: 2018`` is the whole calendar year.
        if isinstance(value, int) and not isinstance(value, bool):
            return {"start": value, "end": value}
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"неизвестный часовой пояс «{value}» (пример: Asia/Sakhalin)") from None
        return value
