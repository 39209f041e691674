"""The JSON API of a coordinator's directory: entries, who has no address, setting an
address, a list of organisations previewed or applied. Only a coordinator's token (not a
party's): each call acts on that coordinator's own directory, as `nok directory …` does."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from nok_workflow.problems import InputError
from nok_workflow.services.commands import directory, directory_import
from nok_workflow.services.read import directory as read
from nok_workflow.web.api import Who, coordinator_only
from nok_workflow.web.api_models import DirectoryPage, EmailIn, EmailOut, ImportOut, MissingPage, errors
from nok_workflow.web.auth import ctx
from nok_workflow.web.coordinator_directory import MAX_LIST_BYTES, _clean_name, _suffix
from nok_workflow.web.pages import PageError
from nok_workflow.web.security import too_large

router = APIRouter(prefix="/api/v1/directory")
Limit = Annotated[int, Query(ge=1, le=1000, description="Строк на странице (до 1000)")]
Offset = Annotated[int, Query(ge=0, description="Сколько строк пропустить")]


@router.get("", summary="Справочник координатора", response_model=DirectoryPage, responses=errors(401, 403),
            response_description="Страница записей по наименованию")
def entries(request: Request, who: Who, q: Annotated[str, Query(max_length=200, description="Поиск по "
                                                                 "наименованию, id, почте, ИНН")] = "",
            limit: Limit = 100, offset: Offset = 0) -> dict:
    """Записи справочника координатора, чей токен: адреса, которые получают участники планов без своего адреса."""
    coordinator_only(who)
    rows, total = read.entries(ctx(request).engine, who.actor, query=q, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "entries": [r.__dict__ for r in rows]}


@router.get("/missing", summary="Без адреса почты", response_model=MissingPage, responses=errors(401, 403),
            response_description="Участники планов без адреса, больше открытых обязательств — выше")
def missing(request: Request, who: Who, limit: Limit = 100, offset: Offset = 0) -> dict:
    """Исполнители и организации планов координатора, у которых нет адреса почты, с числом открытых обязательств."""
    coordinator_only(who)
    rows, total = read.missing(ctx(request).engine, who.actor, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "missing": [r.__dict__ for r in rows]}


@router.post("/email", summary="Задать адрес почты", response_model=EmailOut, responses=errors(401, 403, 422),
             response_description="Адрес записан")
def set_email(request: Request, who: Who, body: EmailIn) -> dict:
    """Адрес записи справочника (запись создаётся по участнику планов с этим id, если её нет). Следующая сводка
    уйдёт на новый адрес — план перезагружать не нужно."""
    coordinator_only(who)
    c = ctx(request)
    used = directory.set_email(c.engine, who.actor, body.id, body.email, by=who.actor, now=c.now())
    return {"id": body.id.strip(), "email": body.email.strip(), "parties": used}


async def _list(request: Request, who: Who, file: UploadFile, apply: bool) -> dict:
    coordinator_only(who)
    if file.size is not None and file.size > MAX_LIST_BYTES:
        raise too_large(MAX_LIST_BYTES)
    raw = await file.read(MAX_LIST_BYTES + 1)
    if len(raw) > MAX_LIST_BYTES:
        raise too_large(MAX_LIST_BYTES)
    name = _clean_name(file.filename)
    c = ctx(request)

    def run() -> dict:
        with tempfile.TemporaryDirectory(prefix="nok-list-") as folder:
            path = Path(folder) / ("list" + _suffix(name))
            path.write_bytes(raw)
            if apply:
                try:
                    result = directory_import.apply(c.engine, who.actor, path, by=who.actor, now=c.now(),
                                                    name=name)
                except InputError as exc:  # each problem with its row: «список.csv, строка 4: …»
                    raise PageError(422, "Список не принят, ничего не записано",
                                    "\n".join(str(p) for p in exc.problems[:50]),
                                    "Исправьте эти строки и отправьте файл снова.") from None
            else:
                result = directory_import.preview(c.engine, who.actor, path, name=name)
        return {"file": name, "applied": apply, "counts": result.counts(),
                "rows": [{"origin": r.origin, "name": r.name, "email": r.email, "action": r.action, "id": r.entry_id,
                          "message": r.message} for r in result.rows if r.action != "same"]}

    return await run_in_threadpool(run)


FILE = Annotated[UploadFile, File(description="Список организаций: .xlsx, .ods или .csv")]


@router.post("/import/preview", summary="Проверить список организаций", response_model=ImportOut,
             responses=errors(401, 403, 413, 422), response_description="Что изменит список, по строкам")
async def import_preview(request: Request, who: Who, file: FILE) -> dict:
    """Столбцы узнаются по смыслу: «Наименование», «Краткое наименование», «Электронная почта», «Группа» или
    «Тип ОО», «ИНН». Ничего не записывает."""
    return await _list(request, who, file, apply=False)


@router.post("/import/apply", summary="Применить список организаций", response_model=ImportOut,
             responses=errors(401, 403, 413, 422), response_description="Список записан")
async def import_apply(request: Request, who: Who, file: FILE) -> dict:
    """Записывает список одной транзакцией; если в какой-то строке ошибка, не записывает ничего (422 с
    перечнем строк)."""
    return await _list(request, who, file, apply=True)
