"""`outbox.queue` says how many messages it really queued, on both stores: the plan flow's
steps report it («в очередь N»), and a key already queued is skipped."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from nok_workflow.services.delivery.outbox import queue
from nok_workflow.store.models import Plan

NOW = dt.datetime(2025, 3, 1, 4, tzinfo=dt.UTC)


def row(key: str) -> dict:
    return {"key": key, "plan_id": "p", "obligation_id": None, "kind": "plan_changed", "step": 0,
            "recipient": "uo", "day": NOW.date(), "created_at": NOW, "status": "queued", "attempts": 0,
            "next_attempt_at": NOW, "details": {}}


def test_queue_counts_the_rows_it_inserted_and_skips_known_keys(engine) -> None:
    with Session(engine) as session:
        session.add(Plan(id="p", title="План", timezone="UTC", coordinator="uo", created_at=NOW))
        session.commit()
        assert queue(session, [row("a"), row("b"), row("c")]) == 3
        assert queue(session, [row("b"), row("d")]) == 1  # "b" is there already
        assert queue(session, []) == 0
        session.commit()
