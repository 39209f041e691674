"""The coordinator's directory in the browser: entries (search, pages), who has no address,
an entry's form (edit, merge a look-alike into it), a new entry, and a list of organisations
uploaded → previewed row by row → applied. Only the signed-in coordinator's own directory;
every action is the service call `nok directory …` makes."""

from __future__ import annotations

import hashlib
import re
import time
from contextlib import suppress
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from nok_workflow.problems import InputError
from nok_workflow.services.commands import directory, directory_import
from nok_workflow.services.commands.directory import KIND_LABELS, EntryFields
from nok_workflow.services.read import directory as read
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx
from nok_workflow.web.coordinator_common import done, uploaded_name
from nok_workflow.web.coordinator_common import page as coordinator_page
from nok_workflow.web.pages import PageError, env
from nok_workflow.web.security import csrf_protect

router = APIRouter()
MAX_LIST_BYTES = 20 * 1024 * 1024
STAGED_HOURS = 24
SHOWN_ROWS = 300  # of a preview: problems and updates first, then new entries
_STAGED = re.compile(r"[0-9a-f]{64}(?:\.(?:xlsx|ods|csv))?")
env.filters["kind_label"] = lambda kind: KIND_LABELS.get(kind, kind)

Coordinator = Annotated[Account, Depends(coordinator)]
PageNo = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]


def page(request: Request, template: str, status: int = 200, **context) -> Response:
    """A directory page: the tab «Без адреса» carries its count on every one of them."""
    if "missing_total" not in context:
        account = request.state.account
        context["missing_total"] = read.missing_total(ctx(request).engine, account.login) if account else 0
    return coordinator_page(request, template, status=status, **context)


