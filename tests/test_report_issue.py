"""The quarterly report's data and its issuing: counts in SQL against a recount in Python on
every seed plan (SQLite and PostgreSQL), the official words of a simulated autumn, the
report day, filing the report as the reporting item's document, the coordinator's digest
with the files attached, `nok report` and its refusals."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from docx import Document
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.reports.model import OUTCOME_WORDS, outcome, parse_quarter, report_period
from nok_workflow.services.delivery import dispatch as dispatch_service
from nok_workflow.services.commands import plans
from nok_workflow.services.jobs import plan_run, quarterly
from nok_workflow.services.read.report import build_report
from nok_workflow.settings import Settings
from nok_workflow.store.models import AuditEvent, Evidence, Item, Obligation, Outbox
from notifiers.email import EmailNotifier
from tests.support.cli import run_nok
from tests.support.paths import PLANS
from tests.support.reports import BASE, EXPECTED_Q4, ORENBURG, YUZHNO, at, orenburg_q4

SEEDS = {"gorod-2018": "2018-01-01T09:00+03:00", "informing-2026": "2026-01-12T09:00+03:00",
         ORENBURG: "2024-09-17T09:00+05:00", YUZHNO: "2014-09-01T09:00+11:00"}


def recount(engine, plan_id: str, period, as_of: dt.date) -> tuple[Counter, dict[str, Counter]]:
    """The same counting done obligation by obligation in Python."""
    with Session(engine) as session:
        rows = session.execute(select(Item.key, Obligation.state, Obligation.completed_on, Obligation.due)
                               .join(Item, Item.id == Obligation.item_id)
                               .where(Obligation.plan_id == plan_id,
                                      Obligation.due.between(period.start, period.end))).all()
    total, per_item = Counter(), {}
    for key, state, completed_on, due in rows:
        kind = outcome(state, completed_on, due, as_of)
        total[kind] += 1
        per_item.setdefault(key, Counter())[kind] += 1
    return total, per_item


@pytest.mark.parametrize("plan_id", list(SEEDS))
def test_counts_in_sql_agree_with_a_recount_of_every_obligation(engine, plan_id):
    plans.load(engine, PLANS / f"{plan_id}.yaml", actor=None, now=at(SEEDS[plan_id]))
    with Session(engine) as session:
        days = [d for d in session.execute(select(Obligation.due).where(Obligation.plan_id == plan_id)).scalars() if d]
    checked = 0
    for year, q in sorted({(d.year, (d.month - 1) // 3 + 1) for d in days}):
        for ytd in (False, True):
            period = report_period(year, q, ytd)
            now = at(f"{period.end.isoformat()}T20:00+00:00") - dt.timedelta(days=20)  # mid-quarter: some still open
            report = build_report(engine, plan_id, period, now=now, base_url=BASE)
            total, per_item = recount(engine, plan_id, period, report.as_of)
            assert {k: getattr(report.totals, k) for k in OUTCOME_WORDS} == {k: total[k] for k in OUTCOME_WORDS}
            assert report.totals.total == sum(total.values())
            items = {i.number: i for s in report.sections for i in s.items}
            assert set(items) == set(per_item)
            for key, counted in per_item.items():
                assert {k: getattr(items[key].counts, k) for k in OUTCOME_WORDS} == \
                    {k: counted[k] for k in OUTCOME_WORDS}, key
            owners_total = sum((o.counts.total for o in report.owners), 0)
            assert owners_total >= report.totals.total  # an item of two owners counts for each
            checked += report.totals.total
    assert checked > 0


def test_the_autumn_of_orenburg_in_official_words(engine, tmp_path):
    report = orenburg_q4(engine, tmp_path / "evidence")
    assert report.period.label == "IV квартал 2024 года" and report.as_of == dt.date(2025, 1, 10)
    items = {i.number: i for s in report.sections for i in s.items}
    assert {k: i.status for k, i in items.items()} == {k: OUTCOME_WORDS[v] for k, v in EXPECTED_Q4.items()}
    assert items["II.4"].days_late == 9 and items["II.4"].completed_on == dt.date(2025, 1, 9)
    assert items["II.2"].days_late == (dt.date(2025, 1, 10) - items["II.2"].due_dates[0]).days
    assert items["I.2"].evidence[0].name == "Протокол №2.pdf" and len(items["I.2"].evidence[0].sha256) == 12
    assert items["I.2"].evidence[0].url.startswith(f"{BASE}/plans/{ORENBURG}/evidence/")
    t = report.totals
    assert (t.total, t.on_time, t.late, t.not_done, t.in_progress, t.cancelled) == (9, 2, 1, 5, 0, 1)
    assert t.percent("done") == 37.5  # 3 of the 8 not cancelled
    assert report.approved_by == "Общественный совет" and report.coordinator == "Управление образования"


def test_year_to_date_adds_the_earlier_quarters(engine, tmp_path):
    report = orenburg_q4(engine, tmp_path / "evidence", year_to_date=True)
    assert report.period.start == dt.date(2024, 1, 1) and "нарастающим итогом" in report.period.label
    items = {i.number: i for s in report.sections for i in s.items}
    assert items["I.1"].status == "выполнено в срок"  # due in Q3, with the other Q3 item (not done)
    assert (report.totals.total, report.totals.on_time) == (9 + 2, 2 + 1)


def test_before_the_due_date_an_item_is_in_progress(engine):
    """Until its due day has passed an item is «в работе»; the day after, «не выполнено»."""
    plans.load(engine, PLANS / f"{ORENBURG}.yaml", actor=None, now=at("2024-09-17T09:00+05:00"))
    for now, status in (("2024-12-20T09:00+05:00", "в работе"), ("2024-12-31T23:00+05:00", "в работе"),
                        ("2025-01-01T00:30+05:00", "не выполнено")):
        report = build_report(engine, ORENBURG, report_period(2024, 4), now=at(now), base_url=BASE)
        lines = [i for s in report.sections for i in s.items]
        assert all(i.due_dates == [dt.date(2024, 12, 31)] for i in lines)  # Q4 of this plan: all due 31.12
        assert {i.status for i in lines} == {status}, now
        assert {i.days_late for i in lines} == ({None} if status == "в работе" else {1})


@pytest.mark.parametrize("text, expected", [("2024Q4", (2024, 4)), ("2024-Q1", (2024, 1)), (" 2025q2 ", (2025, 2)),
                                            ("2024К3", (2024, 3))])
def test_quarters_are_read_as_people_type_them(text, expected):
    assert parse_quarter(text) == expected


def test_the_report_day_and_the_reporting_item(engine, tmp_path):
    """Южно-Сахалинск names 4.6 «Ежеквартально» as its reporting item: the report comes on
    its due day, the quarter's last, is filed there and reaches the coordinator once."""
    settings = Settings(home=tmp_path / ".nok", base_url=BASE)
    plans.load(engine, PLANS / f"{YUZHNO}.yaml", actor=None, now=at("2014-09-01T09:00+11:00"))
    assert quarterly.due_quarter(engine, YUZHNO, at("2014-12-30T09:00+11:00")).code == "2014Q3"
    quarterly.issue(engine, settings, YUZHNO, report_period(2014, 3), at("2014-10-01T09:00+11:00"))
    assert quarterly.due_quarter(engine, YUZHNO, at("2014-12-30T09:00+11:00")) is None
    period = quarterly.due_quarter(engine, YUZHNO, at("2014-12-31T09:00+11:00"))
    assert period.code == "2014Q4"
    issued = quarterly.issue(engine, settings, YUZHNO, period, at("2014-12-31T09:00+11:00"))
    assert set(issued.files) == {"docx", "xlsx", "html", "json"} and all(p.is_file() for p in issued.files.values())
    assert json.loads(issued.files["json"].read_text(encoding="utf-8"))["period"]["code"] == "2014Q4"
    assert "IV квартал 2014 года" in "\n".join(p.text for p in Document(issued.files["docx"]).paragraphs)
    with Session(engine) as session:
        filed = session.get(Evidence, issued.evidence_id)
        ob = session.get(Obligation, filed.obligation_id)
        assert (session.get(Item, ob.item_id).key, ob.period) == ("4.6", "2014-Q4")
        assert filed.file_name == issued.files["docx"].name and filed.submitted_by == "departament"
        assert ob.completed_on == dt.date(2014, 12, 31)  # the report closes the item on time
    again = quarterly.issue(engine, settings, YUZHNO, period, at("2014-12-31T10:00+11:00"))
    assert again.evidence_id == issued.evidence_id and issued.queued and not again.queued
    with Session(engine) as session:
        assert session.execute(select(Evidence.id).where(Evidence.obligation_id == ob.id)).all() == [(filed.id,)]
        assert len(session.execute(select(Outbox.id).where(Outbox.kind == "report")).all()) == 2  # Q3, Q4
        issued_events = session.execute(select(AuditEvent.details).where(AuditEvent.action == "report.issue")).all()
        assert {d["quarter"] for (d,) in issued_events} == {"2014Q3", "2014Q4"}
    assert quarterly.due_quarter(engine, YUZHNO, at("2015-01-05T09:00+11:00")) is None


