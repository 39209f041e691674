"""The plan page (items, their interpretation and obligations), waivers, and loading a plan
file from the browser: check → show the diff → apply, as `nok plan load` does."""

from __future__ import annotations

import hashlib
import re
import time
from contextlib import suppress
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from nok_workflow.files import write_atomically
from nok_workflow.plan.source import MAX_FILE_BYTES, decode, parse
from nok_workflow.plan.validate import LoadedPlan, validate_document
from nok_workflow.problems import InputError
from nok_workflow.services.commands import evidence, plans
from nok_workflow.services.commands.drafts import MAX_DOCUMENT_BYTES
from nok_workflow.services.read import plan_view
from nok_workflow.services.read.dashboard import dashboard
from nok_workflow.store.models import Account
from nok_workflow.web import coordinator_drafts
from nok_workflow.web.auth import coordinator, ctx, require_plan
from nok_workflow.web.coordinator_common import done, page, uploaded_name
from nok_workflow.web.pages import PageError, not_found
from nok_workflow.web.security import csrf_protect

router = APIRouter()
STAGED_HOURS = 24  # an upload not applied within a day is dropped
_SHA = re.compile(r"[0-9a-f]{64}")


@router.get("/plans/{plan_id}/items")
def plan_items(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)],
               item: Annotated[str | None, Query(max_length=64)] = None,
               page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1) -> Response:
    require_plan(request, account, plan_id)
    c = ctx(request)
    d = dashboard(c.engine, plan_id, c.now())
    if item is not None:
        found = plan_view.item_page(c.engine, plan_id, item, page_no, c.now())
        if found is None:
            raise PageError(404, f"В плане нет пункта «{item}»", "Такого пункта нет в текущей версии плана.",
                            "Откройте список пунктов плана и выберите пункт там.")
        view, rows, total = found
        pages = max((total + plan_view.PAGE - 1) // plan_view.PAGE, 1)
        return page(request, "coord_item.html", d=d, tab="items", item=view, rows=rows, total=total,
                    page_no=page_no, pages=pages)
    return page(request, "coord_items.html", d=d, tab="items", items=plan_view.items(c.engine, plan_id, c.now()),
                listed=plan_view.LISTED)


@router.post("/plans/{plan_id}/waive", dependencies=[Depends(csrf_protect)])
def waive(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)],
          item: Annotated[str, Form(max_length=64)], reason: Annotated[str, Form(max_length=2000)] = "",
          period: Annotated[str, Form(max_length=32)] = "", org: Annotated[str, Form(max_length=64)] = "",
          back: Annotated[str, Form(max_length=16)] = "") -> Response:
    require_plan(request, account, plan_id)
    if not reason.strip():
        raise PageError(422, "Укажите причину снятия",
                        "Обязательство снимается только с причиной: она остаётся в журнале плана.",
                        "Вернитесь назад, впишите причину и нажмите «Снять» ещё раз.")
    c = ctx(request)
    ob = evidence.waive(c.engine, plan_id=plan_id, item=item, period=period.strip() or None,
                        org=org.strip() or None, reason=reason.strip(), by=account.login, now=c.now())
    said = c.run_plan(plan_id)
    where = f"/plans/{plan_id}/items" + (f"?item={quote(item)}" if back == "item" else "")
    return done(request, where, f"Обязательство снято: пункт {item}, период {ob.period}. {said}")


# --- plan upload ------------------------------------------------------------------------

def _staged_dir(request: Request) -> Path:
    return ctx(request).settings.home / "staged-plans"


def _clean_name(raw: str | None) -> str:
    return uploaded_name(raw, "план.yaml")


def _problem_lines(exc: InputError) -> list[str]:
    return [(f"строка {p.line}, столбец {p.column}: " if p.line else "") + p.message for p in exc.problems]


def _check(request: Request, account: Account, name: str, text: str) -> LoadedPlan:
    """The file as a plan this coordinator may load: valid, theirs, and not another's in the store."""
    try:
        loaded = validate_document(parse(text, name))
    except InputError as exc:
        raise _Invalid(_problem_lines(exc)) from None
    plan = loaded.plan
    if plan.coordinator != account.login:
        raise PageError(403, "Это план другого координатора",
                        f"В файле плана «{plan.id}» координатор — «{plan.coordinator}», а вы вошли как "
                        f"«{account.login}».",
                        f"Загрузить его может только координатор «{plan.coordinator}». Если план ваш, исправьте "
                        "поле coordinator в файле.")
    existing = plan_view.plan_exists(ctx(request).engine, plan.id)
    if existing is not None and existing.coordinator != account.login:
        raise PageError(403, "Это план другого координатора",
                        f"План «{plan.id}» уже загружен, и его ведёт координатор «{existing.coordinator}».",
                        "Изменить его может только этот координатор; для своего плана выберите другой id.")
    return loaded


