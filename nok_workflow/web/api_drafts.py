"""Plan drafts over the JSON API (a coordinator's token): a document → a draft, the draft as the
review page shows it, a row corrected, the draft applied. The same service calls as the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from nok_workflow.services.commands import drafts
from nok_workflow.services.read import drafts as review
from nok_workflow.web.api import Who, coordinator_only
from nok_workflow.web.api_models import DraftApplyIn, DraftApplyOut, DraftOut, DraftRowIn, errors
from nok_workflow.web.auth import ctx
from nok_workflow.web.coordinator_common import uploaded_name
from nok_workflow.web.security import too_large

router = APIRouter(prefix="/api/v1")


def _out(d: review.DraftView) -> dict:
    return {
        "id": d.id, "state": d.state, "source_name": d.source_name, "plan": d.meta["plan_id"],
        "title": d.meta["title"], "period": d.period, "existing_version": d.existing_version,
        "expires_at": d.expires_at.isoformat(), "attention": d.attention, "problems": d.problems, "notes": d.notes,
        "rows": [{"key": r.key, "origin": r.origin, "section": r.section, "number": r.number, "title": r.title,
                  "deadline": r.deadline, "dates": r.dates, "doubts": r.deadline_doubts, "owners_text": r.owners_text,
                  "owners": [vars(o) for o in r.owners], "result": r.result, "attention": r.attention,
                  "corrected": r.corrected} for r in d.rows],
    }


@router.post("/drafts", status_code=201, summary="Черновик плана из документа", response_model=DraftOut,
             responses=errors(401, 403, 413, 422), response_description="Черновик создан")
def create_draft(
    request: Request, who: Who,
    file: Annotated[UploadFile, File(description="Документ плана: .docx, .pdf, .xlsx, .ods, .odt или текст")],
    year: Annotated[int | None, Form(ge=1900, le=2200, description="Год плана, если в документе его нет")] = None,
) -> dict:
    """Только токен координатора. Документ читается и становится черновиком (сам файл не хранится); в планы
    ничего не загружается до применения. Ответственные сверяются со справочниками планов координатора; id плана —
    из имени файла (план с таким id — новая редакция)."""
    coordinator_only(who)
    c = ctx(request)
    raw = file.file.read(drafts.MAX_DOCUMENT_BYTES + 1)
    if len(raw) > drafts.MAX_DOCUMENT_BYTES:
        raise too_large(drafts.MAX_DOCUMENT_BYTES)
    draft_id = drafts.create(c.engine, owner=who.actor, name=uploaded_name(file.filename, "план"),
                             data=raw, now=c.now(), year=year)
    return _out(review.view(c.engine, draft_id, who.actor, c.now()))


@router.get("/drafts/{draft_id}", summary="Черновик плана", response_model=DraftOut,
            responses=errors(401, 403, 404, 410), response_description="Черновик и как понята каждая строка")
def get_draft(request: Request, who: Who, draft_id: str) -> dict:
    """Каждая строка — как в документе и как понята; строки, требующие внимания, — первыми."""
    coordinator_only(who)
    c = ctx(request)
    return _out(review.view(c.engine, draft_id, who.actor, c.now()))


@router.post("/drafts/{draft_id}/rows/{row}", summary="Исправить строку черновика", response_model=DraftOut,
             responses=errors(401, 403, 404, 409, 410, 422), response_description="Черновик, проверенный заново")
def edit_draft_row(request: Request, who: Who, draft_id: str, row: str, body: DraftRowIn) -> dict:
    """Название, срок, ответственные (выбранные из справочника и/или новый) или деление строки на две
    (split_title и split_number: второй пункт; первый получает title, если он задан)."""
    coordinator_only(who)
    c = ctx(request)
    current = next((r for r in review.view(c.engine, draft_id, who.actor, c.now()).rows if r.key == row), None)
    split = None
    if body.split_title is not None or body.split_number is not None:
        split = (body.title if body.title is not None else (current.title if current else ""),
                 body.split_title or "", body.split_number or (current.split_number if current else ""))
    drafts.edit_row(c.engine, draft_id, owner=who.actor, now=c.now(), row=row,
                    title=body.title if split is None else None, deadline=body.deadline,
                    owners=body.owners if body.owners is not None or body.new_owner is None else None,
                    new_owner=body.new_owner.model_dump() if body.new_owner else None, split=split)
    return _out(review.view(c.engine, draft_id, who.actor, c.now()))


@router.post("/drafts/{draft_id}/apply", summary="Применить черновик", response_model=DraftApplyOut,
             responses=errors(401, 403, 404, 409, 410, 422), response_description="План загружен")
def apply_draft(request: Request, who: Who, draft_id: str, body: DraftApplyIn) -> dict:
    """Черновик становится планом (или новой редакцией плана с тем же id). Если с версии base план изменили —
    409, ничего не записано; повторное применение — 409."""
    coordinator_only(who)
    c = ctx(request)
    result = drafts.apply(c.engine, draft_id, owner=who.actor, now=c.now(), base=body.base)
    plan_id = result.diff.plan_id
    return {"plan": plan_id, "version": result.version, "applied": result.applied, "changes": result.diff.lines(),
            "run": c.trigger(plan_id, c.simulated()) if result.applied else ""}
