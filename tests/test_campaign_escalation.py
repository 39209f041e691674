"""Reminders and escalation per organisation in a campaign of two schools' shortcomings plans,
as for any plan: a measure left undone goes first to the responsible person, then to the
school's head (their `escalates_to`), then to the department (the coordinator) — each school's
to its own people. The daily run on chosen days; the outbox read after each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.commands import campaigns, plans
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.read import campaigns as campaign_view
from nok_workflow.store.models import Item, Obligation, Outbox
from tests.support.paths import PLANS

SOSH5 = PLANS / "shortcomings-sosh5-2025.yaml"
MSK = dt.timezone(dt.timedelta(hours=3))
LOADED = dt.datetime(2025, 4, 1, 9, 0, tzinfo=MSK)
SEMINAR = "IV.6"  # «до 30 апреля 2025 года», owner ivanova-mp


def _sosh7(write_plan):
    """The same form for another school: its own organisation and people."""
    text = SOSH5.read_text(encoding="utf-8").replace("id: shortcomings-sosh5-2025", "id: shortcomings-sosh7-2025", 1)
    for old, new in (("sosh-5", "sosh-7"), ("СОШ № 5", "СОШ № 7"), ("sosh5", "sosh7"), ("petrov-ii", "kuznetsova-ov"),
                     ("Петров Иван Игоревич", "Кузнецова Ольга Викторовна"), ("ivanova-mp", "smirnov-dv"),
                     ("Иванова Мария Петровна", "Смирнов Дмитрий Валерьевич")):
        text = text.replace(old, new)
    return write_plan(text, "sosh7.yaml")


def test_an_overdue_measure_escalates_per_school_owner_then_head_then_department(engine, write_plan):
    campaign = campaigns.create(engine, owner="uo", title="НОК 2024", year=2024, now=LOADED)
    for path in (SOSH5, _sosh7(write_plan)):
        plans.load(engine, path, actor=None, now=LOADED)
    for plan_id in ("shortcomings-sosh5-2025", "shortcomings-sosh7-2025"):
        campaigns.attach(engine, campaign, owner="uo", plan_id=plan_id, now=LOADED)

    first: dict[tuple[str, str], dt.date] = {}  # (plan, recipient) → the first day escalated to them
    day = dt.date(2025, 4, 28)
    while day <= dt.date(2025, 5, 31):
        for plan_id in ("shortcomings-sosh5-2025", "shortcomings-sosh7-2025"):
            plan_run.steps(engine, plan_id, dt.datetime.combine(day, dt.time(9, 0), MSK))
        with Session(engine) as session:
            for plan_id, recipient, queued in session.execute(
                    select(Outbox.plan_id, Outbox.recipient, Outbox.day)
                    .join(Obligation, Obligation.id == Outbox.obligation_id).join(Item, Item.id == Obligation.item_id)
                    .where(Outbox.kind == "escalation", Item.key == SEMINAR)):
                first.setdefault((plan_id, recipient), queued)
        day += dt.timedelta(days=1)

    for plan_id, owner, head in (("shortcomings-sosh5-2025", "ivanova-mp", "petrov-ii"),
                                 ("shortcomings-sosh7-2025", "smirnov-dv", "kuznetsova-ov")):
        mine = {who: when for (p, who), when in first.items() if p == plan_id}
        assert set(mine) == {owner, head, "uo"}, mine
        assert mine[owner] < mine[head] < mine["uo"], mine
        assert dt.date(2025, 4, 30) < mine[owner]
    assert first[("shortcomings-sosh5-2025", "petrov-ii")] == first[("shortcomings-sosh7-2025", "kuznetsova-ov")]

    shown = campaign_view.dashboard(engine, campaign, "uo", dt.datetime(2025, 5, 31, 9, 0, tzinfo=MSK))
    assert [r.organisation for r in shown.rows] == ["МБОУ «СОШ № 5»", "МБОУ «СОШ № 7»"]
    assert all(r.counts.late >= 1 and r.counts.done == 1 for r in shown.rows)
