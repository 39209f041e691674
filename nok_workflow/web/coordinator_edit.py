"""The rest of the coordinator's year in the browser: edit, add or remove an item, roll the
plan over to the next year. Each makes a new plan text (plan/edit.py, plan/rollover.py) that
goes through the same check → diff → «Применить» as an uploaded file, so every change is an
amendment by `plans.load`: a new version, evidence kept, an entry in the audit log."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from nok_workflow.plan.edit import Edited, ItemFields, add_item, edit_item, fields_of, remove_item
from nok_workflow.plan.rollover import rollover_text
from nok_workflow.plan.source import parse
from nok_workflow.plan.validate import LoadedPlan, validate_document
from nok_workflow.problems import InputError
from nok_workflow.services.read.catalog import PlanSource, plan_source
from nok_workflow.services.read.dashboard import dashboard
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx, require_plan
from nok_workflow.web.coordinator_common import page
from nok_workflow.web.coordinator_plans import confirm_plan_text
from nok_workflow.web.pages import PageError, not_found
from nok_workflow.web.security import csrf_protect

router = APIRouter()
_TEXT = Form(max_length=2000)


def _source(request: Request, account: Account, plan_id: str) -> tuple[PlanSource, LoadedPlan]:
    require_plan(request, account, plan_id)
    found = plan_source(ctx(request).engine, plan_id)
    if found is None:
        raise not_found()
    try:
        return found, validate_document(parse(found.text, found.file))
    except InputError as exc:
        raise PageError(409, "Текущую версию плана нельзя изменить в браузере",
                        f"Сохранённая версия не проходит нынешнюю проверку: {exc.problems[0].message}.",
                        "Загрузите исправленный файл плана на странице «Мои планы».") from None


def _owner_choices(loaded: LoadedPlan) -> list[tuple[str, str]]:
    plan = loaded.plan
    people = [(e.id, e.name) for e in plan.directory]
    groups = [(f"@{g.id}", f"{g.name} (каждая организация группы)") for g in plan.groups]
    return people + groups


def _form(request: Request, plan_id: str, loaded: LoadedPlan, *, key: str | None, fields: ItemFields,
          number: str = "", section: int = 0, problems: list[str] | None = None) -> Response:
    c = ctx(request)
    sections = [f"{s.number or ''} {s.title}".strip() or f"Раздел {i + 1}" for i, s in enumerate(loaded.plan.sections)]
    return page(request, "coord_item_edit.html", status=422 if problems else 200,
                d=dashboard(c.engine, plan_id, c.now()), tab="items", key=key, fields=fields,
                owners=_owner_choices(loaded), sections=sections, number=number, section=section,
                problems=problems or [])


def _confirm(request: Request, account: Account, source: PlanSource, edited: Edited) -> Response:
    return confirm_plan_text(request, account, PurePosixPath(source.file).name, edited.text,
                             crumb="изменение плана", intro=f"В браузере: {edited.what}.")


def _fields(title: str, deadline: str, owners: list[str], results: str) -> ItemFields:
    return ItemFields(title, deadline, tuple(owners), tuple(line for line in results.splitlines() if line.strip()))


@router.get("/plans/{plan_id}/items/new")
def new_item_form(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    _, loaded = _source(request, account, plan_id)
    return _form(request, plan_id, loaded, key=None, fields=ItemFields("", "", (), ()))


@router.post("/plans/{plan_id}/items/new", dependencies=[Depends(csrf_protect)])
def new_item(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)],
             section: Annotated[int, Form(ge=0, le=10_000)], number: Annotated[str, Form(max_length=20)],
             title: Annotated[str, _TEXT], deadline: Annotated[str, _TEXT] = "",
             owners: Annotated[list[str] | None, Form()] = None, results: Annotated[str, _TEXT] = "") -> Response:
    source, loaded = _source(request, account, plan_id)
    fields = _fields(title, deadline, owners or [], results)
    try:
        edited = add_item(source.text, source.file, section, number, fields)
    except InputError as exc:
        return _form(request, plan_id, loaded, key=None, fields=fields, number=number, section=section,
                     problems=[p.message for p in exc.problems])
    return _confirm(request, account, source, edited)


@router.get("/plans/{plan_id}/items/{key}/edit")
def edit_form(request: Request, plan_id: str, key: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    _, loaded = _source(request, account, plan_id)
    try:
        fields = fields_of(loaded, key)
    except InputError:
        raise not_found() from None
    return _form(request, plan_id, loaded, key=key, fields=fields)


@router.post("/plans/{plan_id}/items/{key}/edit", dependencies=[Depends(csrf_protect)])
def edit(request: Request, plan_id: str, key: str, account: Annotated[Account, Depends(coordinator)],
         title: Annotated[str, _TEXT], deadline: Annotated[str, _TEXT] = "",
         owners: Annotated[list[str] | None, Form()] = None, results: Annotated[str, _TEXT] = "") -> Response:
    source, loaded = _source(request, account, plan_id)
    fields = _fields(title, deadline, owners or [], results)
    try:
        edited = edit_item(source.text, source.file, key, fields)
    except InputError as exc:
        return _form(request, plan_id, loaded, key=key, fields=fields, problems=[p.message for p in exc.problems])
    return _confirm(request, account, source, edited)


@router.post("/plans/{plan_id}/items/{key}/remove", dependencies=[Depends(csrf_protect)])
def remove(request: Request, plan_id: str, key: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    source, loaded = _source(request, account, plan_id)
    try:
        edited = remove_item(source.text, source.file, key)
    except InputError as exc:
        return _form(request, plan_id, loaded, key=key, fields=fields_of(loaded, key),
                     problems=[p.message for p in exc.problems])
    return _confirm(request, account, source, edited)


@router.get("/plans/{plan_id}/rollover")
def rollover_form(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    _, loaded = _source(request, account, plan_id)
    c = ctx(request)
    return page(request, "coord_rollover.html", d=dashboard(c.engine, plan_id, c.now()), tab="dashboard",
                year=loaded.plan.period.start.year + 1, problems=[])


@router.post("/plans/{plan_id}/rollover", dependencies=[Depends(csrf_protect)])
def rollover(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)],
             year: Annotated[int, Form(ge=1900, le=2200)]) -> Response:
    source, _ = _source(request, account, plan_id)
    try:
        result = rollover_text(source.text, source.file, year)
    except InputError as exc:
        c = ctx(request)
        return page(request, "coord_rollover.html", status=422, d=dashboard(c.engine, plan_id, c.now()),
                    tab="dashboard", year=year, problems=[p.message for p in exc.problems])
    return confirm_plan_text(request, account, f"{result.new_id}.yaml", result.new_text, crumb="перенос плана",
                             intro=f"План «{result.old_id}» на {year} год: новый план «{result.new_id}». "
                                   "Прежний план остаётся как есть.",
                             review=result.changes, review_notes=result.notes)
