"""A plan document in the browser: uploaded, it becomes a draft (`services/commands/drafts`);
the review page shows every row as the document has it beside how it was understood, rows
needing a person first, each with its correction form; «Применить» shows what changes, then
applies. The refusals (another's draft, an expired or applied one, a changed version) are
pages of their own (`refusal`), for the API too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from nok_workflow.problems import InputError
from nok_workflow.services.commands import draft_organisation, drafts
from nok_workflow.services.read import drafts as review
from nok_workflow.services.read.campaigns import campaign_of_plan
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx
from nok_workflow.web.coordinator_common import done, page
from nok_workflow.web.pages import PageError
from nok_workflow.web.security import csrf_protect

router = APIRouter()
DRAFT_ERRORS = (review.DraftNotFound, review.DraftExpired, review.DraftApplied, review.VersionChanged)


def refusal(exc: Exception) -> PageError:
    """A draft's refusal in words (pages and API alike)."""
    if isinstance(exc, review.DraftExpired):
        return PageError(410, "Черновик устарел",
                         f"Черновики хранятся {review.DAYS_KEPT} дней; этот истёк {exc.expires_at:%d.%m.%Y}. "
                         "В планы из него ничего не загружено.",
                         "Загрузите документ ещё раз на странице «Мои планы».")
    if isinstance(exc, review.DraftApplied):
        return PageError(409, "Черновик уже применён",
                         f"Из этого черновика уже загружена версия {exc.version} плана «{exc.plan_id}»; "
                         "повторно он не применяется, ничего не записано.",
                         f"Откройте план «{exc.plan_id}» на странице «Мои планы».")
    if isinstance(exc, review.VersionChanged):
        return PageError(409, "План изменился после проверки",
                         f"Пока вы смотрели изменения, план «{exc.plan_id}» изменили: сейчас версия {exc.current}, "
                         f"а изменения были показаны относительно версии {exc.base}. Ничего не записано.",
                         "Откройте черновик и нажмите «Применить» ещё раз, чтобы увидеть, что он изменит теперь.")
    return PageError(404, "Черновик не найден",
                     "Такого черновика нет, или его загрузил другой координатор.",
                     "Ваши черновики перечислены на странице «Мои планы».")


def start(request: Request, account: Account, name: str, raw: bytes, year: int | None) -> Response:
    """An uploaded document → a draft and its review page; a file that is not a plan → why."""
    c = ctx(request)
    try:
        draft_id = drafts.create(c.engine, owner=account.login, name=name, data=raw,
                                 now=c.now(), year=year)
    except InputError as exc:
        return page(request, "coord_upload.html", status=422, name=name, document=True,
                    problems=[p.message for p in exc.problems])
    return done(request, f"/drafts/{draft_id}", f"Документ «{name}» прочитан. Проверьте, как понята каждая строка, "
                                                "исправьте, что нужно, и примените.", "notice")


def _review(request: Request, account: Account, draft_id: str, status: int = 200, **extra) -> Response:
    c = ctx(request)
    d = review.view(c.engine, draft_id, account.login, c.now())
    return page(request, "coord_draft.html", status=status, d=d, **extra)


@router.get("/drafts/{draft_id}")
def draft_page(request: Request, draft_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    return _review(request, account, draft_id)


@router.post("/drafts/{draft_id}/rows/{row}", dependencies=[Depends(csrf_protect)])
def edit(request: Request, draft_id: str, row: str, account: Annotated[Account, Depends(coordinator)],
         action: Annotated[str, Form(max_length=16)],
         title: Annotated[str, Form(max_length=2000)] = "", deadline: Annotated[str, Form(max_length=500)] = "",
         owners: Annotated[list[str] | None, Form()] = None,
         new_name: Annotated[str, Form(max_length=300)] = "", new_kind: Annotated[str, Form(max_length=16)] = "unit",
         new_email: Annotated[str, Form(max_length=320)] = "",
         second_title: Annotated[str, Form(max_length=2000)] = "",
         second_number: Annotated[str, Form(max_length=32)] = "") -> Response:
    c = ctx(request)
    change: dict = {}
    if action == "title":
        change["title"] = title
    elif action == "deadline":
        change["deadline"] = deadline
    elif action == "owners":
        change["owners"] = [o for o in owners or [] if o]
        if new_name.strip():
            change["new_owner"] = {"name": new_name, "kind": new_kind, "email": new_email}
    elif action == "split":
        change["split"] = (title, second_title, second_number)
    else:
        raise PageError(422, "Форма заполнена неверно", f"Неизвестное действие «{action}».",
                        "Вернитесь к черновику и воспользуйтесь формой строки.")
    try:
        drafts.edit_row(c.engine, draft_id, owner=account.login, now=c.now(), row=row, **change)
    except InputError as exc:
        return _review(request, account, draft_id, status=422, failed=row,
                       failure=[f"{p.file}: {p.message}" for p in exc.problems])
    return done(request, f"/drafts/{draft_id}#row-{row}", "Строка исправлена и проверена заново.")


@router.post("/drafts/{draft_id}/organisation", dependencies=[Depends(csrf_protect)])
def add_organisation(request: Request, draft_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    """A №457 form's organisation the directory does not know, added when the coordinator asks."""
    c = ctx(request)
    try:
        entry_id = draft_organisation.add_organisation(c.engine, draft_id, owner=account.login, now=c.now())
    except InputError as exc:
        return _review(request, account, draft_id, status=422, failure=[p.message for p in exc.problems])
    return done(request, f"/drafts/{draft_id}", f"Организация добавлена в справочник («{entry_id}»); черновик "
                                                "проверен заново.")


@router.post("/drafts/{draft_id}/confirm", dependencies=[Depends(csrf_protect)])
def confirm(request: Request, draft_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    """What applying would change, before anything is written."""
    c = ctx(request)
    d = review.view(c.engine, draft_id, account.login, c.now())
    if d.problems:
        return _review(request, account, draft_id, status=422)
    preview = drafts.preview(c.engine, draft_id, owner=account.login, now=c.now())
    return page(request, "coord_draft_apply.html", d=d, diff=preview.diff, plan=preview.loaded.plan,
                warnings=[str(w.message) for w in preview.loaded.warnings])


@router.post("/drafts/{draft_id}/apply", dependencies=[Depends(csrf_protect)])
def apply(request: Request, draft_id: str, account: Annotated[Account, Depends(coordinator)],
          base: Annotated[int, Form(ge=0)]) -> Response:
    c = ctx(request)
    result = drafts.apply(c.engine, draft_id, owner=account.login, now=c.now(), base=base)
    plan_id = result.diff.plan_id
    if not result.applied:
        return done(request, f"/plans/{plan_id}", f"План «{plan_id}» не изменился: изменений нет.", "notice")
    said = c.run_plan(plan_id)
    # A campaign's draft: back to the campaign, where the next draft waits.
    campaign = campaign_of_plan(c.engine, plan_id)
    back = f"/coordinator/campaigns/{campaign}" if campaign else f"/plans/{plan_id}"
    return done(request, back, f"Загружена версия {result.version} плана «{plan_id}». {said}")
