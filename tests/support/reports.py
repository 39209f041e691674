"""Simulated quarters of the seed plans with known outcomes, for the report tests.

`orenburg_autumn(engine, evidence_dir)` plays the autumn of 2024 of the Оренбургский район
plan: documents on time, one late, one waived, the rest not done. `EXPECTED_Q4` is what its
2024 Q4 report must say as of `AS_OF_Q4`. `yuzhno_quarter(...)` gives a plan whose items
belong to every school (organisations table, counts rather than lines).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

from nok_workflow import clock
from nok_workflow.reports.model import Period, Report, report_period
from nok_workflow.services.commands import evidence, plans
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.commands.evidence import Upload
from nok_workflow.services.read.report import build_report
from tests.support.paths import PLANS, ROOT

ORENBURG = "orenburg-raion-2024"
YUZHNO = "yuzhno-sakhalinsk-2014-2016"
BASE = "https://nok.example.org"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
AS_OF_Q4 = "2025-01-10T09:00+05:00"  # after the quarter closed: nothing due in it is still open


def at(moment: str) -> dt.datetime:
    return clock.parse_now(moment)


def orenburg_autumn(engine, evidence_dir: Path | None) -> None:
    plans.load(engine, PLANS / f"{ORENBURG}.yaml", actor=None, now=at("2024-09-17T09:00+05:00"))
    # I.1 (III квартал): the council met on 20.09 — on time, in Q3 (not in the Q4 report)
    evidence.submit(engine, evidence_dir, plan_id=ORENBURG, item="I.1", by="sovet", now=at("2024-09-20T15:00+05:00"),
                    upload=Upload(PDF, "Протокол №1.pdf"), document_date=dt.date(2024, 9, 20))
    # I.2 (IV квартал): the second meeting on 18.10, on time
    evidence.submit(engine, evidence_dir, plan_id=ORENBURG, item="I.2", by="sovet", now=at("2024-10-18T15:00+05:00"),
                    upload=Upload(PDF + b"2", "Протокол №2.pdf"), document_date=dt.date(2024, 10, 18))
    # II.1 (октябрь–декабрь): the survey's results dated 27.12, on time
    evidence.submit(engine, evidence_dir, plan_id=ORENBURG, item="II.1", by="operator",
                    now=at("2024-12-27T12:00+05:00"), upload=Upload(PDF + b"3", "Анкетирование, итоги.pdf"),
                    document_date=dt.date(2024, 12, 27))
    # II.4 (декабрь): the operator's report dated 09.01.2025 — 9 days late
    evidence.submit(engine, evidence_dir, plan_id=ORENBURG, item="II.4", by="operator",
                    now=at("2025-01-09T12:00+05:00"), upload=Upload(PDF + b"4", "Отчёт оператора.pdf"),
                    document_date=dt.date(2025, 1, 9))
    # II.6: waived by the coordinator
    evidence.waive(engine, plan_id=ORENBURG, item="II.6", period=None, org=None,
                   reason="перенесено решением общественного совета", by="uo", now=at("2024-12-02T10:00+05:00"))
    plan_run.steps(engine, ORENBURG, at(AS_OF_Q4))


# 2024 Q4 of the autumn above, as of AS_OF_Q4: item → outcome (items due in Q4 only).
EXPECTED_Q4 = {
    "I.2": "on_time", "II.1": "on_time", "II.2": "not_done", "II.3": "not_done", "II.4": "late",
    "II.5": "not_done", "II.6": "cancelled", "III.1": "not_done", "III.3": "not_done",
}


def orenburg_q4(engine, evidence_dir: Path | None, *, year_to_date: bool = False, now: str = AS_OF_Q4) -> Report:
    orenburg_autumn(engine, evidence_dir)
    return build_report(engine, ORENBURG, report_period(2024, 4, year_to_date), now=at(now), base_url=BASE)


def yuzhno_quarter(engine, evidence_dir: Path | None, period: Period | None = None) -> Report:
    """The 2015 Q1 of the Южно-Сахалинск plan: items of every school; one school reports late."""
    plans.load(engine, PLANS / f"{YUZHNO}.yaml", actor=None, now=at("2014-09-01T09:00+11:00"))
    # 4.5 «Ежеквартально до 5 числа»: for 2014 Q4 (due 05.01.2015) one school on time, one late
    for org, day in (("sosh-1", dt.date(2015, 1, 4)), ("gimnaziya-3", dt.date(2015, 1, 12))):
        evidence.submit(engine, evidence_dir, plan_id=YUZHNO, item="4.5", period="2014-Q4", org=org, by=org,
                        now=at(f"{day.isoformat()}T12:00+11:00"), upload=Upload(PDF + org.encode(), f"Информация {org}.pdf"),
                        document_date=day)
    plan_run.steps(engine, YUZHNO, at("2015-04-10T09:00+11:00"))
    return build_report(engine, YUZHNO, period or report_period(2015, 1), now=at("2015-04-10T09:00+11:00"),
                        base_url=BASE)


def seed_reports(work: Path) -> dict[str, Report]:
    """The Оренбург Q4 and Южно-Сахалинск Q1 reports, each from its own SQLite store in `work`
    (the renderers' tests; the store itself is tested on PostgreSQL too elsewhere)."""
    from nok_workflow.store.db import connect

    engines = [connect(f"sqlite:///{work}/{name}.db") for name in ("orenburg", "yuzhno")]
    built = {"orenburg": orenburg_q4(engines[0], work / "ev1"), "yuzhno": yuzhno_quarter(engines[1], work / "ev2")}
    for engine in engines:
        engine.dispose()
    return built


def write_example(folder: Path) -> list[Path]:
    """The example in docs/: the Оренбург 2024 Q4 report after the simulated autumn, every format.

        .venv/bin/python -m tests.support.reports docs/examples
    """
    import tempfile

    from nok_workflow.reports.formats import FORMATS, file_name, render
    from nok_workflow.store.db import connect

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        engine = connect(f"sqlite:///{work}/nok.db")
        report = orenburg_q4(engine, Path(work) / "evidence")
        engine.dispose()
    written = []
    for fmt in FORMATS:
        path = folder / file_name(report, fmt)
        path.write_bytes(render(report, fmt))
        written.append(path)
    return written


if __name__ == "__main__":
    import sys

    for path in write_example(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/examples")):
        print(path)


ARTIFACTS = ROOT / "tests" / "artifacts" / "reports"


def office_pdfs(files: dict[str, bytes], suffix: str, work: Path, *, package: str, dpi: int,
                profile: Path | None = None) -> dict[str, Path]:
    """Office files converted to PDF by one LibreOffice run (it starts slowly), their pages kept
    as PNG test artifacts «<suffix>-<name>-N.png» (older ones of that kind removed first).
    `profile`: LibreOffice's user profile (one soffice at a time on it); a new one in `work`
    without it."""
    soffice = shutil.which("soffice")
    assert soffice, f"LibreOffice (soffice) is needed: apt-get install {package}"
    paths = []
    for name, body in files.items():
        paths.append(work / f"{name}.{suffix}")
        paths[-1].write_bytes(body)
    done = subprocess.run([soffice, f"-env:UserInstallation={(profile or work / 'lo-profile').as_uri()}", "--headless", "--convert-to",
                           "pdf", "--outdir", str(work), *map(str, paths)], capture_output=True, text=True,
                          timeout=240, check=False)
    pdfs = {name: work / f"{name}.pdf" for name in files}
    assert done.returncode == 0 and all(p.is_file() for p in pdfs.values()), (done.stdout, done.stderr)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{suffix}-*.png"):
        old.unlink()
    for name, pdf in pdfs.items():
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(ARTIFACTS / f"{suffix}-{name}")], check=True)
    return pdfs
