"""The JSON API for other systems (a school's site, the operator's survey tool): obligations,
evidence pushed with a file or a link, review and waiving. Every call carries an API token
(`Authorization: Bearer …`, made by `nok token create`); the session cookie is never taken
here, so no call needs CSRF protection. Each action is the service call the CLI makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nok_workflow import clock, evidence_files
from nok_workflow.problems import InputError
from nok_workflow.services.commands import accounts
from nok_workflow.services.commands import evidence as evidence_service
from nok_workflow.services.read.catalog import plans_overview
from nok_workflow.services.read.obligations import evidence_plan, item_and_period, obligation_page
from nok_workflow.status import LABELS
from nok_workflow.web import api_docs
from nok_workflow.web.api_models import (
    EvidenceOut,
    ObligationPage,
    PlanOut,
    ReviewIn,
    ReviewOut,
    WaiveIn,
    WaiveOut,
    errors,
)
from nok_workflow.web.auth import api_caller, ctx
from nok_workflow.web.pages import PageError
from nok_workflow.web.security import too_large

router = APIRouter()
v1 = APIRouter(prefix="/api/v1")
# Declared for the schema (and /docs); the check itself is auth.api_caller.
bearer = HTTPBearer(auto_error=False, scheme_name="API-токен",
                    description="Заголовок Authorization: Bearer <токен>; токен выдаёт координатор: nok token create")


@dataclass(frozen=True)
class Caller:
    actor: str
    party_plan: str | None  # a party token's plan; None: a coordinator's token
    plans: tuple[str, ...]  # the plans it may see and act on


def caller(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    token = api_caller(request)
    engine = ctx(request).engine
    if token.plan_id is not None:
        return Caller(token.actor, token.plan_id, (token.plan_id,))
    if not accounts.account_active(engine, token.actor):
        raise PageError(401, "Нужен API-токен", f"Учётная запись «{token.actor}», от имени которой выдан токен, "
                        "отключена или удалена.", "Попросите координатора выдать новый токен: nok token create.")
    return Caller(token.actor, None, tuple(accounts.coordinated_plans(engine, token.actor)))


Who = Annotated[Caller, Depends(caller)]


def _plan_gone(plan_id: str) -> PageError:
    # Another's plan and a missing one answer alike: a token must not learn which plans exist.
    return PageError(404, f"план «{plan_id}» не найден", "Такого плана нет, или токен не даёт к нему доступа.",
                     "Доступные токену планы: GET /api/v1/plans.")


def _plan_of(who: Caller, plan: str | None) -> str:
    if who.party_plan is not None:
        if plan and plan != who.party_plan:
            raise _plan_gone(plan)
        return who.party_plan
    if not plan:
        raise PageError(422, "Не указан план", "Токен координатора действует во всех его планах: укажите поле plan.",
                        "Доступные планы: GET /api/v1/plans.")
    if plan not in who.plans:
        raise _plan_gone(plan)
    return plan


def coordinator_only(who: Caller) -> None:
    if who.party_plan is not None:
        raise PageError(403, "Действие доступно только координатору",
                        f"Токен действует от имени исполнителя «{who.actor}» плана «{who.party_plan}».",
                        "Нужен токен координатора: nok token create --as <логин координатора> (без --plan).")


@v1.get("/plans", summary="Планы, доступные токену", response_model=list[PlanOut], responses=errors(401),
         response_description="Планы с числом пунктов и обязательств")
def plans(request: Request, who: Who) -> list[dict]:
    """Токен исполнителя видит свой план, токен координатора — все планы, которые он координирует."""
    return [p for p in plans_overview(ctx(request).engine) if p["id"] in who.plans]


@v1.get("/obligations", summary="Обязательства", response_model=ObligationPage,
         responses=errors(401, 404, 422), response_description="Страница обязательств")
def obligations(request: Request, who: Who,
                plan: Annotated[str | None, Query(max_length=64, description="Только этот план")] = None,
                status: Annotated[str | None, Query(max_length=16, description="Только это состояние "
                                                    "(open, due_soon, overdue, …)")] = None,
                limit: Annotated[int, Query(ge=1, le=1000, description="Строк на странице (до 1000)")] = 100,
                offset: Annotated[int, Query(ge=0, description="Сколько строк пропустить")] = 0) -> dict:
    """Обязательства токена: у исполнителя — его собственные (организации — её обязательства, человека или
    отдела — пункты, где он ответственный), у координатора — все обязательства его планов. Состояние — на
    последний запуск плана."""
    if status is not None and status not in LABELS:
        raise PageError(422, "Неизвестное состояние", f"«{status}» — нет такого состояния.",
                        "Допустимо: " + ", ".join(LABELS) + ".")
    plan_ids = [_plan_of(who, plan)] if plan or who.party_plan else list(who.plans)
    # A party's token: the obligations it answers for (an executor's own, an organisation's).
    owner = who.actor if who.party_plan is not None else None
    return obligation_page(ctx(request).engine, plan_ids, owner=owner, status=status, limit=limit, offset=offset)


@v1.post("/evidence", status_code=201, summary="Передать документ", response_model=EvidenceOut,
         responses=errors(401, 404, 413, 422), response_description="Документ принят к учёту")
def submit_evidence(
    request: Request, who: Who,
    item: Annotated[str, Form(max_length=64, description="Номер пункта (I.1) или его id")],
    plan: Annotated[str | None, Form(max_length=64, description="id плана: обязателен для токена координатора, "
                                     "у токена исполнителя — его план")] = None,
    period: Annotated[str | None, Form(max_length=32, description="Период (2024-Q4); без него — ближайший "
                                       "открытый")] = None,
    org: Annotated[str | None, Form(max_length=64, description="Организация (для пунктов «каждая организация»; "
                                    "токен организации подставляет себя)")] = None,
    file: Annotated[UploadFile | None, File(description=f"Файл документа ({evidence_files.ACCEPTED})")] = None,
    url: Annotated[str | None, Form(description="Ссылка на публикацию (http:// или https://)")] = None,
    document_date: Annotated[str | None, Form(max_length=32, description="Дата документа: ГГГГ-ММ-ДД или "
                                              "ДД.ММ.ГГГГ; без неё — сегодня")] = None,
    comment: Annotated[str | None, Form(description="Комментарий для координатора")] = None,
) -> dict:
    """Документ (файл и/или ссылка), подтверждающий исполнение пункта; нужен хотя бы один из них. Документ
    принимается к учёту от имени токена, после чего план запускается: зависимые пункты открываются сразу."""
    c = ctx(request)
    plan_id = _plan_of(who, plan)
    period, org = period or None, org or None
    if file is not None and file.size is not None and file.size > c.settings.evidence_max_bytes:
        raise too_large(c.settings.evidence_max_bytes)
    if org is None and who.party_plan is not None:
        # An organisation's token need not name itself.
        org = evidence_service.own_org(c.engine, plan_id=plan_id, party_id=who.actor, item=item, period=period,
                                       now=c.now())
    evidence = evidence_service.submit(
        c.engine, c.settings.evidence_dir, plan_id=plan_id, item=item, by=who.actor, now=c.now(),
        period=period, org=org, url=url or None, comment=comment,
        upload=evidence_files.StreamSource(file.file, file.filename or "", file.size) if file is not None else None,
        document_date=clock.parse_day(document_date, "document_date") if document_date else None,
        max_bytes=c.settings.evidence_max_bytes)
    key, ob_period = item_and_period(c.engine, evidence.obligation_id)
    return {"id": evidence.id, "obligation": evidence.obligation_id, "item": key, "period": ob_period,
            "document_date": evidence.document_date.isoformat(), "sha256": evidence.sha256,
            "review": evidence.review, "run": c.trigger(plan_id, c.simulated())}


@v1.post("/evidence/{evidence_id}/review", summary="Принять или отклонить документ", response_model=ReviewOut,
         responses=errors(401, 403, 404, 422), response_description="Решение записано")
def review_evidence(request: Request, who: Who, evidence_id: int, body: ReviewIn) -> dict:
    """Только токен координатора. Отклонение требует причины; отклонённый документ снова открывает пункт, а
    загрузивший узнает причину из ближайшей сводки."""
    coordinator_only(who)
    c = ctx(request)
    plan_id = evidence_plan(c.engine, evidence_id)
    if plan_id not in who.plans:
        raise PageError(404, f"документ №{evidence_id} не найден", "Такого документа нет в планах этого токена.",
                        "Список документов: nok evidence list.")
    evidence = evidence_service.review(c.engine, evidence_id=evidence_id, accept=body.accept, reason=body.reason,
                                       by=who.actor, now=c.now())
    return {"id": evidence.id, "review": evidence.review, "run": c.trigger(plan_id, c.simulated())}


@v1.post("/waive", summary="Снять обязательство", response_model=WaiveOut, responses=errors(401, 403, 404, 422),
         response_description="Обязательство снято")
def waive(request: Request, who: Who, body: WaiveIn) -> dict:
    """Только токен координатора: обязательство больше не требуется (с причиной, она остаётся в журнале)."""
    coordinator_only(who)
    c = ctx(request)
    plan_id = _plan_of(who, body.plan)
    ob = evidence_service.waive(c.engine, plan_id=plan_id, item=body.item, period=body.period or None,
                                org=body.org or None, reason=body.reason, by=who.actor, now=c.now())
    key, _ = item_and_period(c.engine, ob.id)
    return {"obligation": ob.id, "item": key, "period": ob.period, "state": ob.state,
            "run": c.trigger(plan_id, c.simulated())}


@router.post("/api/sweep", include_in_schema=False)
def sweep(request: Request, plan: Annotated[list[str] | None, Query()] = None, now: str | None = None,
          allow_past: bool = False) -> Response:
    """`nok sweep` handed over to the running `nok serve`: its warm flows run the plans, then
    the dispatch; the answer streams as lines of JSON (nok_workflow.runtime.serve.Runtime.sweep). A
    refusal — an unknown plan, a day before a plan's last run — is 422 with the problems, as
    the CLI would print them. Only for `nok` commands of this store (the run token)."""
    import dataclasses
    import hmac

    from nok_workflow.services.jobs.plan_run import targets
    from nok_workflow.tokens import run_token

    c = ctx(request)
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), run_token(c.key).encode()):
        raise PageError(403, "Запрос отклонён", "Проход по планам могут запросить только команды nok этого хранилища.")
    runner = getattr(request.app.state, "sweep", None)
    if runner is None:
        raise PageError(404, "Проход по планам здесь не выполняется", "Его выполняет только nok serve.")
    try:
        moment = clock.parse_now(now) if now else c.now()
        ids = targets(c.engine, plan or [], moment, allow_past)
    except InputError as exc:
        return JSONResponse({"problems": [dataclasses.asdict(p) for p in exc.problems]}, status_code=422)
    return StreamingResponse(runner(ids, moment.isoformat(), allow_past), media_type="application/x-ndjson")


router.include_router(v1)
router.include_router(api_docs.router)
