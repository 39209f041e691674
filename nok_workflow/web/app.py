"""The web app of `nok serve`: pages for executors (by their personal link) and coordinators
(signed in), a JSON API for other systems. Thin: every action is a service call the CLI
makes too; this package only reads requests and renders answers."""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from nok_workflow import clock
from nok_workflow.problems import InputError
from nok_workflow.services.read.catalog import plan_ids
from nok_workflow.tokens import run_token
from nok_workflow.web import (
    api,
    api_directory,
    api_drafts,
    calendar,
    coordinator,
    coordinator_campaign_report,
    executor,
    executor_chats,
    first_run,
    public,
    signin,
)
from nok_workflow.web.auth import SignInRequired
from nok_workflow.web.coordinator_drafts import DRAFT_ERRORS
from nok_workflow.web.coordinator_drafts import refusal as draft_refusal
from nok_workflow.web.context import WebContext
from nok_workflow.web.pages import STATIC, PageError, error_response, not_found
from nok_workflow.web.security import BodyLimit, Guard


def create_app(context: WebContext) -> FastAPI:
    app = FastAPI(title="nok-workflow", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = context
    # A file of the largest allowed size plus the form around it.
    max_body = context.settings.evidence_max_bytes + 1024 * 1024
    app.add_middleware(BodyLimit, max_bytes=max_body)  # added first: the innermost
    app.add_middleware(Guard, allowed_hosts=context.settings.hosts(),
                       secure_cookies=context.settings.base_url.startswith("https:"))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return error_response(request, exc)

    for refused in DRAFT_ERRORS:
        @app.exception_handler(refused)
        async def draft_refused(request: Request, exc: Exception) -> Response:
            return error_response(request, draft_refusal(exc))

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        # A user's mistake the services refused: the same words the CLI prints.
        return error_response(request, PageError(422, "Не принято", "\n".join(p.message for p in exc.problems),
                                                 "Исправьте и отправьте ещё раз."))

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return error_response(request, PageError(401, "Нужен вход", "Войдите как координатор или передайте "
                                                     "API-токен в заголовке Authorization."))
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(request, not_found())
        if exc.status_code == 405:
            return error_response(request, PageError(405, "Так эту страницу не открывают",
                                                     "Этот адрес принимает только отправку формы.",
                                                     "Вернитесь назад и воспользуйтесь кнопкой на странице."))
        return error_response(request, PageError(exc.status_code, "Запрос не выполнен", str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors()[:5])
        return error_response(request, PageError(422, "Форма заполнена неверно",
                                                 f"Проверьте поля: {fields}.", "Исправьте и отправьте ещё раз."))

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "plans": len(plan_ids(context.engine)), **context.runtime()}

    @app.post("/api/plans/{plan_id}/run", status_code=202)
    def run(request: Request, plan_id: str, now: str | None = None) -> dict[str, str]:
        """Ask for a run (coalesced: at most one running and one waiting per plan); `now` is
        a simulated moment for it (ISO), as `--now` gave it to the caller. Only for `nok`
        commands of this store: they sign with its key (no page in a browser can)."""
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), run_token(context.key).encode()):
            raise PageError(403, "Запрос отклонён", "Запуск плана могут запросить только команды nok этого "
                            "хранилища.")
        if plan_id not in plan_ids(context.engine):
            raise PageError(404, f"план «{plan_id}» не загружен")
        moment = None
        if now is not None:
            try:
                moment = clock.parse_now(now)
            except InputError as exc:
                raise PageError(422, str(exc.problems[0])) from None
        return {"plan": plan_id, "status": context.trigger(plan_id, moment)}

    app.include_router(signin.router)
    app.include_router(first_run.router)
    app.include_router(executor.router)
    app.include_router(executor_chats.router)
    app.include_router(calendar.router)
    app.include_router(public.router)
    app.include_router(coordinator.router)
    app.include_router(coordinator_campaign_report.router)
    app.include_router(api.router)
    app.include_router(api_drafts.router)
    app.include_router(api_directory.router)
    return app

