"""The Word report as Word and LibreOffice read it: python-docx reads the cells back, LibreOffice
turns the file into a PDF (a file it refuses, a header that is not repeated on page 2, a sans font
that slipped in fail here) and its pages are kept as PNG in tests/artifacts/reports/ to look at."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm

from nok_workflow.reports.docx_file import MAIN_HEADS, ORGANISATIONS_MAX, render
from nok_workflow.reports.model import OUTCOME_WORDS, Counts, PartyLine, Report
from tests.support.reports import ARTIFACTS, EXPECTED_Q4, office_pdfs, seed_reports

STATUS, DONE, DOCUMENTS, LATE = (MAIN_HEADS.index(h) for h in ("Статус", "Дата выполнения", "Документы",
                                                               "Просрочка, дн."))


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Report]:
    return seed_reports(tmp_path_factory.mktemp("docx-reports"))


@pytest.fixture(scope="module")
def orenburg(reports):
    body = render(reports["orenburg"])
    return body, Document(io.BytesIO(body))


def big(report: Report, times: int = 10) -> Report:
    """The same report with its sections repeated (90 items): a table over many pages."""
    data = report.model_dump()
    data["sections"] = [dict(s, number=f"{n + 1}.{s['number']}") for n in range(times) for s in data["sections"]]
    return Report.model_validate(data)


def region(report: Report, organisations: int, items: int = 500) -> Report:
    """A region's report: `items` item lines in 5 sections and thousands of schools."""
    data = report.model_dump()
    lines = [i for s in data["sections"] for i in s["items"]]
    per = items // 5
    data["sections"] = [dict(data["sections"][0], number=f"{n + 1}.", title=f"Раздел {n + 1}",
                             items=[dict(lines[(n * per + k) % len(lines)], number=f"{n + 1}.{k + 1}")
                                    for k in range(per)]) for n in range(5)]
    data["organisations"] = [
        PartyLine(id=f"s{n}", name=f"МБОУ «СОШ № {n}»",
                  counts=Counts(total=20, on_time=20 - n % 5 - n % 3, late=n % 3, not_done=n % 5)).model_dump()
        for n in range(organisations)]
    return Report.model_validate(data)


def main_rows(doc) -> dict[str, list[str]]:
    return {row.cells[0].text: [c.text for c in row.cells] for row in doc.tables[0].rows[1:] if row.cells[0].text}


