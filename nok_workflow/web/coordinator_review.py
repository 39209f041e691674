"""Reviewing evidence: what awaits a decision, accept or reject (with a reason), and the
stored file itself — only ever as a download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from nok_workflow.services.commands import evidence
from nok_workflow.services.read import plan_view
from nok_workflow.services.read.dashboard import dashboard
from nok_workflow.store.models import Account, Evidence
from nok_workflow.web.auth import coordinator, ctx, require_plan
from nok_workflow.web.coordinator_common import done, page
from nok_workflow.web.pages import PageError, evidence_attachment, not_found
from nok_workflow.web.security import csrf_protect

router = APIRouter()


def _evidence(request: Request, plan_id: str, evidence_id: str) -> Evidence:
    if not evidence_id.isdigit() or len(evidence_id) > 18:
        raise not_found()
    found = plan_view.evidence_of_plan(ctx(request).engine, plan_id, int(evidence_id))
    if found is None:
        raise not_found()
    return found


@router.get("/plans/{plan_id}/review")
def review_page(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    require_plan(request, account, plan_id)
    c = ctx(request)
    pending, total, decided = plan_view.review_queue(c.engine, plan_id)
    return page(request, "coord_review.html", d=dashboard(c.engine, plan_id, c.now()), tab="review",
                pending=pending, pending_total=total, decided=decided)


@router.post("/plans/{plan_id}/evidence/{evidence_id}/review", dependencies=[Depends(csrf_protect)])
def review(request: Request, plan_id: str, evidence_id: str, account: Annotated[Account, Depends(coordinator)],
           decision: Annotated[str, Form(max_length=16)],
           reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    require_plan(request, account, plan_id)
    found = _evidence(request, plan_id, evidence_id)
    if decision not in ("accept", "reject"):
        raise PageError(422, "Не выбрано решение", "Нажмите «Принять» или «Отклонить».")
    accept = decision == "accept"
    if not accept and not reason.strip():
        raise PageError(422, "Укажите причину отклонения",
                        "Документ отклоняется только с причиной: исполнитель получит её в письме и поймёт, "
                        "что исправить.", "Вернитесь назад, впишите причину и нажмите «Отклонить» ещё раз.")
    c = ctx(request)
    evidence.review(c.engine, evidence_id=found.id, accept=accept, reason=None if accept else reason.strip(),
                    by=account.login, now=c.now())
    said = c.run_plan(plan_id)
    word = "принят" if accept else "отклонён"
    return done(request, f"/plans/{plan_id}/review", f"Документ №{found.id} {word}. {said}")


@router.get("/plans/{plan_id}/evidence/{evidence_id}/file")
def evidence_file(request: Request, plan_id: str, evidence_id: str,
                  account: Annotated[Account, Depends(coordinator)]) -> Response:
    require_plan(request, account, plan_id)
    found = _evidence(request, plan_id, evidence_id)
    return evidence_attachment(ctx(request).settings.evidence_dir, found,
                               "Сообщите администратору сервера: папку документов могли перенести или очистить.")