def test_without_a_reporting_item_the_report_comes_when_the_quarter_closes(engine):
    plans.load(engine, PLANS / f"{ORENBURG}.yaml", actor=None, now=at("2024-09-17T09:00+05:00"))
    assert quarterly.due_quarter(engine, ORENBURG, at("2024-09-30T20:00+05:00")) is None
    assert quarterly.due_quarter(engine, ORENBURG, at("2024-10-01T00:30+05:00")).code == "2024Q3"
    # a plan loaded late issues only the latest closed quarter, not a backlog
    assert quarterly.due_quarter(engine, ORENBURG, at("2025-01-02T09:00+05:00")).code == "2024Q4"


def test_the_coordinator_gets_the_report_in_the_digest(engine, smtp, tmp_path):  # noqa: F811
    handler, port = smtp
    settings = Settings(home=tmp_path / ".nok", smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=2,
                        mail_from="НОК <nok@example.org>", base_url=BASE)
    plans.load(engine, PLANS / f"{ORENBURG}.yaml", actor=None, now=at("2024-09-17T09:00+05:00"))
    now = at("2024-10-01T09:30+05:00")
    plan_run.steps(engine, ORENBURG, now)
    quarterly.issue(engine, settings, ORENBURG, report_period(2024, 3), now)
    dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, now)
    to_uo = [m for m in handler.messages if "uo@orenburg-raion.example.org" in m["To"]]
    assert len(to_uo) == 1
    message = to_uo[0]
    names = {p.get_filename(): p for p in message.walk() if p.get_filename()}
    docx_name, xlsx_name = f"otchet-{ORENBURG}-2024Q3.docx", f"otchet-{ORENBURG}-2024Q3.xlsx"
    assert {docx_name, xlsx_name} <= set(names)
    assert names[docx_name].get_content_type().endswith("wordprocessingml.document")
    assert names[docx_name].get_payload(decode=True) == (settings.home / "reports" / ORENBURG / docx_name).read_bytes()
    text = next(p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_type() == "text/plain")
    assert "Отчёт о выполнении плана за III квартал 2024 года" in " ".join(text.split())
    assert "Во вложении" in text


