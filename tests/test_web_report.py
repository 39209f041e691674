"""The plan's «Отчёт» tab: a quarter chosen, its totals and chart, every format downloaded
as the coordinator's browser gets it; refusals in Russian; the page in Chromium as the server
sends it (its Content-Security-Policy included), on a phone and a desktop."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image

from nok_workflow.reports.chart import COLOURS
from nok_workflow.store.db import connect
from tests.support.paths import ROOT
from tests.support.web import PLAN, orenburg, sign_in
from tests.support.web import client

# Each test renders the quarter's report (matplotlib, Word, Excel): seconds each.
pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "tests" / "artifacts" / "reports"
CHART = re.compile(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture
def sqlite_engine(tmp_path):
    # The pages only read what services/read/report.py counts (tested on PostgreSQL there).
    engine = connect(f"sqlite:///{tmp_path / 'nok.db'}")
    yield engine
    engine.dispose()


def test_the_report_tab_shows_the_last_closed_quarter_and_offers_every_format(engine, app_of):
    orenburg(engine)
    c = sign_in(app_of(engine))  # the app lives at 08.10.2024: the last closed quarter is Q3
    page = c.get(f"/plans/{PLAN}/report")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "III квартал 2024 года" in page.text and "по состоянию на 08.10.2024" in page.text
    assert '<option value="2024Q3" selected>III квартал 2024<' in page.text and '<option value="2024Q4"' in page.text
    # The plan runs 17.09–31.12.2024; one deadline falls on 31.03.2025: its quarter is offered too
    assert re.findall(r'<option value="(\d{4}Q\d)"', page.text) == ["2024Q3", "2024Q4", "2025Q1"]
    assert 'aria-current="page">Отчёт<' in page.text
    # The chart is an image (the CSP forbids the inline styles an inline SVG is drawn with).
    svg = base64.b64decode(CHART.search(page.text)[1]).decode("utf-8")
    assert svg.startswith("<svg") and COLOURS["not_done"] in svg and "<svg" not in page.text
    # III квартал: I.1 (30.09) and III.2 (30.09) open on 08.10 — «не выполнено», in their sections
    sections = page.text.split("coord-report-sections")[1].split("</table>")[0]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", sections, re.DOTALL)]
    assert cells[cells.index("Итого"):] == ["Итого", "2", "0", "0", "2", "0", "0", "0,0 %"]
    for fmt in ("docx", "xlsx", "html", "json"):
        assert f'href="/plans/{PLAN}/report.{fmt}?quarter=2024Q3"' in page.text
    later = c.get(f"/plans/{PLAN}/report", params={"quarter": "2024-К4", "ytd": "1"})  # as typed on a Russian keyboard
    assert "январь – декабрь 2024 года (нарастающим итогом)" in later.text
    assert '<option value="2024Q4" selected>' in later.text and 'name="ytd" value="1" checked' in later.text
    assert f'href="/plans/{PLAN}/report.docx?quarter=2024Q4&amp;ytd=1"' in later.text
    assert "nok report" not in later.text  # a page never tells a coordinator to type a command


def test_each_format_downloads_and_opens(sqlite_engine, app_of):
    orenburg(sqlite_engine)
    c = sign_in(app_of(sqlite_engine))
    got = {}
    for fmt, media in (("json", "application/json"), ("html", "text/html; charset=utf-8"),
                       ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                       ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
        r = c.get(f"/plans/{PLAN}/report.{fmt}", params={"quarter": "2024Q3"})
        assert r.status_code == 200 and r.headers["content-type"] == media, (fmt, r.status_code, r.text[:300])
        assert r.headers["content-disposition"] == f"attachment; filename*=UTF-8''otchet-{PLAN}-2024Q3.{fmt}"
        assert r.headers["cache-control"] == "no-store"
        got[fmt] = r.content
    data = json.loads(got["json"])
    assert data["plan_id"] == PLAN and data["period"]["code"] == "2024Q3" and data["totals"]["total"] == 2
    assert "Отчёт о выполнении плана мероприятий" in got["html"].decode("utf-8")
    assert got["docx"][:2] == got["xlsx"][:2] == b"PK"
    assert "III квартал 2024 года" in "\n".join(p.text for p in Document(io.BytesIO(got["docx"])).paragraphs)
    assert load_workbook(io.BytesIO(got["xlsx"])).sheetnames[:2] == ["Сводка", "Мероприятия"]
    # No quarter: the one the page shows first; the year to date is in the file's name
    default = c.get(f"/plans/{PLAN}/report.json")
    assert json.loads(default.content)["period"]["code"] == "2024Q3"
    ytd = c.get(f"/plans/{PLAN}/report.json", params={"quarter": "2024Q4", "ytd": "1"})
    assert ytd.headers["content-disposition"].endswith(f"otchet-{PLAN}-2024Q4-YTD.json")
    assert json.loads(ytd.content)["period"]["start"] == "2024-01-01"


def test_refusals(sqlite_engine, app_of):
    orenburg(sqlite_engine)
    app = app_of(sqlite_engine)
    for path in (f"/plans/{PLAN}/report", f"/plans/{PLAN}/report.json"):
        stranger = client(app).get(path, follow_redirects=False)
        assert stranger.status_code == 303 and stranger.headers["location"] == "/login"
    c = sign_in(app)
    bad = c.get(f"/plans/{PLAN}/report", params={"quarter": "2024Q7"})
    assert bad.status_code == 400 and "«2024Q7» — не квартал; ожидается вида 2024Q4" in bad.text
    assert 'role="alert"' in bad.text and 'name="quarter"' in bad.text  # the picker is there to try again
    assert "Traceback" not in bad.text and "report.docx" not in bad.text
    escaped = c.get(f"/plans/{PLAN}/report", params={"quarter": "<b>x</b>"})
    assert escaped.status_code == 400 and "<b>x</b>" not in escaped.text and "&lt;b&gt;x&lt;/b&gt;" in escaped.text
    file = c.get(f"/plans/{PLAN}/report.docx", params={"quarter": "весна"})
    assert file.status_code == 400 and "«весна» — не квартал" in file.text and "content-disposition" not in file.headers
    assert c.get(f"/plans/{PLAN}/report.pdf", params={"quarter": "2024Q3"}).status_code == 404
    unknown = c.get("/plans/nope/report")
    assert unknown.status_code == 404 and "Страница не найдена" in unknown.text
    assert c.get("/plans/nope/report.json", params={"quarter": "2024Q3"}).status_code == 404


@pytest.mark.slow
def test_the_report_tab_looks_right_on_a_phone_and_a_desktop(sqlite_engine, app_of, browser):
    """Served to Chromium with the app's own headers: a chart blocked by the CSP or a table
    wider than a phone shows here, not in the HTML text."""
    orenburg(sqlite_engine)
    c = sign_in(app_of(sqlite_engine))
    origin = "http://127.0.0.1:8470"

    def serve(route):  # every request of the page goes to the app, as from the browser
        answer = c.get(route.request.url.removeprefix(origin))
        route.fulfill(status=answer.status_code, body=answer.content,
                      headers={k: v for k, v in answer.headers.items()
                               if k not in ("content-length", "content-encoding")})

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the worker's Chromium (conftest.py): each page in a context of its own
    for width in (375, 1280):
        page = browser.new_page(viewport={"width": width, "height": 800})
        problems: list[str] = []
        page.on("console", lambda m, seen=problems: seen.append(m.text) if m.type == "error" else None)
        page.route(f"{origin}/**", serve)
        page.goto(f"{origin}/plans/{PLAN}/report?quarter=2024Q3")
        shot = ARTIFACTS / f"report-tab-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert problems == []  # nothing refused by the Content-Security-Policy
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"  # CSS came
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen
        assert page.locator("a.button").count() == 4
        chart = page.locator(".coord-report-chart img")
        assert chart.evaluate("i => i.complete && i.naturalWidth > 0")
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        # The bars are drawn in their colours (both not done in Q3: red), not black
        picture = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
        red = tuple(int(COLOURS["not_done"][i:i + 2], 16) for i in (1, 3, 5))
        colours = picture.getcolors(maxcolors=picture.width * picture.height)
        assert sum(n for n, px in colours if all(abs(a - b) < 24 for a, b in zip(px, red))) > 200
        page.close()
