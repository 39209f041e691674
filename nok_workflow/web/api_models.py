"""What the JSON API answers and accepts: pydantic models whose Russian descriptions are what
the schema (/openapi.json) and the server-rendered /docs page show."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ApiError(BaseModel):
    """Отказ: что случилось, подробности и что делать."""

    error: str = Field(description="Что случилось")
    detail: str = Field(description="Подробности (для отказа сервиса — его сообщение)")
    hint: str = Field(description="Что делать")


class ObligationOut(BaseModel):
    id: int = Field(description="№ обязательства")
    plan: str = Field(description="id плана")
    item: str = Field(description="Номер пункта, как в плане (напр. I.1)")
    title: str = Field(description="Название пункта")
    period: str = Field(description="Период, напр. 2024-Q4 или 2024")
    org: str | None = Field(description="Организация (для пунктов «каждая организация»), иначе null")
    due: str | None = Field(description="Срок, ГГГГ-ММ-ДД")
    status: str = Field(description="Состояние на последний запуск плана: upcoming, open, due_soon, overdue, "
                                    "escalated, done, done_late, cancelled, waived")
    level: int = Field(description="Уровень эскалации (0 — нет)")
    completed_on: str | None = Field(description="Дата документа, которым обязательство выполнено")
    documents: list[str] = Field(description="Какие документы ожидаются (результаты пункта)")


class ObligationPage(BaseModel):
    total: int = Field(description="Сколько обязательств подходит под условия всего")
    limit: int = Field(description="Сколько строк на странице")
    offset: int = Field(description="Сколько строк пропущено")
    obligations: list[ObligationOut]


class EvidenceOut(BaseModel):
    id: int = Field(description="№ документа")
    obligation: int = Field(description="№ обязательства, к которому он принят")
    item: str = Field(description="Номер пункта")
    period: str = Field(description="Период")
    document_date: str = Field(description="Дата документа, ГГГГ-ММ-ДД")
    sha256: str | None = Field(description="SHA-256 файла (null, если передана только ссылка)")
    review: str = Field(description="Проверка: pending, accepted или rejected")
    run: str = Field(description="Что сделано с запуском плана (зависимые пункты, сроки)")


class ReviewIn(BaseModel):
    accept: bool = Field(description="true — принять, false — отклонить")
    reason: str | None = Field(default=None, max_length=2000,
                               description="Причина отклонения (обязательна при accept=false)")


class ReviewOut(BaseModel):
    id: int = Field(description="№ документа")
    review: str = Field(description="accepted или rejected")
    run: str = Field(description="Что сделано с запуском плана")


class WaiveIn(BaseModel):
    plan: str = Field(max_length=64, description="id плана")
    item: str = Field(max_length=64, description="Номер пункта")
    period: str | None = Field(default=None, max_length=32,
                               description="Период; без него — ближайший открытый")
    org: str | None = Field(default=None, max_length=64, description="Организация (для пунктов каждой организации)")
    reason: str = Field(max_length=2000, description="Почему обязательство снимается")


class WaiveOut(BaseModel):
    obligation: int = Field(description="№ обязательства")
    item: str = Field(description="Номер пункта")
    period: str = Field(description="Период")
    state: str = Field(description="waived")
    run: str = Field(description="Что сделано с запуском плана")


class PlanOut(BaseModel):
    id: str = Field(description="id плана")
    title: str = Field(description="Название")
    version: int = Field(description="Действующая редакция")
    timezone: str = Field(description="Часовой пояс плана")
    coordinator: str = Field(description="Координатор")
    items: int = Field(description="Пунктов")
    obligations: int = Field(description="Обязательств (без отменённых)")
    loaded_at: str = Field(description="Когда загружена редакция")


class DirectoryEntryOut(BaseModel):
    id: str = Field(description="id записи — тот же, что в планах (напр. sch-12)")
    kind: str = Field(description="person, unit, organisation или group")
    name: str = Field(description="Наименование")
    short_name: str | None = Field(description="Краткое наименование")
    email: str | None = Field(description="Адрес почты (null — нет)")
    aliases: list[str] = Field(description="Другие написания (по ним узнаются в планах и списках)")
    group_id: str | None = Field(description="Группа")
    code: str | None = Field(description="ИНН")


class DirectoryPage(BaseModel):
    total: int = Field(description="Сколько записей подходит всего")
    limit: int = Field(description="Сколько строк на странице")
    offset: int = Field(description="Сколько строк пропущено")
    entries: list[DirectoryEntryOut]


class MissingOut(BaseModel):
    id: str = Field(description="id исполнителя или организации в планах")
    name: str = Field(description="Наименование")
    kind: str = Field(description="person, unit или organisation")
    plans: int = Field(description="В скольких планах координатора")
    open: int = Field(description="Открытых обязательств (не выполнены, не сняты, не отменены)")


class MissingPage(BaseModel):
    total: int = Field(description="Сколько всего без адреса")
    limit: int = Field(description="Сколько строк на странице")
    offset: int = Field(description="Сколько строк пропущено")
    missing: list[MissingOut]


class EmailIn(BaseModel):
    id: str = Field(max_length=64, description="id записи или участника плана")
    email: str = Field(max_length=320, description="Адрес почты")


class EmailOut(BaseModel):
    id: str = Field(description="id записи")
    email: str = Field(description="Адрес почты")
    parties: int = Field(description="Во скольких планах он теперь действует")


class ImportRowOut(BaseModel):
    origin: str = Field(description="Файл, лист и строка")
    name: str = Field(description="Наименование")
    email: str = Field(description="Адрес почты из файла")
    action: str = Field(description="new, update, same или error")
    id: str = Field(description="id записи (новой или обновляемой)")
    message: str = Field(description="Ошибка или что изменит обновление")


class ImportOut(BaseModel):
    file: str = Field(description="Имя файла")
    applied: bool = Field(description="Записано ли (preview — никогда)")
    counts: dict[str, int] = Field(description="Строк по действиям: new, update, same, error")
    rows: list[ImportRowOut] = Field(description="Строки, кроме тех, что без изменений")


def errors(*codes: int) -> dict[int | str, dict]:
    """The refusals an operation may answer, for the schema."""
    words = {401: "Нет токена, токен неверен или отозван", 403: "Токен не даёт права на это действие",
             404: "План не найден или недоступен токену", 409: "Уже применено или план изменился",
             410: "Черновик устарел", 413: "Файл больше допустимого",
             422: "Сервис не принял данные (его сообщение — в detail)"}
    return {code: {"model": ApiError, "description": words[code]} for code in codes}


# --- plan drafts -----------------------------------------------------------------------------

class DraftOwnerOut(BaseModel):
    ref: str = Field(description="Ссылка на запись справочника (id) или группу (@id)")
    name: str = Field(description="Название или имя")
    new: bool = Field(description="true — новая запись, в справочниках ваших планов её нет")
    alike: list[str] = Field(description="Похожие названия: возможно, это один исполнитель")


class DraftRowOut(BaseModel):
    key: str = Field(description="Ключ строки черновика (для исправления)")
    origin: str = Field(description="Где строка в документе")
    section: str = Field(description="Раздел")
    number: str = Field(description="Номер пункта, как в документе")
    title: str = Field(description="Название пункта")
    deadline: str = Field(description="Срок, как в документе")
    dates: list[str] = Field(description="Как срок понят: даты ДД.ММ.ГГГГ или интервалы")
    doubts: list[str] = Field(description="Сомнения: срок не понят, год по догадке, ответственные по догадке")
    owners_text: str = Field(description="Ответственные, как в документе")
    owners: list[DraftOwnerOut] = Field(description="Как ответственные поняты")
    result: str = Field(description="Результат (документ)")
    attention: list[str] = Field(description="Почему строку стоит проверить; пусто — понята без сомнений")
    corrected: list[str] = Field(description="Что в строке исправлено: title, deadline, owners, split")


class DraftOut(BaseModel):
    id: str = Field(description="id черновика")
    state: str = Field(description="open — открыт, applied — применён")
    source_name: str = Field(description="Имя загруженного документа")
    plan: str = Field(description="id плана, который получится (существующий — новая редакция)")
    title: str = Field(description="Название плана")
    period: str = Field(description="Период плана")
    existing_version: int = Field(description="Действующая версия плана с этим id (0 — новый план)")
    expires_at: str = Field(description="До какого момента хранится черновик (ISO)")
    attention: int = Field(description="Сколько строк требуют внимания")
    problems: list[str] = Field(description="Что мешает применить; пусто — можно применять")
    notes: list[str] = Field(description="Что проверить в документе")
    rows: list[DraftRowOut] = Field(description="Строки: требующие внимания — первыми")


class DraftNewOwnerIn(BaseModel):
    name: str = Field(max_length=300, description="Название или имя нового ответственного")
    kind: str = Field(default="unit", max_length=16, description="unit — отдел или организация, person — человек")
    email: str | None = Field(default=None, max_length=320, description="Адрес почты")


class DraftRowIn(BaseModel):
    title: str | None = Field(default=None, max_length=2000, description="Новое название пункта")
    deadline: str | None = Field(default=None, max_length=500, description="Новая формулировка срока")
    owners: list[str] | None = Field(default=None, description="Ответственные: ссылки из справочника (ref)")
    new_owner: DraftNewOwnerIn | None = Field(default=None, description="Добавить нового ответственного")
    split_title: str | None = Field(default=None, max_length=2000,
                                    description="Разделить строку: название второго пункта")
    split_number: str | None = Field(default=None, max_length=32, description="Номер второго пункта")


class DraftApplyIn(BaseModel):
    base: int | None = Field(default=None, ge=0, description="Версия плана, относительно которой проверены "
                                                             "изменения; без неё — версия при загрузке документа")


class DraftApplyOut(BaseModel):
    plan: str = Field(description="id плана")
    version: int = Field(description="Действующая версия после применения")
    applied: bool = Field(description="false — изменений не было")
    changes: list[str] = Field(description="Что изменилось")
    run: str = Field(description="Что сделано с запуском плана")