@pytest.mark.slow
def test_nok_report_writes_every_format_and_refuses_bad_input(tmp_path):
    home = tmp_path / "home"
    env = {"NOK_HOME": str(home)}
    assert run_nok("plan", "load", str(PLANS / f"{ORENBURG}.yaml"), "--now", "2024-09-17", env=env).returncode == 0
    for fmt in ("json", "html", "xlsx", "docx"):
        out = tmp_path / f"r.{fmt}"
        done = run_nok("report", "--plan", ORENBURG, "--quarter", "2024Q4", "-o", str(out), "--now", "2025-01-10",
                       env=env)
        assert done.returncode == 0, done.stderr
        assert "IV квартал 2024 года" in done.stdout and out.stat().st_size > 100
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["totals"]["not_done"] == 9
    cases = [
        (["--quarter", "2024Q5", "-o", str(tmp_path / "x.json")], "--quarter: «2024Q5» — не квартал"),
        (["--quarter", "2024Q4", "-o", str(tmp_path / "x.pdf")], "не формат отчёта"),
        (["--quarter", "2024Q4", "-o", str(tmp_path / "r.json")], "файл уже существует"),
        (["--quarter", "2024Q4", "--format", "odt", "-o", str(tmp_path / "x.odt")], "«odt» — не формат отчёта"),
    ]
    for args, message in cases:
        done = run_nok("report", "--plan", ORENBURG, *args, env=env)
        assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    missing = run_nok("report", "--plan", "нет-такого", "--quarter", "2024Q4", "-o", str(tmp_path / "y.json"), env=env)
    assert missing.returncode == 1 and "план «нет-такого» не загружен" in missing.stderr
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()
