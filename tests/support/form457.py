"""Shortcomings plans (the form № 457) of several schools and a quarter of their executors'
work, for the form report and the campaign roll-up tests.

`school_plan(write_plan, school)` is the example plan of МБОУ «СОШ № 5» made another school's
(its ids, names and addresses changed; `review=True` — every document reviewed).
`spring_2025(engine, evidence_dir)` loads СОШ № 5 and Гимназия № 1 and plays their spring:
documents with descriptions, one late, one link, one rejected, one still unreviewed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nok_workflow.services.commands import evidence, plans
from nok_workflow.services.commands.evidence import Upload
from tests.support.paths import PLANS

EXAMPLE = PLANS / "shortcomings-sosh5-2025.yaml"
SOSH5, GIM1 = "shortcomings-sosh5-2025", "shortcomings-gim1-2025"
BASE = "https://nok.example.org"
MSK = dt.timezone(dt.timedelta(hours=3))
LOADED = dt.datetime(2025, 3, 10, 9, 0, tzinfo=MSK)
REPORT_DAY = dt.datetime(2025, 7, 3, 9, 0, tzinfo=MSK)  # the 3rd of the month after II квартал
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SCHOOLS = {
    "gim-1": ("shortcomings-gim1-2025", "МБОУ «Гимназия № 1»", "gim1"),
    "sosh-7": ("shortcomings-sosh7-2025", "МБОУ «СОШ № 7»", "sosh7"),
}


def school_text(school: str, *, review: bool = False) -> str:
    plan_id, name, mail = SCHOOLS[school]
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("shortcomings-sosh5-2025", plan_id).replace("МБОУ «СОШ № 5»", name)
    text = text.replace("sosh-5", school).replace("@sosh5.", f"@{mail}.").replace("sosh5@", f"{mail}@")
    if review:
        text = text.replace("coordinator: uo\n", "coordinator: uo\nreview_required: true\n", 1)
    return text


def school_plan(folder: Path, school: str, *, review: bool = False) -> Path:
    path = folder / f"{SCHOOLS[school][0]}.yaml"
    path.write_text(school_text(school, review=review), encoding="utf-8")
    return path


def _at(day: int, month: int) -> dt.datetime:
    return dt.datetime(2025, month, day, 12, 0, tzinfo=MSK)


def spring_2025(engine, evidence_dir: Path, folder: Path) -> None:
    plans.load(engine, EXAMPLE, actor=None, now=LOADED)
    plans.load(engine, school_plan(folder, "gim-1", review=True), actor=None, now=LOADED)
    # СОШ № 5 (no review: a document counts once given)
    evidence.submit(engine, evidence_dir, plan_id=SOSH5, item="I.2", period="2025-Q1", by="ivanova-mp",
                    now=_at(28, 3), upload=Upload(PDF, "Скриншот раздела, март.pdf"),
                    document_date=dt.date(2025, 3, 28), comment="Раздел «Материально-техническое обеспечение» обновлён")
    evidence.submit(engine, evidence_dir, plan_id=SOSH5, item="I.2", period="2025-Q2", by="ivanova-mp",
                    now=_at(2, 7), upload=Upload(PDF + b"2", "Скриншот раздела, июнь.pdf"),
                    document_date=dt.date(2025, 7, 2), comment="Добавлены сведения о новом спортзале")
    evidence.submit(engine, evidence_dir, plan_id=SOSH5, item="II.3", by="sidorov-aa", now=_at(20, 5),
                    url="https://sosh5.example.org/news/zona-ozhidaniya", document_date=dt.date(2025, 5, 20),
                    comment="Зона ожидания оборудована: диваны, кулер, стенд с информацией")
    # Гимназия № 1 (every document reviewed)
    seminar = evidence.submit(engine, evidence_dir, plan_id=GIM1, item="IV.6", by="ivanova-mp", now=_at(25, 4),
                              upload=Upload(PDF + b"3", "Протокол семинара.pdf"), document_date=dt.date(2025, 4, 25),
                              comment="Проведён семинар по этике общения, 32 педагога")
    evidence.review(engine, evidence_id=seminar.id, accept=True, reason=None, by="uo", now=_at(28, 4))
    ramp = evidence.submit(engine, evidence_dir, plan_id=GIM1, item="III.5", by="sidorov-aa", now=_at(5, 6),
                           upload=Upload(PDF + b"4", "Смета.pdf"), document_date=dt.date(2025, 6, 5),
                           comment="Смета на табло")
    evidence.review(engine, evidence_id=ramp.id, accept=False, reason="нужен акт установки, а не смета", by="uo",
                    now=_at(6, 6))
    evidence.submit(engine, evidence_dir, plan_id=GIM1, item="II.3", by="sidorov-aa", now=_at(30, 6),
                    upload=Upload(PDF + b"5", "Акт приёмки.pdf"), document_date=dt.date(2025, 6, 30),
                    comment="Зона ожидания оборудована")  # not reviewed yet: not in the form