def all_text(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


# === the document as Word reads it ==========================================================

def test_title_period_and_summary(reports, orenburg):
    report, (_, doc) = reports["orenburg"], orenburg
    paragraphs = [p.text for p in doc.paragraphs if p.text]
    assert paragraphs[:5] == [
        "Утверждён: Общественный совет\nПриложение № 1 к протоколу №1 от 17.09.2024 общественного совета",
        "Отчёт о выполнении плана мероприятий", f"«{report.plan_title}»", "за IV квартал 2024 года",
        "по состоянию на 10.01.2025"]
    title = next(p for p in doc.paragraphs if p.text == "Отчёт о выполнении плана мероприятий")
    assert title.alignment == 1 and title.runs[0].bold  # centred, bold
    assert ("Со сроком в периоде — 9 обязательств: выполнено в срок — 2 (25,0 %), с нарушением срока — 1 "
            "(12,5 %), не выполнено — 5 (62,5 %), в работе — 0, отменено — 1.") in paragraphs
    assert "Исполнение по организациям" not in all_text(doc)  # a district plan has no schools' table
    assert len(doc.tables) == 3  # the items, the owners, the signature


def test_page_fonts_language_and_properties(reports, orenburg):
    report, (_, doc) = reports["orenburg"], orenburg
    section = doc.sections[0]
    assert section.page_width > section.page_height
    assert abs(section.page_width - Cm(29.7)) < Cm(0.01) and abs(section.page_height - Cm(21)) < Cm(0.01)
    assert all(abs(m - Cm(2)) < Cm(0.01) for m in (section.left_margin, section.right_margin, section.top_margin,
                                                     section.bottom_margin))
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    assert {fonts.get(qn(a)) for a in ("w:ascii", "w:hAnsi", "w:cs")} == {"Times New Roman"}
    assert not any(k.endswith("Theme") for k in fonts.attrib)  # a theme font would win over the name
    assert defaults.find(qn("w:lang")).get(qn("w:val")) == "ru-RU"
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size.pt == 12
    assert normal.element.rPr.find(qn("w:lang")).get(qn("w:val")) == "ru-RU"
    sizes = {r.get(qn("w:val")) for r in doc.tables[0]._tbl.iter(qn("w:sz"))}
    assert "20" in sizes and sizes <= {"18", "20"}  # table text 10 pt, header and sub-rows 9 pt
    props = doc.core_properties
    assert props.author == "nok-workflow" and props.language == "ru-RU"
    assert props.title == "Отчёт о выполнении плана мероприятий за IV квартал 2024 года"
    assert props.created.replace(tzinfo=None) == report.generated_at.astimezone(dt.UTC).replace(tzinfo=None)


def test_items_statuses_delays_and_documents(reports, orenburg):
    report, (_, doc) = reports["orenburg"], orenburg
    rows = main_rows(doc)
    for key, kind in EXPECTED_Q4.items():
        assert rows[key][STATUS] == OUTCOME_WORDS[kind], key
    assert rows["II.4"][LATE] == "9" and rows["II.4"][DONE] == "09.01.2025"
    assert rows["II.2"][LATE] == "10" and rows["II.6"][LATE] == "" and rows["I.2"][DONE] == "18.10.2024"
    items = {i.number: i for s in report.sections for i in s.items}
    with_evidence = [i for i in items.values() if i.evidence]
    assert {i.number for i in with_evidence} == {"I.2", "II.1", "II.4"}
    cells = {row.cells[0].text: row.cells[DOCUMENTS] for row in doc.tables[0].rows[1:]}
    for item in with_evidence:
        for e in item.evidence:
            assert f"{e.name} [{e.sha256}]" in rows[item.number][DOCUMENTS], item.number
        # a real hyperlink: w:hyperlink whose r:id is an external relationship to the evidence's address
        links = [(h.get(qn("r:id")), "".join(t.text for t in h.iter(qn("w:t"))))
                 for h in cells[item.number]._tc.iter(qn("w:hyperlink"))]
        assert [(doc.part.rels[rid].target_ref, text) for rid, text in links] == [(e.url, e.name)
                                                                                  for e in item.evidence]
        assert all(doc.part.rels[rid].is_external for rid, _ in links)
    assert rows["II.2"][DOCUMENTS] == ""
    # the status cell is tinted by outcome
    fills = {row.cells[0].text: row.cells[STATUS]._tc.tcPr.find(qn("w:shd")).get(qn("w:fill"))
             for row in doc.tables[0].rows[1:] if row.cells[0].text in EXPECTED_Q4}
    assert fills["II.4"] == "FFE082" and fills["II.2"] == "FFCDD2" and fills["I.2"] == "C8E6C9"


def test_table_header_sections_totals_and_rows_kept_whole(reports, orenburg):
    report, (_, doc) = reports["orenburg"], orenburg
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == MAIN_HEADS
    trs = [row._tr for row in table.rows]
    assert trs[0].trPr.find(qn("w:tblHeader")) is not None
    assert all(tr.trPr.find(qn("w:tblHeader")) is None for tr in trs[1:])
    assert all(tr.trPr.find(qn("w:cantSplit")) is not None for tr in trs)
    assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    widths = [int(g.get(qn("w:w"))) for g in table._tbl.tblGrid.iter(qn("w:gridCol"))]
    assert len(widths) == 9 and abs(sum(widths) - Cm(25.7).twips) < 10  # the text width, margins 2 cm
    sections = [row for row in table.rows if row._tr.tc_lst[0].grid_span == 9]
    assert [row.cells[0].text for row in sections] == [f"{s.number} {s.title}" for s in report.sections]
    for row in sections:
        tc = row._tr.tc_lst[0]
        assert len(row._tr.tc_lst) == 1 and tc.tcPr.find(qn("w:shd")) is not None
        assert all(r.bold for p in row.cells[0].paragraphs for r in p.runs)
    totals = [c.text for c in table.rows[-1].cells]
    t = report.totals
    assert totals[0] == "Итого: 9 обязательств со сроком в периоде"
    found = dict(re.findall(r"(в срок|с нарушением срока|не выполнено|в работе|отменено) — (\d+)", totals[-1]))
    assert {k: int(v) for k, v in found.items()} == {"в срок": t.on_time, "с нарушением срока": t.late,
                                                      "не выполнено": t.not_done, "в работе": t.in_progress,
                                                      "отменено": t.cancelled}
    assert "выполнено 37,5 %" in totals[-1] and t.percent("done") == 37.5
    # the last item keeps with «Итого»: the totals never open a page alone
    assert trs[-2].find(".//" + qn("w:keepNext")) is not None


def test_chart_owners_and_signature(reports, orenburg):
    report, (body, doc) = reports["orenburg"], orenburg
    assert len(doc.inline_shapes) == 1
    chart = doc.inline_shapes[0]
    assert abs(chart.width - Cm(16)) < Cm(0.05) and chart.height <= Cm(10.01)
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert any(n.startswith("word/media/") and z.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in z.namelist())
    owners = doc.tables[1]
    assert [c.text for c in owners.rows[0].cells] == ["Наименование", "Всего", *OUTCOME_WORDS.values(), "% выполнения"]
    assert [[c.text for c in row.cells] for row in owners.rows[1:]] == [
        [o.name, str(o.counts.total), *(str(getattr(o.counts, k)) for k in OUTCOME_WORDS),
         f"{o.counts.percent('done'):.1f} %".replace(".", ",")] for o in report.owners]
    signature = doc.tables[-1]
    assert [c.text for c in signature.rows[0].cells] == ["Управление образования", "_____________________",
                                                         "/ _____________________ /"]
    assert [c.text for c in signature.rows[1].cells] == ["", "(подпись)", "(расшифровка подписи)"]
    borders = signature._tbl.tblPr.find(qn("w:tblBorders"))
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}
    assert doc.paragraphs[-1].text == "«___» ______________ 20___ г."
    # the signature never stands alone on a page: the last row of the table before it keeps with it
    assert all(p.find(qn("w:keepNext")) is not None for p in owners.rows[-1]._tr.iter(qn("w:pPr")))


