"""The directory's pages, signed in, on SQLite and PostgreSQL: list and search, «без адреса»
with its form, an entry's form and merge, a list uploaded → previewed → applied, the
dashboard's count; another coordinator's directory stays theirs. Then Chromium at 375 and
1280 px."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from nok_workflow.services.commands import accounts, directory, plans
from nok_workflow.services.commands.directory import EntryFields
from nok_workflow.services.read import directory as read
from tests.support.web import MOMENT, client, sign_in
from tests.support.plans import DIRECTORY_PLAN as PLAN

SHOTS = Path("/tmp/shots-directory")


@pytest.fixture
def signed(engine, app_of, write_plan):
    """The test plan (coordinator «uo», three parties without an address), signed in as uo."""
    plans.load(engine, write_plan(PLAN), actor=None, now=MOMENT)
    accounts.add(engine, login="uo", name="Управление образования", email=None, password="correct horse battery",
                 now=MOMENT)
    app = app_of(engine)
    return app, sign_in(app, password="correct horse battery")


@pytest.fixture
def sqlite_engine(tmp_path):
    from nok_workflow.store.db import connect

    engine = connect(f"sqlite:///{tmp_path / 'nok.db'}")
    yield engine
    engine.dispose()


def csrf(c) -> str:
    return c.cookies["nok_csrf"]


def test_missing_page_sets_an_address_and_the_dashboard_counts(engine, signed):
    app, c = signed
    board = c.get("/plans/dir-plan")
    assert "Без адреса почты: <b>3</b>" in board.text and 'href="/directory/missing"' in board.text
    page = c.get("/directory/missing")
    assert page.status_code == 200
    assert "МБОУ «СОШ № 1»" in page.text and 'name="csrf"' in page.text
    assert 'href="/directory"' in page.text  # the coordinator's navigation
    bad = c.post("/directory/email", data={"csrf": csrf(c), "id": "sovet", "email": "совет@", "back": "missing"})
    assert bad.status_code == 422 and "«совет@» — не адрес электронной почты" in bad.text
    done = c.post("/directory/email", data={"csrf": csrf(c), "id": "sovet", "email": "sovet@example.org",
                                            "back": "missing"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/directory/missing"
    after = c.get("/directory/missing")
    assert "Общественный совет" not in after.text and "Со следующей сводки письма идут на него" in after.text
    assert "Без адреса почты: <b>2</b>" in c.get("/plans/dir-plan").text


def test_list_upload_preview_then_apply(engine, signed):
    app, c = signed
    body = "Наименование;Адрес эл. почты;ИНН\nМБОУ «СОШ № 1»;s1@example.org;1\nСад;не адрес;2\n".encode("cp1251")
    refused = c.post("/directory/import", data={"csrf": csrf(c)}, files={"file": ("список.csv", body, "text/csv")})
    assert refused.status_code == 200
    assert "«не адрес» — не адрес электронной почты" in refused.text and "строка 3" in refused.text
    assert "/directory/import/apply" in refused.text and ">Применить<" not in refused.text
    empty = c.post("/directory/import", data={"csrf": csrf(c)}, files={"file": ("пусто.csv", b"", "text/csv")})
    assert empty.status_code == 422 and "файл пуст" in empty.text

    body = body.replace("не адрес".encode("cp1251"), b"sad@example.org")
    shown = c.post("/directory/import", data={"csrf": csrf(c)}, files={"file": ("список.csv", body, "text/csv")})
    assert shown.status_code == 200 and ">Применить<" in shown.text and "новая запись" in shown.text
    assert read.entries(engine, "uo")[1] == 0  # a preview writes nothing
    staged = shown.text.split('name="staged" value="')[1].split('"')[0]
    applied = c.post("/directory/import/apply", data={"csrf": csrf(c), "staged": staged, "name": "список.csv"},
                     follow_redirects=False)
    assert applied.status_code == 303
    assert "новых записей 2" in c.get("/directory").text
    assert read.missing_count(engine, "dir-plan") == 2  # sch-1 took its address by name
    again = c.post("/directory/import/apply", data={"csrf": csrf(c), "staged": staged, "name": "список.csv"})
    assert again.status_code == 404 and "уже применён или устарел" in again.text
    traversal = c.post("/directory/import/apply", data={"csrf": csrf(c), "staged": "../nok.db", "name": "x"})
    assert traversal.status_code == 404


def test_entry_edit_search_and_merge(engine, signed):
    app, c = signed
    directory.add(engine, "uo", EntryFields(name="МКУ «ИМЦ»", email="imc@example.org"), by="uo", now=MOMENT,
                  entry_id="imc-1")
    directory.add(engine, "uo", EntryFields(name="ИМЦ"), by="uo", now=MOMENT, entry_id="imc-2")
    found = c.get("/directory", params={"q": "имц"})
    assert "imc-1" in found.text and "imc-2" in found.text and "Найдено: 2" in found.text
    form = c.get("/directory/entry/imc-1")
    assert form.status_code == 200 and "Объединить с этой" in form.text and "imc-2" in form.text  # a look-alike
    merged = c.post("/directory/merge", data={"csrf": csrf(c), "keep": "imc-1", "drop": "imc-2"},
                    follow_redirects=False)
    assert merged.status_code == 303 and read.entry(engine, "uo", "imc-2") is None
    assert read.entry(engine, "uo", "imc-1").aliases == ["ИМЦ"]
    saved = c.post("/directory/entry/imc-1", data={"csrf": csrf(c), "name": "МКУ «ИМЦ»", "kind": "unit",
                                                   "email": "new@example.org", "aliases": "ИМЦ\nЦентр"},
                   follow_redirects=False)
    assert saved.status_code == 303
    entry = read.entry(engine, "uo", "imc-1")
    assert (entry.email, entry.kind, entry.aliases) == ("new@example.org", "unit", ["ИМЦ", "Центр"])
    assert c.get("/directory/entry/nope").status_code == 404


def test_another_coordinators_directory_is_not_reachable(engine, signed, app_of):
    app, c = signed
    directory.add(engine, "other", EntryFields(name="Чужая школа", email="x@example.org"), by="other", now=MOMENT,
                  entry_id="alien")
    assert "Чужая школа" not in c.get("/directory").text
    assert c.get("/directory/entry/alien").status_code == 404
    refused = c.post("/directory/merge", data={"csrf": csrf(c), "keep": "sovet", "drop": "alien"})
    assert refused.status_code == 422 and read.entry(engine, "other", "alien") is not None
    assert client(app).get("/directory", follow_redirects=False).status_code == 303  # not signed in: to /login


def _fill(engine, n: int) -> None:
    from sqlalchemy import insert

    from nok_workflow.store.models import DirectoryEntry

    rows = [{"owner": "uo", "id": f"org-{i:05d}", "kind": "organisation", "name": f"Школа № {i}", "aliases": [],
             "email": f"s{i}@example.org" if i % 7 else None, "updated_at": MOMENT,
             "search": f"org-{i:05d} школа № {i}"} for i in range(n)]
    with engine.begin() as conn:
        conn.execute(insert(DirectoryEntry.__table__), rows)


@pytest.mark.slow
@pytest.mark.timing
def test_directory_page_with_6000_entries_is_quick(engine, signed):
    app, c = signed
    _fill(engine, 6000)
    c.get("/directory")  # the templates compiled, the connections opened

    def round_p95() -> tuple[float, float]:
        times = []
        for i in range(40):
            start = time.perf_counter()
            answer = c.get("/directory", params={"page": 1 + i % 100} if i % 2 else {"q": f"школа № {i}"})
            times.append(time.perf_counter() - start)
            assert answer.status_code == 200
        return statistics.quantiles(times, n=20)[-1], statistics.median(times)

    # The target (p95 ≤ 100 ms) is measured by `python -m benchmarks` (docs/benchmarks.md); here
    # the bound only catches a page that reads the whole directory (seconds), since two cores
    # shared with other test workers put their pauses into any round's tail.
    p95, median = min(round_p95(), round_p95())
    assert p95 < 1.0, f"p95 {p95 * 1000:.0f} ms, median {median * 1000:.0f} ms"


@pytest.mark.slow
def test_the_directory_pages_look_right_on_a_phone_and_a_desktop(sqlite_engine, app_of, browser, write_plan):
    engine = sqlite_engine
    plans.load(engine, write_plan(PLAN), actor=None, now=MOMENT)
    accounts.add(engine, login="uo", name="Управление образования", email=None, password="correct horse battery",
                 now=MOMENT)
    _fill(engine, 120)
    directory.add(engine, "uo", EntryFields(name="МБОУ СОШ 1", email="one@example.org"), by="uo", now=MOMENT,
                  entry_id="sosh-1")
    c = sign_in(app_of(engine), password="correct horse battery")
    body = "Наименование;E-mail\nМБОУ «СОШ № 2»;s2@example.org\nДетский сад № 3;плохой@\n".encode("cp1251")
    preview = c.post("/directory/import", data={"csrf": csrf(c)}, files={"file": ("список.csv", body, "text/csv")})
    origin = "http://127.0.0.1:8470"

    def serve(route):
        request = route.request
        if request.url.endswith("/directory/import/preview-shot"):
            answer = preview
        else:
            answer = c.get(request.url.removeprefix(origin))
        route.fulfill(status=answer.status_code, body=answer.content,
                      headers={k: v for k, v in answer.headers.items() if k not in ("content-length", "content-encoding")})

    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {"list": "/directory", "search": "/directory?q=%D1%88%D0%BA%D0%BE%D0%BB%D0%B0+%E2%84%96+1",
             "missing": "/directory/missing", "entry": "/directory/entry/sosh-1",
             "import": "/directory/import/preview-shot", "dashboard": "/plans/dir-plan"}
    for width in (375, 1280):
        for name, url in pages.items():
            page = browser.new_page(viewport={"width": width, "height": 800})
            problems: list[str] = []
            page.on("console", lambda m, seen=problems: seen.append(m.text) if m.type == "error" else None)
            page.route(f"{origin}/**", serve)
            page.goto(origin + url)
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            assert problems == [], (name, problems)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
            assert page.get_by_role("link", name="Справочник", exact=True).count() == 1
            page.close()


# --- the JSON API -------------------------------------------------------------------------------

def _tokens(engine) -> tuple[dict, dict]:
    coordinator = accounts.create_api_token(engine, name="сайт управления", actor="uo", plan_id=None, by="uo",
                                            now=MOMENT)
    party = accounts.create_api_token(engine, name="совет", actor="sovet", plan_id="dir-plan", by="uo", now=MOMENT)
    return {"Authorization": f"Bearer {coordinator}"}, {"Authorization": f"Bearer {party}"}


def test_api_lists_sets_and_imports(engine, signed):
    app, _ = signed
    mine, party = _tokens(engine)
    c = client(app)
    missing = c.get("/api/v1/directory/missing", headers=mine).json()
    assert missing["total"] == 3 and missing["missing"][0] == {"id": "sch-1", "name": "МБОУ «СОШ № 1»",
                                                              "kind": "organisation", "plans": 1, "open": 4}
    assert c.get("/api/v1/directory/missing", headers=party).status_code == 403
    assert c.get("/api/v1/directory").status_code == 401
    bad = c.post("/api/v1/directory/email", headers=mine, json={"id": "sovet", "email": "нет"})
    assert bad.status_code == 422 and "«нет» — не адрес электронной почты" in bad.json()["detail"]
    done = c.post("/api/v1/directory/email", headers=mine, json={"id": "sovet", "email": "sovet@example.org"})
    assert done.json() == {"id": "sovet", "email": "sovet@example.org", "parties": 1}
    page = c.get("/api/v1/directory", headers=mine, params={"q": "совет"}).json()
    assert page["total"] == 1 and page["entries"][0]["email"] == "sovet@example.org"

    body = "Наименование;E-mail\nМБОУ «СОШ № 2»;s2@example.org\nСад;плохо@\n".encode("cp1251")
    files = {"file": ("организации.csv", body, "text/csv")}
    preview = c.post("/api/v1/directory/import/preview", headers=mine, files=files).json()
    assert preview["counts"] == {"new": 1, "update": 0, "same": 0, "error": 1} and not preview["applied"]
    assert preview["rows"][1]["origin"] == "организации.csv, строка 3"
    refused = c.post("/api/v1/directory/import/apply", headers=mine, files=files)
    assert refused.status_code == 422 and "организации.csv, строка 3" in refused.json()["detail"]
    assert read.entries(engine, "uo")[1] == 1  # only sovet: nothing of the list written
    files = {"file": ("организации.csv", body.replace("плохо@".encode("cp1251"), b"sad@example.org"), "text/csv")}
    applied = c.post("/api/v1/directory/import/apply", headers=mine, files=files).json()
    assert applied["applied"] and applied["counts"]["new"] == 2
    assert c.get("/api/v1/directory/missing", headers=mine).json()["total"] == 1  # sch-1 only
    empty = c.post("/api/v1/directory/import/preview", headers=mine, files={"file": ("e.csv", b"", "text/csv")})
    assert empty.status_code == 422 and "файл пуст" in empty.json()["detail"]


def test_api_docs_describe_the_directory(engine, signed):
    app, c = signed
    docs = c.get("/docs")
    assert docs.status_code == 200
    for path in ("/api/v1/directory/missing", "/api/v1/directory/email", "/api/v1/directory/import/apply"):
        assert path in docs.text
    assert "Без адреса почты" in docs.text
