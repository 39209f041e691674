"""The HTML report as a reader gets it: every item's official status (the simulated autumn of
tests/support/reports.py), the totals, the documents' links, nothing fetched from anywhere,
every value escaped; then opened in Chromium — a screenshot kept in tests/artifacts/reports/
to be looked at, and a print to PDF: A4 landscape, the table's header on every page."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nok_workflow.reports import html_file
from nok_workflow.reports.chart import COLOURS
from nok_workflow.reports.model import OUTCOME_WORDS, Counts, Report
from tests.support.paths import ROOT
from tests.support.reports import ARTIFACTS, BASE, EXPECTED_Q4, ORENBURG, seed_reports

DOCUMENTS = {"I.2": "Протокол №2.pdf", "II.1": "Анкетирование, итоги.pdf", "II.4": "Отчёт оператора.pdf"}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Report]:
    return seed_reports(tmp_path_factory.mktemp("html"))


class Page(HTMLParser):
    """The page as a reader sees it: every table's rows as (classes, cells), each cell as
    (classes, text, links); every src/href; the head's text."""

    def __init__(self, body: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[tuple[str, list[tuple[str, str, list[str]]]]]] = {}
        self.refs: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self._table: list | None = None
        self._cell: list | None = None
        self._in_svg = 0
        self.feed(body)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.refs += [(tag, k, v) for k, v in attrs if k in ("src", "href", "xlink:href", "srcset", "data") and v]
        if tag == "svg":
            self._in_svg += 1
        if tag == "table":
            self._table = self.tables.setdefault(a.get("class") or f"table{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._table.append((a.get("class") or "", []))
        elif tag in ("td", "th") and self._table is not None:
            self._cell = [a.get("class") or "", [], []]
        elif tag == "a" and self._cell is not None:
            self._cell[2].append(a.get("href"))
        elif tag == "br" and self._cell is not None:
            self._cell[1].append("\n")

    def handle_endtag(self, tag):
        if tag == "svg":
            self._in_svg -= 1
        elif tag in ("td", "th") and self._cell is not None:
            cls, parts, links = self._cell
            self._table[-1][1].append((cls, " ".join("".join(parts).split(" ")).strip(), links))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1].append(data)
        if not self._in_svg:
            self.text.append(data)

    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def rendered(report: Report) -> tuple[str, Page]:
    body = html_file.render(report).decode("utf-8")
    return body, Page(body)


def item_rows(page: Page) -> dict[str, list[tuple[str, str, list[str]]]]:
    return {cells[0][1]: cells for cls, cells in page.tables["main"][1:] if not cls and cells[0][1]}  # [0]: the header


def test_every_item_says_its_official_status_and_the_totals_add_up(reports):
    report = reports["orenburg"]
    body, page = rendered(report)
    assert body.startswith("<!doctype html>") and '<html lang="ru">' in body and '<meta charset="utf-8">' in body
    text = page.words()
    assert "Отчёт о выполнении плана мероприятий" in text and report.plan_title in text
    assert "за IV квартал 2024 года" in text and "по состоянию на 10.01.2025" in text
    assert f"План утверждён: {report.approved_by}" in text and report.approval_act in text
    header = [cell[1] for cell in page.tables["main"][0][1]]
    assert header == ["№ п/п", "Мероприятие", "Срок (по плану)", "Сроки в периоде", "Ответственные", "Статус",
                      "Дата выполнения", "Документы", "Просрочка, дн."]

    rows = item_rows(page)
    assert set(rows) == set(EXPECTED_Q4)  # items due in the quarter, and only those
    for key, kind in EXPECTED_Q4.items():
        status = rows[key][5]
        assert status[1] == OUTCOME_WORDS[kind] and status[0] == f"status s-{kind}", (key, status)
    # Days late: II.4's document dated 09.01 for 31.12; the others, open, to the report's day 10.01
    assert {k: rows[k][8][1] for k in EXPECTED_Q4} == {
        k: {"late": "9", "not_done": "10"}.get(kind, "") for k, kind in EXPECTED_Q4.items()}
    assert {k: rows[k][6][1] for k in DOCUMENTS} == {"I.2": "18.10.2024", "II.1": "27.12.2024", "II.4": "09.01.2025"}
    assert rows["II.4"][4][1] == "Общественный совет, Организация-оператор" and rows["II.4"][3][1] == "31.12.2024"
    sections = [cells[0][1] for cls, cells in page.tables["main"] if cls == "section"]
    assert [s.split(".")[0] for s in sections] == ["I", "II", "III"]

    t = report.totals
    assert (t.total, t.on_time, t.late, t.not_done, t.in_progress, t.cancelled) == (9, 2, 1, 5, 0, 1)
    summary = {cells[0][1]: [c[1] for c in cells[1:]] for _, cells in page.tables["totals"][1:]}
    assert summary == {"выполнено в срок": ["2", "25,0 %"], "выполнено с нарушением срока": ["1", "12,5 %"],
                       "не выполнено": ["5", "62,5 %"], "в работе": ["0", "0,0 %"], "отменено": ["1", "—"],
                       "Всего со сроком в периоде": ["9", ""],
                       "Выполнено (в срок и с нарушением срока)": ["3", "37,5 %"]}
    total_row = [cells for cls, cells in page.tables["main"] if cls == "total"]
    assert len(total_row) == 1 and "9" in total_row[0][0][1]
    assert total_row[0][1][1] == ("выполнено в срок — 2, с нарушением срока — 1, не выполнено — 5, в работе — 0, "
                                  "отменено — 1; выполнено 37,5 %")
    owners = {cells[0][1]: [c[1] for c in cells[1:]] for _, cells in page.tables["parties"][1:]}
    assert owners == {o.name: [str(o.counts.total), str(o.counts.on_time), str(o.counts.late), str(o.counts.not_done),
                               str(o.counts.in_progress), str(o.counts.cancelled),
                               f"{o.counts.percent('done'):.1f}".replace(".", ",") + " %"] for o in report.owners}
    assert owners["Организация-оператор"][-1] == "40,0 %"
    assert report.coordinator in text and "расшифровка подписи" in text


def test_documents_are_linked_with_their_short_hash_and_nothing_else_is_fetched(reports):
    report = reports["orenburg"]
    body, page = rendered(report)
    rows = item_rows(page)
    evidence = {i.number: i.evidence for s in report.sections for i in s.items}
    for key, name in DOCUMENTS.items():
        (ref,) = evidence[key]
        assert ref.name == name and re.fullmatch(r"[0-9a-f]{12}", ref.sha256)
        cell = rows[key][7]
        assert cell[1] == f"{name} {ref.sha256}" and cell[2] == [ref.url]
        assert re.fullmatch(rf"{BASE}/plans/{ORENBURG}/evidence/\d+/file", ref.url)
    assert all(rows[k][7][1] == "" for k in set(EXPECTED_Q4) - set(DOCUMENTS))
    # Self-contained: the only addresses are the documents' links; no styles, scripts, fonts, images, frames
    outside = [(tag, v) for tag, k, v in page.refs if not v.startswith("#")]  # the chart's <use> of its own marks
    assert sorted(outside) == sorted(("a", e.url) for refs in evidence.values() for e in refs)
    assert not page.tags & {"link", "script", "img", "iframe", "object", "embed", "base", "picture", "video"}
    assert "@import" not in body and "@font-face" not in body
    assert not re.search(r"url\((?!#)", body)  # the chart's own clip paths only
    assert body.count("<svg") == 1 and COLOURS["on_time"] in body.split("<svg")[1]


def test_items_of_many_obligations_and_every_organisation(reports):
    report = reports["yuzhno"]
    _, page = rendered(report)
    main = page.tables["main"]
    at = next(n for n, (cls, cells) in enumerate(main) if not cls and cells[0][1] == "4.5")
    item = next(i for s in report.sections for i in s.items if i.number == "4.5")
    assert 1 < len(item.obligations) <= 12 and item.outcome is None
    assert main[at][1][5] == ("status mixed", item.status, [])
    subs = main[at + 1:at + 1 + len(item.obligations)]
    assert all(cls == "sub" for cls, _ in subs)
    for (_, cells), ob in zip(subs, item.obligations):
        assert cells[1][1] == f"за {ob.period}" and cells[3][1] == ob.due.strftime("%d.%m.%Y")
        assert cells[4][1] == (ob.organisation or "") and cells[5][1] == ob.status
        assert cells[5][0] == f"status s-{ob.outcome}"
    late = next(cells for _, cells in subs if cells[5][1] == OUTCOME_WORDS["late"])
    assert late[4][1] == "МАОУ «Гимназия № 3»" and late[6][1] == "12.01.2015" and late[8][1] == "7"
    assert late[7][1].startswith("Информация gimnaziya-3.pdf ")

    organisations = page.tables["parties"][-len(report.organisations) - 1:]
    assert organisations[0][1][0][1] == "Организация"
    shown = {cells[0][1]: [c[1] for c in cells[1:7]] for _, cells in organisations[1:]}
    assert shown == {o.name: [str(getattr(o.counts, k)) for k in ("total", *OUTCOME_WORDS)]
                     for o in report.organisations}
    assert f"Исполнение по организациям ({len(report.organisations)})" in page.words()


def test_every_value_is_escaped_and_only_web_addresses_become_links(reports):
    data = reports["orenburg"].model_dump()
    evil = '<script>alert("x")</script>'
    data["plan_title"] = f"План {evil}"
    item = data["sections"][0]["items"][0]
    item["title"] = 'Пункт <img src=x onerror="alert(1)"> & «кавычки»'
    item["evidence"][0].update(name=f"{evil}.pdf", url="javascript:alert(1)")
    data["organisations"] = [{"id": "x", "name": "</table><b>школа</b>", "counts": Counts(total=1).model_dump()}]
    body, page = rendered(Report.model_validate(data))
    assert "<script>" not in body and "<img" not in body and "<b>школа" not in body and "javascript:" not in body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
    text = page.words()
    assert f"План {evil}" in text and 'Пункт <img src=x onerror="alert(1)"> & «кавычки»' in text
    assert item_rows(page)[item["number"]][7] == ("", f"{evil}.pdf {item['evidence'][0]['sha256']}", [])
    assert "</table><b>школа</b>" in text


def big_report(report: Report, sections: int = 10, per_section: int = 50, organisations: int = 6000) -> Report:
    """A region's size: 500 item lines (the Оренбург items over and over) and 6,000 schools."""
    data = report.model_dump()
    items = [i for s in data["sections"] for i in s["items"]]
    data["sections"] = [dict(data["sections"][n % len(data["sections"])], number=f"{n + 1}.",
                             items=[dict(items[k % len(items)], number=f"{n + 1}.{k + 1}") for k in range(per_section)])
                        for n in range(sections)]
    counts = Counts(total=30, on_time=12, late=5, not_done=9, in_progress=3, cancelled=1).model_dump()
    data["organisations"] = [{"id": f"school-{k}", "name": f"МБОУ «Средняя общеобразовательная школа № {k}»",
                              "counts": counts} for k in range(organisations)]
    return Report.model_validate(data)


def test_a_region_sized_report_lists_every_line(reports):
    """Its speed is measured by benchmarks/bench_report.py, not here."""
    body = html_file.render(big_report(reports["orenburg"])).decode("utf-8")
    assert body.count("<tr") > 6000 + 500 and "№ 5999»" in body


def pdf_text(pdf: Path, page: int) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


@pytest.mark.slow
def test_in_chromium_it_looks_right_and_prints_on_a4_landscape_with_its_header_on_every_page(reports, tmp_path,
                                                                                            browser):
    small = tmp_path / "report.html"
    small.write_bytes(html_file.render(reports["orenburg"]))
    large = tmp_path / "big.html"
    large.write_bytes(html_file.render(big_report(reports["orenburg"], sections=4, per_section=12, organisations=300)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the worker's Chromium (conftest.py): a page in a context of its own
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(small.as_uri())
    page.screenshot(path=str(ARTIFACTS / "report-html.png"), full_page=True)
    assert requests == [small.as_uri()]  # nothing else fetched
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # The status cells carry the chart's colours (and their words): on the screen ...
    red = page.locator("table.main td.s-not_done").first.evaluate("e => getComputedStyle(e).boxShadow")
    assert "rgb(198, 40, 40)" in red
    assert page.locator("svg").count() == 1 and page.locator("svg").bounding_box()["width"] > 400
    page.goto(large.as_uri())
    pdf = tmp_path / "big.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    page.goto(small.as_uri())
    page.pdf(path=str(tmp_path / "small.pdf"), prefer_css_page_size=True)
    page.close()

    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (round(width), round(height)) == (842, 595) and pages >= 4  # A4 landscape, several pages
    for number in (2, 3):
        text = pdf_text(pdf, number)
        # the main table continues here, under its header again (not a page of organisations yet)
        assert "Мероприятие" in text and "Просрочка, дн." in text and "не выполнено" in text, (number, text[:300])
    last = pdf_text(pdf, pages - 1)  # a page of the organisations alone: their table's header repeats too
    assert "Организация Всего" in last and "Выполнено, %" in last and "Мероприятие" not in last, last[:300]
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / "small.pdf"), str(ARTIFACTS / "report-html-print")],
                   check=True)


def test_the_committed_json_schema_is_the_models_and_the_reports_follow_it(reports):
    import json

    import jsonschema

    from nok_workflow.reports.formats import render
    from nok_workflow.reports.json_schema import json_schema, schema_text

    committed = (ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "docs/report.schema.json is stale: .venv/bin/python -m " \
                                       "nok_workflow.reports.json_schema > docs/report.schema.json"
    schema = json.loads(committed)
    # pydantic's schema of Report, with a Russian title and description on top
    assert {k: v for k, v in schema.items() if k not in ("$schema", "$id", "title", "description")} == \
        {k: v for k, v in Report.model_json_schema().items() if k != "title"}
    assert schema["title"].startswith("Отчёт о выполнении плана") and "квартал" in schema["description"]
    assert json_schema() == schema
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    for name, report in reports.items():
        data = json.loads(render(report, "json"))
        assert sorted(e.message for e in validator.iter_errors(data)) == [], name
        assert Report.model_validate(data) == report  # and it reads back as the same report
    wrong = json.loads(render(reports["yuzhno"], "json"))
    wrong["organisations"][0]["counts"]["total"] = "три"
    del wrong["period"]["label"]
    assert len(list(validator.iter_errors(wrong))) == 2