def test_same_report_same_document(reports, orenburg):
    first, _ = orenburg
    again = render(reports["orenburg"])
    with zipfile.ZipFile(io.BytesIO(first)) as a, zipfile.ZipFile(io.BytesIO(again)) as b:
        assert a.namelist() == b.namelist()
        assert all(a.read(n) == b.read(n) for n in a.namelist())  # only the zip's own timestamps may differ


def test_obligation_sub_rows_and_lagging_organisations(reports):
    report = reports["yuzhno"]
    doc = Document(io.BytesIO(render(report)))
    rows = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    at = next(n for n, row in enumerate(rows) if row[0] == "4.5")
    item = next(i for s in report.sections for i in s.items if i.number == "4.5")
    assert len(item.obligations) == 4 and rows[at][STATUS].startswith("из 4:")
    subs = rows[at + 1: at + 5]
    assert [r[1] for r in subs] == [o.organisation or o.period for o in item.obligations]
    assert [(r[0], r[3], r[STATUS], r[DONE], r[LATE]) for r in subs] == [
        ("", f"{o.due:%d.%m.%Y}", o.status, f"{o.completed_on:%d.%m.%Y}" if o.completed_on else "",
         "" if o.days_late is None else str(o.days_late)) for o in item.obligations]
    by_school = {r[1]: r for r in subs}
    assert by_school["МАОУ «Гимназия № 3»"][STATUS] == "выполнено с нарушением срока"
    assert by_school["МАОУ «Гимназия № 3»"][LATE] == "7"
    assert "Информация gimnaziya-3.pdf [" in by_school["МАОУ «Гимназия № 3»"][DOCUMENTS]
    assert by_school["МАОУ «СОШ № 1»"][STATUS] == "выполнено в срок"
    assert by_school["МБДОУ «Детский сад № 12»"][STATUS] == "не выполнено"
    # the organisations: only the lagging ones, worst (not done) first; the on-time school left out
    text = all_text(doc)
    assert "Исполнение по организациям (с невыполненными и просроченными обязательствами)" in text
    names = [row.cells[0].text for row in doc.tables[2].rows[1:]]
    assert names == ["МБДОУ «Детский сад № 12»", "МАОУ «Гимназия № 3»"]
    assert "Показаны 2 из 3 организаций. Полный список организаций — в файле Excel (лист «Организации»)." in text


