"""A quarter's progress of a plan: what was due, done on time, late, not done, waived.

The full ministry report (HTML, DOCX, XLSX) comes with the reports issue; this is the
summary the quarterly flow publishes, computed in SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlmodel import Session

from nok_workflow.clock import local_date
from nok_workflow.deadlines.periods import span
from nok_workflow.problems import InputError, Problem
from nok_workflow.store.models import Item, Obligation, Plan


def previous_quarter(today: dt.date) -> tuple[int, int]:
    q = (today.month - 1) // 3 + 1
    return (today.year, q - 1) if q > 1 else (today.year - 1, 4)


def parse_quarter(text: str) -> tuple[int, int]:
    try:
        year, q = text.upper().split("-Q")
        if int(q) in (1, 2, 3, 4):
            return int(year), int(q)
    except ValueError:
        pass
    raise InputError([Problem("--quarter", 0, 0, f"«{text}» — не квартал; ожидается вида 2024-Q3")])


def quarter_summary(engine: Engine, plan_id: str, quarter: tuple[int, int] | None,
                    now: dt.datetime) -> dict[str, Any]:
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise InputError([Problem("plan", 0, 0, f"план «{plan_id}» не загружен")])
        year, q = quarter or previous_quarter(local_date(now, plan.timezone))
        first, last = span("quarter", year, q)
        ob = Obligation
        on_time = func.sum(case(((ob.completed_on.is_not(None)) & (ob.completed_on <= ob.due), 1), else_=0))
        late = func.sum(case(((ob.completed_on.is_not(None)) & (ob.completed_on > ob.due), 1), else_=0))
        waived = func.sum(case((ob.state == "waived", 1), else_=0))
        rows = session.execute(
            select(Item.key, Item.title, func.count(), on_time, late, waived)
            .join(Item, Item.id == ob.item_id)
            .where(ob.plan_id == plan_id, ob.state != "cancelled", ob.due.between(first, last))
            .group_by(Item.key, Item.title, Item.position).order_by(Item.position)
        ).all()
    items = [{"item": key, "title": title, "due": n, "on_time": int(t or 0), "late": int(lt or 0),
              "waived": int(w or 0), "not_done": n - int(t or 0) - int(lt or 0) - int(w or 0)}
             for key, title, n, t, lt, w in rows]
    totals = {k: sum(i[k] for i in items) for k in ("due", "on_time", "late", "waived", "not_done")}
    return {"plan": plan_id, "title": plan.title, "quarter": f"{year}-Q{q}", "from": first.isoformat(),
            "to": last.isoformat(), "items": items, "totals": totals}


def as_markdown(summary: dict[str, Any]) -> str:
    lines = [f"# {summary['title']}", "",
             f"Квартал {summary['quarter']} ({summary['from']} – {summary['to']})", "",
             "| Пункт | Мероприятие | Срок в квартале | В срок | С опозданием | Снято | Не выполнено |",
             "|---|---|---|---|---|---|---|"]
    for i in summary["items"]:
        lines.append(f"| {i['item']} | {i['title']} | {i['due']} | {i['on_time']} | {i['late']} | "
                     f"{i['waived']} | {i['not_done']} |")
    t = summary["totals"]
    lines.append(f"| | **Итого** | {t['due']} | {t['on_time']} | {t['late']} | {t['waived']} | {t['not_done']} |")
    return "\n".join(lines) + "\n"
