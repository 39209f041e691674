"""Server-rendered pages: the Jinja2 environment (every value escaped), and refusals as
pages in Russian that say what to do, with the right status code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from nok_workflow.status import LABELS
from nok_workflow.text import date_long, percent

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)
env.globals["LABELS"] = LABELS


def _ru_date(value: dt.date | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return f"{value.day:02}.{value.month:02}.{value.year}"


env.filters["ru_date"] = _ru_date
env.filters["percent"] = percent
env.filters["date_long"] = lambda d: date_long(dt.date.fromisoformat(d) if isinstance(d, str) else d) if d else "—"
env.filters["status_label"] = lambda s: LABELS.get(s, s)


class PageError(Exception):
    """A refusal shown as a page (or, under /api/, as JSON): status, what happened, what to do."""

    def __init__(self, status: int, title: str, message: str = "", hint: str = "") -> None:
        super().__init__(title)
        self.status, self.title, self.message, self.hint = status, title, message, hint


NOT_FOUND = ("Страница не найдена",
             "Такой страницы нет. Если вы открыли ссылку из письма, возможно, она устарела или была заменена.",
             "Откройте ссылку из последнего письма-сводки или обратитесь к координатору плана.")


def not_found() -> PageError:
    """The one answer for unknown, forged, revoked and expired links alike."""
    return PageError(404, *NOT_FOUND)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("account", getattr(request.state, "account", None))
    html = env.get_template(template).render(request=request, csrf=getattr(request.state, "csrf", ""),
                                             **context)
    return HTMLResponse(html, status_code=status)


def error_response(request: Request, exc: PageError) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.title, "detail": exc.message, "hint": exc.hint},
                            status_code=exc.status)
    return render(request, "error.html", status=exc.status, error=exc)


def evidence_attachment(evidence_dir: Path, evidence: Any, hint: str) -> FileResponse:
    """A stored evidence file, always as a download with the type checked at intake: a file
    from a user must never render as a page of this site. `hint`: whom to tell when the
    file is gone from the evidence folder."""
    from urllib.parse import quote

    from nok_workflow.evidence_files import path_of

    if not evidence.sha256:
        raise not_found()
    path = path_of(evidence_dir, evidence.sha256)
    if not path.is_file():
        raise PageError(404, "Файл документа не найден в хранилище",
                        f"Запись о документе №{evidence.id} есть, а файла в папке документов нет.", hint)
    name = evidence.file_name or f"документ-{evidence.id}"
    return FileResponse(path, media_type=evidence.media_type or "application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })
