"""The plan's daily work (what each flow step does), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.commands import plans
from nok_workflow.services.jobs import plan_run, sweep
from nok_workflow.services.commands.evidence import Upload, submit
from nok_workflow.store.models import Item, Obligation, Outbox
from tests.support.paths import PLANS
from tests.support.plans import MINIMAL_PLAN

ORENBURG = "orenburg-raion-2024"


def at(day: str) -> dt.datetime:
    # 05:00 UTC is 10:00 in Оренбург (UTC+5): the same local day.
    return dt.datetime.fromisoformat(day).replace(hour=5, tzinfo=dt.UTC)


def outbox(engine, day: str | None = None) -> list[tuple]:
    with Session(engine) as session:
        query = select(Outbox.kind, Outbox.step, Outbox.recipient, Outbox.details["item"].as_string()).where(
            Outbox.kind.in_(("reminder", "escalation")))  # plan-change notices: tests/test_mail.py
        if day:
            query = query.where(Outbox.day == dt.date.fromisoformat(day))
        return sorted(tuple(r) for r in session.execute(query).all())


def labels(outcomes) -> dict[str, str]:
    return {o.key: o.label for o in outcomes}


def test_orenburg_days(engine):
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    first = plan_run.steps(engine, ORENBURG, at("2024-09-17"))
    assert labels(first) == {
        "I.1": "Срок скоро", "I.2": "Не начато", "II.1": "Не начато", "II.2": "Не начато", "II.3": "Не начато",
        "II.4": "Не начато", "II.5": "Не начато", "II.6": "Не начато", "III.1": "Не начато", "III.2": "Не начато",
        "III.3": "Срок скоро",
    }
    # 13 days before 30.09: the 14-day reminder, to each owner.
    assert outbox(engine, "2024-09-17") == [
        ("reminder", 14, "operator", "III.3"), ("reminder", 14, "sovet", "I.1")]
    assert plan_run.steps(engine, ORENBURG, at("2024-09-17"))[0].queued == 0  # same day again: nothing

    # Friday 27.09 is 3 days before, and the 1-day reminder (Sunday 29.09) moves to the
    # working day before — Friday too: one message, the more urgent one. Weekend: nothing.
    plan_run.steps(engine, ORENBURG, at("2024-09-27"))
    assert outbox(engine, "2024-09-27") == [("reminder", 1, "operator", "III.3"), ("reminder", 1, "sovet", "I.1")]
    plan_run.steps(engine, ORENBURG, at("2024-09-29"))
    assert outbox(engine, "2024-09-29") == []
    # Monday 30.09, the due day: the day-0 reminder.
    plan_run.steps(engine, ORENBURG, at("2024-09-30"))
    assert outbox(engine, "2024-09-30") == [("reminder", 0, "operator", "III.3"), ("reminder", 0, "sovet", "I.1")]

    # The protocol arrives on 01.10 (signed 30.09): I.1 done; III.3 escalates to its owner.
    submit(engine, None, plan_id=ORENBURG, item="I.1", by="sovet", now=at("2024-10-01"),
           url="https://example.org/protokol", document_date=dt.date(2024, 9, 30))
    result = labels(plan_run.steps(engine, ORENBURG, at("2024-10-01")))
    assert result["I.1"] == "Выполнено" and result["III.3"] == "Эскалировано" and result["I.2"] == "Ожидает документ"
    assert outbox(engine, "2024-10-01") == [("escalation", 1, "operator", "III.3")]
    # +5 working days (08.10): to the operator's escalates_to (the council); +10 (15.10): the coordinator.
    plan_run.steps(engine, ORENBURG, at("2024-10-08"))
    assert outbox(engine, "2024-10-08") == [("escalation", 2, "sovet", "III.3")]
    plan_run.steps(engine, ORENBURG, at("2024-10-15"))
    assert outbox(engine, "2024-10-15") == [("escalation", 3, "uo", "III.3")]
    with Session(engine) as session:
        stored = sorted(session.execute(select(Item.key, Obligation.period, Obligation.status, Obligation.level)
                                        .join(Item).where(Item.key.in_(("I.1", "I.2", "III.3")))).all())
    assert stored == [("I.1", "2024-Q3", "done", 0), ("I.2", "2024-Q4", "open", 0),
                      ("III.3", "2024-Q3", "escalated", 3), ("III.3", "2024-Q4", "open", 0)]


def test_missed_days_send_only_the_most_urgent_reminder(engine):
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    plan_run.steps(engine, ORENBURG, at("2024-09-29"))  # first run ever, 1 day before
    assert outbox(engine) == [("reminder", 1, "operator", "III.3"), ("reminder", 1, "sovet", "I.1")]


def test_an_owner_first_seen_at_level_two_is_still_told(engine):
    """A plan loaded late (or a server down for a week): on the first run its obligations are
    already at level 2. Escalation adds the superior; it never drops the owner."""
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-10-08"))
    plan_run.steps(engine, ORENBURG, at("2024-10-08"))  # 30.09 + 6 working days: level 2
    mine = [r for r in outbox(engine, "2024-10-08") if r[3] in ("I.1", "III.3")]
    assert mine == [("escalation", 1, "operator", "III.3"), ("escalation", 1, "sovet", "I.1"),
                    ("escalation", 2, "sovet", "III.3"), ("escalation", 2, "uo", "I.1")]
    # Level 3 a week later: only the coordinator is new; nobody hears the same level twice.
    plan_run.steps(engine, ORENBURG, at("2024-10-15"))
    assert [r for r in outbox(engine, "2024-10-15") if r[3] in ("I.1", "III.3")] == [
        ("escalation", 3, "uo", "I.1"), ("escalation", 3, "uo", "III.3")]


def test_each_organisation_is_reminded_and_escalated_on_its_own(engine):
    plans.load(engine, PLANS / "yuzhno-sakhalinsk-2014-2016.yaml", actor=None, now=at("2014-09-01"))
    # 4.5 is due 05.10.2014 (Sunday) for Q3: the day-0 reminder goes out on Friday 03.10.
    plan_run.steps(engine, "yuzhno-sakhalinsk-2014-2016", at("2014-10-03"))
    mine = [r for r in outbox(engine, "2014-10-03") if r[3] == "4.5"]
    assert mine == [("reminder", 0, who, "4.5") for who in sorted(["departament", "ds-12", "gimnaziya-3", "sosh-1"])]
    # Six working days late (Mon 13.10): each school's obligation escalates to its group's
    # escalates_to, the department's own (nobody above it) to the coordinator — the same
    # person four times; the daily digest makes that one email. Nobody ran on the day of
    # level 1: the schools still hear of their own (the department once, at level 2).
    plan_run.steps(engine, "yuzhno-sakhalinsk-2014-2016", at("2014-10-13"))
    level2 = [r for r in outbox(engine, "2014-10-13") if r[3] == "4.5"]
    assert level2 == [("escalation", 1, who, "4.5") for who in ("ds-12", "gimnaziya-3", "sosh-1")] + \
        [("escalation", 2, "departament", "4.5")] * 4


def test_unscheduled_and_relative_steps(engine, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(MINIMAL_PLAN + """\
      - number: "2"
        title: По плану отдела
        deadline: Согласно плану работы отдела
        owners: [otdel]
      - number: "3"
        title: Рассмотрение
        deadline: {text: в течение 10 дней со дня получения перечня, after: "1.1"}
        owners: [otdel]