class _Invalid(Exception):
    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _drop_stale(folder: Path) -> None:
    limit = time.time() - STAGED_HOURS * 3600
    for old in folder.glob("*.yaml"):
        with suppress(OSError):
            if old.stat().st_mtime < limit:
                old.unlink()


def confirm_plan_text(request: Request, account: Account, name: str, text: str, **shown) -> Response:
    """A plan text made in the browser (an edited item, a rollover): checked, its diff shown,
    applied by the same «Применить» as an uploaded file. ``shown``: more for the page."""
    return _prepare(request, account, name, text.encode("utf-8"), **shown)


def _prepare(request: Request, account: Account, name: str, raw: bytes, **shown) -> Response:
    c = ctx(request)
    try:
        if len(raw) > MAX_FILE_BYTES:
            raise _Invalid([f"файл больше {MAX_FILE_BYTES // 2**20} МБ — это не план"])
        try:
            text = decode(raw, name)
        except InputError as exc:
            raise _Invalid(_problem_lines(exc)) from None
        loaded = _check(request, account, name, text)
    except _Invalid as exc:
        return page(request, "coord_upload.html", status=422, name=name, problems=exc.lines, **shown)
    result = plans.load(c.engine, Path(name), actor=account.login, now=c.now(), dry_run=True, read=(loaded, text))
    diff = result.diff
    if not diff.empty:
        folder = _staged_dir(request)
        folder.mkdir(parents=True, exist_ok=True)
        _drop_stale(folder)
        write_atomically(folder / f"{diff.sha256}.yaml", text, force=True)
    return page(request, "coord_upload.html", name=name, diff=diff, plan=loaded.plan,
                warnings=[str(w.message) for w in loaded.warnings], **shown)


@router.post("/plans/upload", dependencies=[Depends(csrf_protect)])
async def upload(request: Request, account: Annotated[Account, Depends(coordinator)],
                 file: Annotated[UploadFile, File()],
                 year: Annotated[str, Form(max_length=16)] = "") -> Response:
    """A YAML plan file: check and show the diff; a plan document (Word, PDF, a table, text): a
    draft to review (`coordinator_drafts`)."""
    raw = await file.read(max(MAX_FILE_BYTES, MAX_DOCUMENT_BYTES) + 1)
    name = _clean_name(file.filename)
    if not name.lower().endswith((".yaml", ".yml")):
        year = year.strip()
        if year and not (year.isdigit() and 1900 <= int(year) <= 2200):
            return page(request, "coord_upload.html", status=422, name=name, document=True,
                        problems=[f"год плана «{year}» записан неверно: нужен год из четырёх цифр, например 2025"])
        return await run_in_threadpool(coordinator_drafts.start, request, account, name, raw,
                                       int(year) if year else None)
    # Validation of a region's plan takes a fraction of a second of CPU: off the event loop.
    return await run_in_threadpool(_prepare, request, account, name, raw)


@router.post("/plans/upload/apply", dependencies=[Depends(csrf_protect)])
def apply(request: Request, account: Annotated[Account, Depends(coordinator)],
          sha256: Annotated[str, Form(max_length=64)], base: Annotated[int, Form(ge=0)] = 0,
          name: Annotated[str, Form(max_length=300)] = "") -> Response:
    staged = _staged_dir(request) / f"{sha256}.yaml"
    if not _SHA.fullmatch(sha256) or not staged.is_file():
        raise PageError(404, "Загруженный файл не найден",
                        "Этот файл уже применён или устарел (файлы ждут применения сутки).",
                        "Загрузите файл ещё раз.")
    c = ctx(request)
    name = _clean_name(name)
    try:
        text = decode(staged.read_bytes(), name)
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != sha256:
            raise not_found()
        try:
            loaded = _check(request, account, name, text)
        except _Invalid as exc:  # the rules changed since the upload
            return page(request, "coord_upload.html", status=422, name=name, problems=exc.lines)
        existing = plan_view.plan_exists(c.engine, loaded.plan.id)
        current = existing.current_version if existing is not None else 0
        if current != base:  # what was confirmed is no longer what applying would do
            raise PageError(409, "План изменился после проверки",
                            f"Пока вы смотрели изменения, план «{loaded.plan.id}» изменили: сейчас версия {current}, "
                            f"а изменения были показаны относительно версии {base}. Ничего не записано.",
                            "Загрузите файл ещё раз, чтобы увидеть, что он изменит теперь.")
        result = plans.load(c.engine, Path(name), actor=account.login, now=c.now(), read=(loaded, text))
    finally:
        staged.unlink(missing_ok=True)
    plan_id = result.diff.plan_id
    if not result.applied:
        return done(request, f"/plans/{plan_id}", f"План «{plan_id}» не изменился: изменений нет.", "notice")
    said = c.run_plan(plan_id)
    return done(request, f"/plans/{plan_id}", f"Загружена версия {result.version} плана «{plan_id}». {said}")
