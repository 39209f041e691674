"""FastAPI app of `nok serve`. Thin: it reads the store through the services."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow import clock
from nok_workflow.problems import InputError
from nok_workflow.services.catalog import plans_overview
from nok_workflow.status import LABELS
from nok_workflow.store.models import Obligation


def create_app(engine: Engine, run_now: Callable[[str, str | None], str],
               runtime: Callable[[], dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="nok-workflow", docs_url=None, redoc_url=None)

    def counts() -> dict[str, dict[str, int]]:
        with Session(engine) as session:
            rows = session.execute(select(Obligation.plan_id, Obligation.status, func.count())
                                   .group_by(Obligation.plan_id, Obligation.status)).all()
        result: dict[str, dict[str, int]] = {}
        for plan_id, status, n in rows:
            result.setdefault(plan_id, {})[status] = n
        return result

    @app.get("/health")
    def health() -> dict[str, Any]:
        plans = plans_overview(engine)
        return {"status": "ok", "plans": len(plans), **runtime()}

    @app.post("/api/plans/{plan_id}/run", status_code=202)
    def run(plan_id: str, now: str | None = None) -> dict[str, str]:
        """Ask for a run (coalesced: at most one running and one waiting per plan); `now` is
        a simulated moment for it (ISO), as `--now` gave it to the caller."""
        if plan_id not in {p["id"] for p in plans_overview(engine)}:
            raise HTTPException(404, f"план «{plan_id}» не загружен")
        if now is not None:
            try:
                clock.parse_now(now)
            except InputError as exc:
                raise HTTPException(422, str(exc.problems[0])) from None
        return {"plan": plan_id, "status": run_now(plan_id, now)}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        plans, by_plan, state = plans_overview(engine), counts(), runtime()
        order = ["escalated", "overdue", "due_soon", "open", "upcoming", "done", "done_late", "waived", "cancelled"]
        head = "".join(f"<th>{LABELS[s]}</th>" for s in order)
        rows = "".join(
            f"<tr><td>{html.escape(p['id'])}</td><td>{html.escape(p['title'])}</td>"
            + "".join(f"<td>{by_plan.get(p['id'], {}).get(s, 0)}</td>" for s in order)
            + f"<td>{html.escape(state['next_runs'].get(p['id'], '—'))}</td></tr>"
            for p in plans
        )
        return (
            "<!doctype html><html lang='ru'><meta charset='utf-8'><title>nok-workflow</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px}</style>"
            "<h1>Планы НОК/НОКО</h1>"
            f"<p>Последний запуск: {html.escape(state.get('last_run') or '—')}</p>"
            f"<table><tr><th>План</th><th>Название</th>{head}<th>Следующий запуск</th></tr>{rows}</table>"
            "</html>"
        )

    return app