""", encoding="utf-8")
    plans.load(engine, path, actor=None, now=at("2024-01-01"))
    result = labels(plan_run.steps(engine, "test-plan", at("2024-01-05")))
    assert result == {"1.1": "Ожидает документ", "1.2": "Без срока", "1.3": "Не начато"}
    submit(engine, tmp_path / "ev", plan_id="test-plan", item="1.1", by="otdel", now=at("2024-01-10"),
           upload=Upload(b"%PDF-1.4", "p.pdf"))
    context = sweep.prepare(engine, "test-plan")
    assert [s.key for s in context.steps] == ["1.1", "1.2", "1.3"]
    assert context.steps[2].depends_on == ("1.1",)
    result = labels(plan_run.steps(engine, "test-plan", at("2024-01-15")))
    assert result["1.1"] == "Выполнено" and result["1.3"] == "Срок скоро"  # due 20.01


def test_two_sweeps_at_once_queue_each_message_once(engine):
    plans.load(engine, PLANS / "gorod-2018.yaml", actor=None, now=at("2018-01-01"))
    errors = []

    def run():
        try:
            plan_run.steps(engine, "gorod-2018", at("2018-01-25"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = outbox(engine)
    assert rows and len(rows) == len(set(rows))
    with Session(engine) as session:
        keys = session.execute(select(Outbox.key)).scalars().all()
    assert len(keys) == len(set(keys))


def test_reminders_in_working_days(engine, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(MINIMAL_PLAN.replace("deadline: Январь", "deadline: до 31.05.2024\n"
                                         "        reminders: {days_before: [15], working_days: true}"),
                    encoding="utf-8")
    plans.load(engine, path, actor=None, now=at("2024-04-01"))
    # 15 working days before Friday 31.05.2024, counting back: 30, 29, 28, 27, 24 … 14, 13,
    # then 10.05 and 09.05 are days off (Victory Day and a transferred day off): the 15th is
    # Wednesday 08.05 — 23 calendar days before the deadline.
    plan_run.steps(engine, "test-plan", at("2024-05-07"))
    assert outbox(engine) == []
    plan_run.steps(engine, "test-plan", at("2024-05-08"))
    assert outbox(engine, "2024-05-08") == [("reminder", 15, "otdel", "1.1")]


def test_a_run_before_the_plans_last_run_is_refused_unless_insisted(engine):
    """Simulated time is safe: a stray real clock in a 2024 simulation, or a --now typo,
    would turn statuses back and send mail dated in the past."""
    import pytest

    from nok_workflow.problems import InputError
    from nok_workflow.store.models import Plan

    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    plan_run.steps(engine, ORENBURG, at("2024-10-08"))
    queued = outbox(engine)
    with pytest.raises(InputError) as refused:
        plan_run.steps(engine, ORENBURG, at("2024-10-01"))
    message = str(refused.value.problems[0])
    assert "уже выполнялся за 08.10.2024; запуск за 01.10.2024 — в прошлом" in message
    assert "--allow-past" in message
    assert outbox(engine) == queued  # nothing queued by the refused run
    plan_run.steps(engine, ORENBURG, at("2024-10-08"))  # the same day again is fine
    plan_run.steps(engine, ORENBURG, at("2024-10-01"), allow_past=True)
    with Session(engine) as session:
        assert session.get(Plan, ORENBURG).last_run_on == dt.date(2024, 10, 1)  # the timeline restarts there
