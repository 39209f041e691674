"""Evidence, review, waivers, relative deadlines and a year of a seed plan — on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from nok_workflow.evidence_files import path_of
from nok_workflow.problems import InputError
from nok_workflow.services.commands import plans
from nok_workflow.services.commands.audit import events
from nok_workflow.services.commands.evidence import Upload, list_evidence, review, submit, waive
from nok_workflow.services.read.obligations import list_obligations
from tests.support.paths import PLANS
from tests.support.plans import MINIMAL_PLAN

PDF = b"%PDF-1.4\n% protocol\n"


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC)


def statuses(engine, plan_id: str, day: str) -> dict[tuple[str, str], str]:
    return {(r["item"], r["period"]): r["status"] + (f"{r['level']}" if r["level"] else "")
            for r in list_obligations(engine, now=at(day), plan_id=plan_id) if r["org"] is None}


ORENBURG = "orenburg-raion-2024"


@pytest.fixture
def orenburg(engine):
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    return engine


def test_orenburg_year_walk(orenburg, tmp_path):
    engine, ev = orenburg, tmp_path / "ev"
    # 17.09.2024, the day the plan was approved: the protocol (I.1, 3rd quarter) is due in
    # 13 days — within the 14-day reminder window; the 4th-quarter items have not opened.
    s = statuses(engine, ORENBURG, "2024-09-17")
    assert s[("I.1", "2024-Q3")] == "due_soon"
    assert s[("I.2", "2024-Q4")] == "upcoming"
    assert s[("III.3", "2024-Q3")] == "due_soon"
    # 01.10 (Tue): I.1 not done, 1 working day late → escalated level 1.
    s = statuses(engine, ORENBURG, "2024-10-01")
    assert s[("I.1", "2024-Q3")] == "escalated1" and s[("I.2", "2024-Q4")] == "open"
    # The protocol signed 17.09 and uploaded 03.10 counts on 17.09: done, not late.
    submit(engine, ev, plan_id=ORENBURG, item="I.1", by="sovet", now=at("2024-10-03"),
           upload=Upload(PDF, "protokol-1.pdf"), document_date=dt.date(2024, 9, 17))
    s = statuses(engine, ORENBURG, "2024-10-03")
    assert s[("I.1", "2024-Q3")] == "done"
    # 08.10: III.3's 3rd-quarter evidence still missing: 6 working days late → level 2.
    assert statuses(engine, ORENBURG, "2024-10-08")[("III.3", "2024-Q3")] == "escalated2"
    # 15.10: 11 working days late → level 3 (the coordinator).
    assert statuses(engine, ORENBURG, "2024-10-15")[("III.3", "2024-Q3")] == "escalated3"
    # 01.12: the December items open; 18.12 they are due soon.
    s = statuses(engine, ORENBURG, "2024-12-01")
    assert s[("II.4", "2024-12")] == "open" and s[("III.2", "2025-Q1")] == "upcoming"
    assert statuses(engine, ORENBURG, "2024-12-18")[("II.4", "2024-12")] == "due_soon"
    # The contract (I.2) signed 09.01.2025 is late.
    submit(engine, ev, plan_id=ORENBURG, item="I.2", by="uo", now=at("2025-01-10"),
           url="https://example.org/dogovor", document_date=dt.date(2025, 1, 9))
    s = statuses(engine, ORENBURG, "2025-01-10")
    assert s[("I.2", "2024-Q4")] == "done_late"
    # 31.12.2024 was a day off and 1–8 January too: II.4 (due 31.12) is 1 working day late
    # only on 09.01.2025.
    assert statuses(engine, ORENBURG, "2025-01-08")[("II.4", "2024-12")] == "overdue"
    assert statuses(engine, ORENBURG, "2025-01-09")[("II.4", "2024-12")] == "escalated1"


def test_review_required_and_rejection_reopens(engine, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(MINIMAL_PLAN.replace("period: 2024", "period: 2024\nreview_required: true"), encoding="utf-8")
    plans.load(engine, path, actor=None, now=at("2024-01-01"))
    e1 = submit(engine, tmp_path / "ev", plan_id="test-plan", item="1.1", by="otdel", now=at("2024-01-20"),
                upload=Upload(PDF, "perechen.pdf"))
    assert statuses(engine, "test-plan", "2024-01-20")[("1.1", "2024-01")] == "due_soon"  # pending review
    review(engine, evidence_id=e1.id, accept=True, reason=None, by="otdel", now=at("2024-01-21"))
    assert statuses(engine, "test-plan", "2024-01-21")[("1.1", "2024-01")] == "done"
    review(engine, evidence_id=e1.id, accept=False, reason="не та редакция", by="otdel", now=at("2024-01-22"))
    assert statuses(engine, "test-plan", "2024-01-22")[("1.1", "2024-01")] == "due_soon"
    assert [e["review"] for e in list_evidence(engine, plan_id="test-plan")] == ["rejected"]
    actions = [e.action for e in events(engine, plan_id="test-plan")]
    assert actions == ["plan.load", "evidence.submit", "evidence.accept", "evidence.reject"]
    with pytest.raises(InputError, match="требует причины"):
        review(engine, evidence_id=e1.id, accept=False, reason=" ", by="otdel", now=at("2024-01-22"))


def test_waiver_by_the_coordinator_only(orenburg):
    with pytest.raises(InputError, match="только координатор"):
        waive(orenburg, plan_id=ORENBURG, item="III.2", period=None, org=None, reason="перенесено",
              by="sovet", now=at("2024-12-01"))
    waive(orenburg, plan_id=ORENBURG, item="III.2", period=None, org=None, reason="перенесено в план 2025",
          by="uo", now=at("2024-12-01"))
    assert statuses(orenburg, ORENBURG, "2025-06-01")[("III.2", "2025-Q1")] == "waived"


RELATIVE_PLAN = MINIMAL_PLAN + """\
      - number: "2"
        title: Рассмотрение отчёта оператора
        deadline:
          text: в течение одного месяца со дня получения отчета оператора
          after: "1.1"
        owners: [otdel]
      - number: "3"
        title: Приказ
        deadline:
          text: не позднее 5 рабочих дней со дня подписания протокола
          after: "1.2"
        owners: [otdel]
