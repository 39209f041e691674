"""The shortcoming beside its measure: `nok plan show` (the section's criterion, «Недостаток: …»,
what was already done), the coordinator's item list and item page, the executor's cards — and
the executor's page in Chromium on a phone and a desktop (screenshots in docs/screenshots/)."""

from __future__ import annotations

import json
import re

import pytest

from nok_workflow.services.commands import accounts, plans
from nok_workflow.tokens import upload_token
from tests.support.cli import run_nok
from tests.support.form457 import EXAMPLE, LOADED, REPORT_DAY, SOSH5
from tests.support.paths import ROOT
from tests.support.web import KEY, PASSWORD, client, make_app, sign_in

RAMP = "Вход в здание не оборудован пандусом"
SIGNS = "Нет дублирования звуковой и зрительной информации для инвалидов по слуху и зрению"


@pytest.fixture
def loaded(engine, tmp_path):
    plans.load(engine, EXAMPLE, actor=None, now=LOADED)
    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=LOADED)
    return make_app(tmp_path / "home", engine, now=LOADED.isoformat())


def executor_page(plan_id: str, party: str) -> str:
    return f"/u/{plan_id}/{party}/{upload_token(KEY, plan_id, party)}"


@pytest.mark.slow
def test_nok_plan_show_prints_criterion_shortcoming_and_progress():
    done = run_nok("plan", "show", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    lines = [line.rstrip() for line in done.stdout.splitlines()]
    assert "III Доступность услуг для инвалидов (критерий 3)" in lines
    at = lines.index("III.4 Установить пандус у центрального входа")
    assert lines[at + 1] == f"    Недостаток: {RAMP}" and lines[at + 2].startswith("    Срок: «III квартал 2025 года»")
    first = lines.index("I.1 Разместить на сайте сведения о материально-техническом обеспечении")
    assert "    Сделано: Сведения размещены в разделе «Материально-техническое обеспечение» (выполнено 20.02.2025)" \
        in lines[first:first + 8]
    data = json.loads(run_nok("plan", "show", str(EXAMPLE), "--json").stdout)
    assert data["kind"] == "shortcomings" and data["organisation"] == "sosh-5"
    assert [s["criterion"] for s in data["sections"]] == [1, 2, 3, 4, 5]
    item = next(i for i in data["items"] if i["key"] == "III.4")
    assert item["shortcoming"] == RAMP and item["progress"] is None
    assert data["items"][0]["progress"] == {"measures": "Сведения размещены в разделе «Материально-техническое "
                                                        "обеспечение»", "done_on": "2025-02-20"}


def test_the_coordinators_items_and_item_page_show_the_shortcoming(loaded):
    c = sign_in(loaded)
    html = c.get(f"/plans/{SOSH5}/items").text
    card = html.split('id="item-III.4"')[1].split("</article>")[0]
    assert re.search(rf'<p class="muted coord-shortcoming">Недостаток: {RAMP}</p>\s*<h3>', card)
    assert html.count('class="muted coord-shortcoming"') == 7
    one = c.get(f"/plans/{SOSH5}/items", params={"item": "III.5"}).text
    assert f'<p class="muted coord-shortcoming">Недостаток: {SIGNS}</p>' in one
    # The report tab of a shortcomings plan offers the form's files too
    report = c.get(f"/plans/{SOSH5}/report").text
    for fmt in ("docx", "xlsx", "html", "json"):
        assert f'href="/plans/{SOSH5}/report-form.{fmt}?quarter=2025Q1"' in report
    got = c.get(f"/plans/{SOSH5}/report-form.xlsx", params={"quarter": "2025Q1"})
    assert got.status_code == 200 and got.headers["content-disposition"].endswith(
        f"otchet-forma457-{SOSH5}-2025Q1.xlsx")


def test_the_executors_cards_show_the_shortcoming(loaded):
    html = client(loaded).get(executor_page(SOSH5, "sidorov-aa")).text
    cards = re.findall(r'<article class="card ob[^"]*" id="ob-\d+">(.*?)</article>', html, re.S)
    assert len(cards) == 3
    for shortcoming, title in ((RAMP, "Установить пандус у центрального входа"),
                               (SIGNS, "Установить информационное табло и тактильные таблички")):
        card = next(c for c in cards if title in c)
        assert re.search(rf'<p class="muted xp-shortcoming">Недостаток: {shortcoming}</p>\s*<h3>', card)


@pytest.mark.slow
def test_the_executors_page_on_a_phone_and_a_desktop(sqlite_template, tmp_path, browser):
    import shutil

    from nok_workflow.store.db import connect

    shutil.copyfile(sqlite_template, tmp_path / "nok.db")
    engine = connect(f"sqlite:///{tmp_path / 'nok.db'}")
    plans.load(engine, EXAMPLE, actor=None, now=LOADED)
    c = client(make_app(tmp_path / "home", engine, now=REPORT_DAY.isoformat()))
    origin = "http://127.0.0.1:8470"

    def serve(route):
        answer = c.get(route.request.url.removeprefix(origin))
        route.fulfill(status=answer.status_code, body=answer.content,
                      headers={k: v for k, v in answer.headers.items()
                               if k not in ("content-length", "content-encoding")})

    for width in (375, 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.route(f"{origin}/**", serve)
        page.goto(origin + executor_page(SOSH5, "sidorov-aa"))
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / f"executor-shortcoming-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        note = page.locator(".xp-shortcoming", has_text=RAMP)
        title = page.locator("article", has=note).locator("h3")
        note_box, title_box = note.bounding_box(), title.bounding_box()
        assert note_box["y"] + note_box["height"] <= title_box["y"] + 1  # above the title
        size = lambda loc: float(loc.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))  # noqa: E731
        assert size(note) < size(title)  # small
        colour = note.evaluate("e => getComputedStyle(e).color")
        assert colour != title.evaluate("e => getComputedStyle(e).color")  # muted
        page.close()
    engine.dispose()