@pytest.mark.slow  # a region-sized report
def test_region_lists_at_most_200_organisations_worst_first(reports):
    report = region(reports["yuzhno"], organisations=6000)
    doc = Document(io.BytesIO(render(report)))
    assert sum(1 for row in doc.tables[0].rows if re.fullmatch(r"\d\.\d+", row.cells[0].text)) == 500
    rows = doc.tables[2].rows[1:]
    assert len(rows) == ORGANISATIONS_MAX
    counts = {o.name: o.counts for o in report.organisations}
    shown = [counts[row.cells[0].text] for row in rows]
    assert all(c.not_done or c.late for c in shown)
    keys = [(-c.not_done, -c.late) for c in shown]
    assert keys == sorted(keys) and shown[0].not_done == 4 and shown[0].late == 2
    assert "Показаны 200 из 6\u00a0000 организаций. Полный список организаций — в файле Excel" in all_text(doc)
    # every school on time: the section says so in one line, without an empty table
    fine = report.model_copy(update={"organisations": [PartyLine(id="a", name="МБОУ «СОШ № 1»",
                                                                 counts=Counts(total=3, on_time=3))]})
    doc = Document(io.BytesIO(render(fine)))
    assert len(doc.tables) == 3 and "Показаны 0 из 1 организации." in all_text(doc)


# === LibreOffice: the file opens, prints landscape, repeats its header ========================

def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return " ".join(subprocess.run(["pdftotext", *pages, str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())


def pdf_lines(pdf: Path, page: int) -> list[str]:
    """A page's text as laid out (-layout keeps a table row on one line), blank lines left out."""
    text = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    return [line for line in text.splitlines() if line.strip()]


def pdf_info(pdf: Path) -> dict[str, str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in info.splitlines() if ":" in line)}


@pytest.fixture(scope="module")
def pdfs(reports, tmp_path_factory, office_profile) -> dict[str, Path]:
    """The three documents converted by one LibreOffice run (it starts slowly), pages kept as PNG."""
    docs = {"orenburg": reports["orenburg"], "yuzhno": reports["yuzhno"], "big": big(reports["orenburg"])}
    return office_pdfs({name: render(report) for name, report in docs.items()}, "docx",
                       tmp_path_factory.mktemp("docx-pdf"), package="libreoffice-writer-nogui", dpi=60,
                       profile=office_profile)


@pytest.mark.slow
def test_libreoffice_prints_it_landscape_in_a_serif_font(pdfs):
    pdf = pdfs["orenburg"]
    info = pdf_info(pdf)
    width, height = (float(x) for x in info["Page size"].split()[:3:2])
    assert int(info["Pages"]) >= 1 and width > height and "A4" in info["Page size"]
    text = pdf_text(pdf)
    assert "Отчёт о выполнении плана мероприятий" in text and "за IV квартал 2024 года" in text
    assert "выполнено с нарушением срока" in text and "Итого: 9 обязательств" in text
    assert "Протокол №2.pdf" in text and "[203444cfc66b]" in text and "«___» ______________ 20___ г." in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert names and all(re.search(r"TimesNewRoman|LiberationSerif|Tinos", n) for n in names), names
    assert sorted(p.name for p in ARTIFACTS.glob("docx-orenburg-*.png")) == [
        f"docx-orenburg-{n}.png" for n in range(1, int(info["Pages"]) + 1)]
    assert "Показаны 2 из 3 организаций" in pdf_text(pdfs["yuzhno"])


@pytest.mark.slow
def test_libreoffice_repeats_the_header_on_every_page_of_the_table(pdfs):
    pdf = pdfs["big"]
    pages = int(pdf_info(pdf)["Pages"])
    assert pages >= 5
    texts = [pdf_text(pdf, n) for n in range(1, pages + 1)]
    first = next(n for n, text in enumerate(texts) if "Выполнение мероприятий" in text)
    last = next(n for n, text in enumerate(texts) if "Итого:" in text)
    assert first <= 1 and last - first >= 3
    for n in range(first + 1, last + 1):  # the table's every next page starts with its header again
        top = pdf_lines(pdf, n + 1)[0].split()
        assert top == ["№", "п/п", "Мероприятие", "Срок", "(по", "плану)", "Сроки", "в", "Ответственные", "Статус",
                       "Дата", "Документы", "Просрочка,"], (n + 1, top)
    assert [pdf_lines(pdf, n)[-1].strip() for n in range(1, pages + 1)] == [str(n) for n in range(1, pages + 1)]
