"""Who owns an obligation is one rule: `expand.obligation_owners` (pure) and its translation
into SQL, `store/owners.py` (the API's «my obligations», the letters' escalations), pick the
same obligations for every party of every bundled plan, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.expand import obligation_owners
from nok_workflow.services.commands import plans
from nok_workflow.store.models import Item, Obligation, Party
from nok_workflow.store.owners import named_owner, owned_by, owner_refs

PLANS = Path(__file__).resolve().parent.parent / "plan_definitions"
BUNDLED = ["orenburg-raion-2024", "gorod-2018", "yuzhno-sakhalinsk-2014-2016", "informing-2026"]


@pytest.fixture
def loaded(engine):
    for plan_id in BUNDLED:
        plans.load(engine, PLANS / f"{plan_id}.yaml", actor=None, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return engine


def test_owned_by_picks_what_the_pure_rule_picks(loaded):
    engine = loaded
    with Session(engine) as session:
        rows = session.execute(select(Obligation.id, Obligation.plan_id, Obligation.org_id, Item.owners)
                               .join(Item, Item.id == Obligation.item_id)).all()
        parties = session.execute(select(Party.plan_id, Party.id)).all()
        assert len(rows) > 100 and len(parties) > 20
        compared = 0
        for plan_id, party_id in parties:
            expected = {r.id for r in rows if r.plan_id == plan_id and party_id in obligation_owners(r.org_id, r.owners)}
            found = set(session.execute(select(Obligation.id).where(
                Obligation.plan_id == plan_id, owned_by(party_id, engine.dialect.name, [plan_id]))).scalars())
            assert found == expected, (plan_id, party_id)
            compared += bool(expected)
        assert compared > 10  # most parties own something: the comparison is not of empty sets


def test_named_owners_are_the_pure_rules_owners_without_an_organisation(loaded):
    engine = loaded
    ref = owner_refs(engine.dialect.name)
    with Session(engine) as session:
        rows = session.execute(select(Obligation.id, Obligation.org_id, Item.owners)
                               .join(Item, Item.id == Obligation.item_id)).all()
        expected = {(r.id, owner) for r in rows if not r.org_id for owner in obligation_owners(r.org_id, r.owners)}
        found = set(session.execute(select(Obligation.id, ref.c.value).select_from(Obligation)
                                    .join(Item, Item.id == Obligation.item_id).join(ref, named_owner(ref))).all())
    assert expected and found == expected