def _pages(total: int) -> int:
    return max((total + read.PAGE - 1) // read.PAGE, 1)


@router.get("/directory")
def entries(request: Request, account: Coordinator, page_no: PageNo = 1,
            q: Annotated[str, Query(max_length=200)] = "") -> Response:
    c = ctx(request)
    rows, total = read.entries(c.engine, account.login, query=q, offset=(page_no - 1) * read.PAGE)
    missing = read.missing_total(c.engine, account.login)
    query = (lambda n: "?" + urlencode({"q": q, "page": n} if q else {"page": n}))
    return page(request, "coord_directory.html", tab="entries", rows=rows, total=total, q=q, page_no=page_no,
                pages=_pages(total), missing_total=missing, page_url=query, kinds=KIND_LABELS)


@router.get("/directory/missing")
def missing(request: Request, account: Coordinator, page_no: PageNo = 1) -> Response:
    c = ctx(request)
    rows, total = read.missing(c.engine, account.login, offset=(page_no - 1) * read.PAGE)
    return page(request, "coord_directory_missing.html", tab="missing", rows=rows, missing_total=total,
                page_no=page_no, pages=_pages(total), page_url=lambda n: f"?page={n}")


@router.post("/directory/email", dependencies=[Depends(csrf_protect)])
def set_email(request: Request, account: Coordinator, entry_id: Annotated[str, Form(alias="id", max_length=64)],
              email: Annotated[str, Form(max_length=320)], back: Annotated[str, Form(max_length=16)] = "") -> Response:
    c = ctx(request)
    used = directory.set_email(c.engine, account.login, entry_id, email, by=account.login, now=c.now())
    where = "/directory/missing" if back == "missing" else f"/directory/entry/{quote(entry_id)}"
    return done(request, where, f"Адрес «{entry_id}»: {email.strip()}. Со следующей сводки письма идут на него "
                                f"(в планах: {used}).")


def _fields(name: str, kind: str, short_name: str, email: str, group_id: str, code: str, aliases: str) -> EntryFields:
    return EntryFields(name=name, kind=kind, short_name=short_name, email=email, group_id=group_id, code=code,
                       aliases=tuple(a.strip() for a in aliases.splitlines() if a.strip()))


Text = Annotated[str, Form(max_length=500)]


@router.post("/directory/add", dependencies=[Depends(csrf_protect)])
def add(request: Request, account: Coordinator, name: Text, kind: Annotated[str, Form(max_length=16)] = "organisation",
        entry_id: Annotated[str, Form(alias="id", max_length=64)] = "", short_name: Text = "", email: Text = "",
        group_id: Annotated[str, Form(max_length=64)] = "", code: Annotated[str, Form(max_length=32)] = "",
        aliases: Annotated[str, Form(max_length=5000)] = "") -> Response:
    c = ctx(request)
    entry = directory.add(c.engine, account.login, _fields(name, kind, short_name, email, group_id, code, aliases),
                          by=account.login, now=c.now(), entry_id=entry_id.strip() or None)
    return done(request, f"/directory/entry/{quote(entry.id)}", f"Запись «{entry.name}» добавлена ({entry.id}).")


def _entry_or_404(request: Request, account: Account, entry_id: str) -> read.Entry:
    found = read.entry(ctx(request).engine, account.login, entry_id)
    if found is None:
        raise PageError(404, f"В справочнике нет записи «{entry_id}»", "Её нет или она объединена с другой.",
                        "Откройте справочник и найдите запись поиском.")
    return found


@router.get("/directory/entry/{entry_id}")
def entry_form(request: Request, account: Coordinator, entry_id: str) -> Response:
    entry = _entry_or_404(request, account, entry_id)
    alikes = read.look_alikes(ctx(request).engine, account.login, entry_id)
    return page(request, "coord_directory_entry.html", tab="entries", entry=entry, alikes=alikes, kinds=KIND_LABELS)


@router.post("/directory/entry/{entry_id}", dependencies=[Depends(csrf_protect)])
def edit(request: Request, account: Coordinator, entry_id: str, name: Text,
         kind: Annotated[str, Form(max_length=16)] = "organisation", short_name: Text = "", email: Text = "",
         group_id: Annotated[str, Form(max_length=64)] = "", code: Annotated[str, Form(max_length=32)] = "",
         aliases: Annotated[str, Form(max_length=5000)] = "") -> Response:
    _entry_or_404(request, account, entry_id)
    c = ctx(request)
    entry = directory.edit(c.engine, account.login, entry_id,
                           _fields(name, kind, short_name, email, group_id, code, aliases),
                           by=account.login, now=c.now())
    return done(request, f"/directory/entry/{quote(entry_id)}", f"Запись «{entry.name}» сохранена.")


@router.post("/directory/merge", dependencies=[Depends(csrf_protect)])
def merge(request: Request, account: Coordinator, keep: Annotated[str, Form(max_length=64)],
          drop: Annotated[str, Form(max_length=64)]) -> Response:
    c = ctx(request)
    kept = directory.merge(c.engine, account.login, keep.strip(), drop.strip(), by=account.login, now=c.now())
    return done(request, f"/directory/entry/{quote(kept.id)}",
                f"«{drop}» объединена с «{kept.name}»: её наименование записано как другое написание.")


# --- a list of organisations: upload → preview → apply ----------------------------------------

def _staged_dir(request: Request) -> Path:
    return ctx(request).settings.home / "staged-directory"


def _clean_name(raw: str | None) -> str:
    return uploaded_name(raw, "список")


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if suffix in (".xlsx", ".ods", ".csv") else ""


def _drop_stale(folder: Path) -> None:
    """Lists uploaded and never applied are dropped after a day."""
    limit = time.time() - STAGED_HOURS * 3600
    for old in folder.iterdir():
        with suppress(OSError):
            if old.stat().st_mtime < limit:
                old.unlink()


def _preview(request: Request, account: Account, name: str, raw: bytes) -> Response:
    if not raw:
        return page(request, "coord_directory_import.html", status=422, tab="import", name=name,
                    problems=["файл пуст"])
    if len(raw) > MAX_LIST_BYTES:
        return page(request, "coord_directory_import.html", status=422, tab="import", name=name,
                    problems=[f"файл больше {MAX_LIST_BYTES // 2**20} МБ — это не список организаций"])
    folder = _staged_dir(request)
    folder.mkdir(parents=True, exist_ok=True)
    _drop_stale(folder)
    staged = folder / (hashlib.sha256(raw).hexdigest() + _suffix(name))
    staged.write_bytes(raw)
    try:
        shown = directory_import.preview(ctx(request).engine, account.login, staged, name=name)
    except InputError as exc:
        staged.unlink(missing_ok=True)
        return page(request, "coord_directory_import.html", status=422, tab="import", name=name,
                    problems=[p.message for p in exc.problems])
    order = {"error": 0, "update": 1, "new": 2, "same": 3}
    rows = sorted(shown.rows, key=lambda r: order[r.action])
    return page(request, "coord_directory_import.html", tab="import", name=name, preview=shown,
                counts=shown.counts(), rows=[r for r in rows if r.action != "same"][:SHOWN_ROWS],
                staged=staged.name, actions=directory_import.ACTIONS)


@router.post("/directory/import", dependencies=[Depends(csrf_protect)])
async def upload(request: Request, account: Coordinator, file: Annotated[UploadFile, File()]) -> Response:
    raw = await file.read(MAX_LIST_BYTES + 1)
    return await run_in_threadpool(_preview, request, account, _clean_name(file.filename), raw)


@router.post("/directory/import/apply", dependencies=[Depends(csrf_protect)])
def apply(request: Request, account: Coordinator, staged: Annotated[str, Form(max_length=80)],
          name: Annotated[str, Form(max_length=300)] = "") -> Response:
    path = _staged_dir(request) / staged
    if not _STAGED.fullmatch(staged) or not path.is_file():
        raise PageError(404, "Загруженный список не найден", "Этот список уже применён или устарел.",
                        "Загрузите файл ещё раз.")
    c = ctx(request)
    try:
        result = directory_import.apply(c.engine, account.login, path, by=account.login, now=c.now(),
                                        name=_clean_name(name))
    finally:
        path.unlink(missing_ok=True)
    counts = result.counts()
    return done(request, "/directory", f"Список «{_clean_name(name)}» применён: новых записей {counts['new']}, "
                                      f"обновлено {counts['update']}.")
