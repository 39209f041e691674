"""The store at region scale, functionally: the bulk write path, amendments that compare only
what changed, policies and status read from the store — on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text, update
from sqlmodel import Session

from nok_workflow.problems import InputError
from nok_workflow.services.commands import plans
from nok_workflow.services.read.obligations import (
    _parsed_policies,
    list_obligations,
    plan_policies,
)
from nok_workflow.store.models import Evidence, Item, Obligation, Plan, PlanVersion

NOW = dt.datetime(2025, 1, 9, 4, tzinfo=dt.UTC)

SCHOOLS = 5


def region(schools: int = SCHOOLS, deadline: str = "Декабрь", skip: int | None = None) -> str:
    orgs = "".join(f"""\
  - id: school-{i}
    name: Школа № {i}
    group: oo
    email: s{i}@example.org
""" for i in range(1, schools + 1) if i != skip)
    return f"""\
id: region-2025
title: План региона
period: 2025
coordinator: minobr
reminders: {{days_before: [10, 2]}}
directory:
  - id: minobr
    name: Министерство
    email: minobr@example.org
groups:
  - id: oo
    name: Школы
    escalates_to: minobr
organisations:
{orgs}sections:
  - number: "1."
    title: Раздел
    items:
      - number: "1"
        title: Квартальный отчёт
        deadline: Ежеквартально
        owners: ["@oo"]
        reminders: {{days_before: [5, 1, 0]}}
      - number: "2"
        title: Публикация
        deadline: {deadline}
        owners: ["@oo", minobr]
      - number: "3"
        title: Ежемесячно
        deadline: ежемесячно
        owners: ["@oo"]
"""


def _load(engine, tmp_path, body: str, now: dt.datetime = NOW, name: str = "plan.yaml"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return plans.load(engine, path, actor=None, now=now)


def _rows(engine) -> dict[tuple[str, str, str], tuple]:
    with Session(engine) as session:
        return {(r.key, r.period, r.org_id): (r.id, r.due, r.state, r.revision, r.changed_at)
                for r in session.execute(
                    select(Item.key, Obligation.id, Obligation.period, Obligation.org_id, Obligation.due,
                           Obligation.state, Obligation.revision, Obligation.changed_at)
                    .join(Item, Item.id == Obligation.item_id))}


def test_bulk_written_obligations_read_back_as_the_orm_writes_them(engine, tmp_path):
    result = _load(engine, tmp_path, region())
    assert result.diff.obligations_added == SCHOOLS * (4 + 1 + 12) + 1
    with Session(engine) as session:
        bulk = session.execute(select(Obligation).join(Item).where(Item.key == "1.2",
                                                                   Obligation.org_id == "school-1")).scalar_one()
        assert (bulk.state, bulk.status, bulk.level, bulk.revision, bulk.created_version) == (
            "active", "upcoming", 0, 0, 1)
        assert bulk.state_reason is None and bulk.completed_on is None and bulk.completed_by_evidence is None
        assert bulk.due == dt.date(2025, 12, 31) and bulk.changed_at == NOW
        # The same values written by the ORM are stored identically (SQLite keeps text):
        # `touched` compares changed_at in SQL, so the two paths must agree byte for byte.
        orm = Obligation(plan_id=bulk.plan_id, item_id=bulk.item_id, period="orm", org_id=bulk.org_id,
                         opens=bulk.opens, due=bulk.due, changed_at=NOW)
        session.add(orm)
        session.commit()
        stored = session.execute(text("SELECT id, opens, due, changed_at FROM obligation WHERE id IN (:a, :b)"),
                                 {"a": bulk.id, "b": orm.id}).all()
    assert len(stored) == 2 and stored[0][1:] == stored[1][1:]


def test_amendment_moves_one_item_and_leaves_the_others_untouched(engine, tmp_path):
    _load(engine, tmp_path, region())
    before = _rows(engine)
    later = NOW + dt.timedelta(days=1)
    result = _load(engine, tmp_path, region(deadline="Ноябрь"), now=later, name="amended.yaml")
    assert result.applied and result.diff.changed == [("1.2", ["срок"])]
    assert (result.diff.obligations_rescheduled, result.diff.obligations_added,
            result.diff.obligations_cancelled) == (SCHOOLS + 1, 0, 0)
    after = _rows(engine)
    moved = {slot for slot in after if slot[0] == "1.2"}
    assert len(moved) == SCHOOLS + 1
    for slot, (oid, due, state, revision, changed_at) in after.items():
        if slot in moved:  # rescheduled and reworded: one new revision, not two
            assert due == dt.date(2025, 11, 30) and revision == 1 and changed_at == later
        else:
            assert (oid, due, state, revision, changed_at) == before[slot]


def test_a_school_leaving_the_directory_cancels_its_obligations_with_or_without_digests(engine, tmp_path):
    _load(engine, tmp_path, region())
    with Session(engine) as session:  # a store loaded before the digests were kept
        session.execute(update(Item).values(slots=None))
        session.commit()
    result = _load(engine, tmp_path, region(skip=3), now=NOW + dt.timedelta(days=1), name="v2.yaml")
    assert result.diff.directory_changed and result.diff.obligations_cancelled == 4 + 1 + 12
    result = _load(engine, tmp_path, region(skip=4), now=NOW + dt.timedelta(days=2), name="v3.yaml")
    assert result.diff.obligations_cancelled == 4 + 1 + 12 and result.diff.obligations_restored == 4 + 1 + 12
    states = {(slot[2], state) for slot, (_, _, state, _, _) in _rows(engine).items()}
    assert ("school-4", "cancelled") in states and ("school-3", "active") in states
    assert ("school-3", "cancelled") not in states and ("school-4", "active") not in states
    with Session(engine) as session:
        assert None not in session.execute(select(Item.slots)).scalars().all()


def test_policies_are_read_from_the_store_not_from_the_plan_text(engine, tmp_path):
    _load(engine, tmp_path, region())
    with Session(engine) as session:
        stored = plan_policies(session, ["region-2025"])
        parsed = _parsed_policies(session, ["region-2025"])
        assert stored == parsed
        assert stored[("region-2025", "1.1")].reminder_days == (5, 1, 0)
        assert stored[("region-2025", "1.2")].reminder_days == (10, 2)
        session.execute(update(PlanVersion).values(source_text="{ не YAML"))
        session.commit()
        assert plan_policies(session, ["region-2025"]) == parsed  # the text is not read at all
        session.execute(update(Plan).values(policy=None))  # loaded before policies were kept
        session.commit()
        with pytest.raises(InputError):
            plan_policies(session, ["region-2025"])


def test_status_of_one_school_counts_only_its_evidence(engine, tmp_path):
    _load(engine, tmp_path, region())
    with Session(engine) as session:
        mine = session.execute(select(Obligation.id).join(Item).where(
            Item.key == "1.1", Obligation.org_id == "school-2").order_by(Obligation.due)).scalars().first()
        other = session.execute(select(Obligation.id).where(Obligation.org_id == "school-3")).scalars().first()
        for oid in (mine, mine, other):
            session.add(Evidence(obligation_id=oid, submitted_by="x", submitted_at=NOW,
                                 document_date=NOW.date(), url="https://example.org/d"))
        session.commit()
    rows = list_obligations(engine, now=NOW, org="school-2")
    assert len(rows) == 4 + 1 + 12 and {r["org"] for r in rows} == {"school-2"}
    assert {r["id"]: r["evidence"] for r in rows if r["evidence"]} == {mine: 2}
    assert rows[0]["org_name"] == "Школа № 2" and rows[0]["owners"] == ["Школа № 2"]