"""


def test_relative_deadlines_follow_their_anchor(engine, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(RELATIVE_PLAN, encoding="utf-8")
    plans.load(engine, path, actor=None, now=at("2024-01-01"))

    def row(key):
        return next(r for r in list_obligations(engine, now=at("2024-03-01"), plan_id="test-plan")
                    if r["item"] == key)

    assert (row("1.2")["due"], row("1.2")["status"]) == (None, "upcoming")
    e = submit(engine, tmp_path / "ev", plan_id="test-plan", item="1.1", by="otdel", now=at("2024-01-25"),
               upload=Upload(PDF, "report.pdf"), document_date=dt.date(2024, 1, 24))
    assert row("1.2")["due"] == "2024-02-24"  # one month after 24.01
    submit(engine, tmp_path / "ev", plan_id="test-plan", item="1.2", by="otdel", now=at("2024-02-21"),
           url="https://example.org/protokol", document_date=dt.date(2024, 2, 21))
    # 5 working days after Wed 21.02.2024: 22, 26 (23 Feb is a holiday, 24-25 weekend), 27, 28, 29.
    assert row("1.3")["due"] == "2024-02-29"
    # Re-opening the anchor takes the dates away again.
    review(engine, evidence_id=e.id, accept=False, reason="без подписи", by="otdel", now=at("2024-02-22"))
    assert row("1.2")["due"] is None and row("1.2")["status"] == "done"
    assert row("1.3")["due"] == "2024-02-29"


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"plan_id": "nope"}, "план «nope» не загружен"),
        ({"item": "9.9"}, "нет пункта «9.9»"),
        ({"period": "2031-Q1"}, "нет периода «2031-Q1»"),
        ({"org": "school-x"}, "нет обязательства организации «school-x»"),
        ({"by": "operator"}, "«operator» не отвечает за пункт I.1"),
        ({"by": "stranger"}, "«stranger» нет в справочнике"),
        ({"upload": Upload(b"", "empty.pdf")}, "файл пуст"),
        ({"upload": Upload(PDF, "../../etc/passwd")}, "недопустимое имя файла «../../etc/passwd»"),
        ({"upload": Upload(b"MZ\x90\x00" + b"\x00" * 100, "virus.pdf")}, "тип файла не подходит"),
        ({"upload": Upload(PDF * 10, "big.pdf"), "max_bytes": 50}, "файл больше допустимого"),
        ({"upload": None, "url": "ftp://x"}, "должна начинаться с http"),
        ({"upload": None}, "нужен файл или ссылка"),
        ({"document_date": dt.date(2024, 12, 1)}, "ещё не наступила"),
    ],
)
def test_bad_evidence_is_refused_and_leaves_nothing(orenburg, tmp_path, kwargs, message):
    args = {"plan_id": ORENBURG, "item": "I.1", "by": "sovet", "now": at("2024-09-25"),
            "upload": Upload(PDF, "protokol.pdf")} | kwargs
    with pytest.raises(InputError) as info:
        submit(orenburg, tmp_path / "ev", **args)
    assert message in str(info.value)
    assert list_evidence(orenburg) == []
    assert not (tmp_path / "ev").exists() or not any((tmp_path / "ev").rglob("*"))


def test_files_are_content_addressed_and_never_overwritten(orenburg, tmp_path):
    ev = tmp_path / "ev"
    a = submit(orenburg, ev, plan_id=ORENBURG, item="I.1", by="sovet", now=at("2024-09-25"),
               upload=Upload(PDF, "protokol.pdf"))
    stored = path_of(ev, a.sha256)
    assert stored.read_bytes() == PDF and a.media_type == "application/pdf"
    before = stored.stat().st_mtime_ns
    b = submit(orenburg, ev, plan_id=ORENBURG, item="III.3", period="2024-Q3", by="operator",
               now=at("2024-09-26"), upload=Upload(PDF, "kopiya.pdf"))
    assert b.sha256 == a.sha256 and stored.stat().st_mtime_ns == before
    assert [p.name for p in ev.rglob("*") if p.is_file()] == [a.sha256]


def test_item_level_review_requirement(engine, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(MINIMAL_PLAN.replace("        results: [Перечень учреждений]",
                                         "        results: [Перечень учреждений]\n        review_required: true"),
                    encoding="utf-8")
    plans.load(engine, path, actor=None, now=at("2024-01-01"))
    e = submit(engine, tmp_path / "ev", plan_id="test-plan", item="1.1", by="otdel", now=at("2024-01-10"),
               upload=Upload(PDF, "perechen.pdf"))
    assert statuses(engine, "test-plan", "2024-01-10")[("1.1", "2024-01")] == "open"  # awaits review
    review(engine, evidence_id=e.id, accept=True, reason=None, by="otdel", now=at("2024-01-11"))
    assert statuses(engine, "test-plan", "2024-01-11")[("1.1", "2024-01")] == "done"


def test_without_period_evidence_goes_to_the_earliest_open_period_whose_window_opened(orenburg, tmp_path):
    """On 2 October the quarterly confirmation (III.3) closes the overdue 3rd quarter, not the
    4th quarter that is not due yet; the next upload closes the 4th."""
    engine = orenburg
    first = submit(engine, None, plan_id=ORENBURG, item="III.3", by="operator", now=at("2024-10-02"),
                   url="https://example.org/q3")
    second = submit(engine, None, plan_id=ORENBURG, item="III.3", by="operator", now=at("2024-10-03"),
                    url="https://example.org/q4")
    periods = {e["id"]: e["period"] for e in list_evidence(engine, plan_id=ORENBURG, item="III.3")}
    assert (periods[first.id], periods[second.id]) == ("2024-Q3", "2024-Q4")
    after = statuses(engine, ORENBURG, "2024-10-03")
    assert after[("III.3", "2024-Q3")] == "done_late" and after[("III.3", "2024-Q4")] == "done"
    # Nothing open any more: the message lists the periods instead of guessing.
    with pytest.raises(InputError) as refused:
        submit(engine, None, plan_id=ORENBURG, item="III.3", by="operator", now=at("2024-10-04"),
               url="https://example.org/again")
    message = str(refused.value.problems[0])
    assert "укажите --period" in message and "2024-Q3" in message and "2024-Q4" in message
    assert len(list_evidence(engine, plan_id=ORENBURG, item="III.3")) == 2  # nothing written
