"""Benchmark: a campaign's roll-up of its schools' shortcomings plans (issue 24).

Part of `python -m benchmarks` (the `rollup` benchmark).

Loads `plans` synthetic shortcomings plans (10 measures each in the five criteria: a deadline in
spring, a quarterly one, summer, autumn, the year's end) into one campaign, closes a third of
the obligations in SQL (every 7th late), then measures, each the median of its runs, as of
03.07.2025:

  (a) build_rollup with the plans' compiled versions cleared from memory (a fresh process), and
      warm (what the campaign page pays after its first view);
  (b) the whole, cold build + render, for Excel, Word and JSON.

On SQLite, and on PostgreSQL when the server at --postgres answers. Target: ≤ 2 s for 60 plans.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import drop, postgres_database
from benchmarks.figures import median_of

NOW = "2025-07-03T09:00+03:00"
CAMPAIGN = "bench-campaign"
TARGET_S = 2.0
DEADLINES = ("до 30 апреля 2025 года", "ежеквартально", "до 1 сентября 2025 года", "III квартал 2025 года",
             "до 31 декабря 2025 года")


def plan_text(n: int) -> str:
    """A school's shortcomings plan: 5 criteria × 2 measures."""
    lines = [f"id: camp-s{n}", "kind: shortcomings", f"title: План по устранению недостатков МБОУ «СОШ № {n}» на 2025 год",
             f"organisation: s{n}", "period: 2025", "timezone: Europe/Moscow", "coordinator: uo", "directory:",
             "  - id: uo", "    name: Управление образования", "    email: uo@example.org",
             f"  - id: s{n}", f"    name: МБОУ «СОШ № {n}»", f"    email: s{n}@example.org",
             f"  - id: d{n}", "    kind: person", f"    name: Директор школы {n}", "    position: директор",
             f"    organisation: s{n}", f"    email: d{n}@example.org", "sections:"]
    roman = ("I", "II", "III", "IV", "V")
    for c in range(1, 6):
        lines += [f"  - number: {roman[c - 1]}", f"    criterion: {c}", f"    title: Критерий {c}", "    items:"]
        for k in range(2):
            number = 2 * (c - 1) + k + 1
            lines += [f'      - number: "{number}"', f"        shortcoming: Недостаток {number} школы {n}",
                      f"        title: Мероприятие {number}", f"        deadline: {DEADLINES[(c + k) % 5]}",
                      f"        owners: [d{n}]"]
    return "\n".join(lines) + "\n"


def make_store(url: str, plans_count: int, work: Path) -> tuple[int, int]:
    from sqlalchemy import func, select, update
    from sqlmodel import Session

    from nok_workflow import clock
    from nok_workflow.services.commands import plans
    from nok_workflow.store.db import connect, write_session
    from nok_workflow.store.models import Campaign, Item, Obligation, Plan

    engine = connect(url)
    loaded = clock.parse_now("2025-03-10T09:00+03:00")
    for n in range(1, plans_count + 1):
        path = work / f"camp-s{n}.yaml"
        path.write_text(plan_text(n), encoding="utf-8")
        plans.load(engine, path, actor=None, now=loaded)
    with write_session(engine) as session:
        session.add(Campaign(id=CAMPAIGN, owner="uo", title="Кампания", year=2024, created_at=loaded))
        session.flush()
        session.execute(update(Plan).values(campaign_id=CAMPAIGN))
        ob = Obligation
        late = ob.due + 4 if engine.dialect.name == "postgresql" else func.date(ob.due, "+4 days")
        session.execute(update(ob).where(ob.id % 3 == 0).values(completed_on=ob.due))
        session.execute(update(ob).where(ob.id % 21 == 0).values(completed_on=late))
    with Session(engine) as session:
        counts = (session.execute(select(func.count()).select_from(Item)).scalar(),
                  session.execute(select(func.count()).select_from(Obligation)).scalar())
    engine.dispose()
    return counts


def measure(url: str, runs: int) -> dict[str, float]:
    from nok_workflow import clock
    from nok_workflow.reports.rollup_files import render_rollup
    from nok_workflow.services.read import compiled_plans
    from nok_workflow.services.read.campaign_rollup import build_rollup
    from nok_workflow.store.db import connect

    engine = connect(url)
    now = clock.parse_now(NOW)
    build = lambda: build_rollup(engine, CAMPAIGN, now)  # noqa: E731
    found: dict[str, float] = {}
    found["cold"], rollup = median_of(runs, build, compiled_plans._compiled.clear)
    found["warm"], _ = median_of(runs, build)
    for fmt in ("xlsx", "docx", "json"):
        found[fmt], body = median_of(runs, lambda f=fmt: render_rollup(rollup, f))
        found[f"{fmt}_kb"] = len(body) / 1024
    found["overdue"], found["done"] = rollup.totals.overdue, rollup.totals.done
    engine.dispose()
    return found


def sections(plans_count: int, runs: int, postgres_url: str, no_postgres: bool, work: Path) -> list:
    from benchmarks.figures import Section

    stores = [("SQLite", f"sqlite:///{work / 'nok.db'}", None)]
    if not no_postgres and (pg := postgres_database(postgres_url)) is not None:
        stores.append(("PostgreSQL", pg[1], pg[0]))
    found = []
    try:
        for backend, url, _ in stores:
            folder = work / backend
            folder.mkdir(parents=True, exist_ok=True)
            items, obligations = make_store(url, plans_count, folder)
            r = measure(url, runs)
            s = Section(f"Campaign roll-up, {backend}: shortcomings plans of a campaign",
                        f"{plans_count} plans, {items:,} measures, {obligations:,} obligations; as of 03.07.2025 "
                        f"{r['done']:,.0f} measures done, {r['overdue']:,.0f} overdue; medians of {runs} runs. Cold: "
                        "the plans' compiled versions cleared from memory first.")
            s.add("build_rollup, cold / warm", f"{r['cold']:,.3f} / {r['warm']:,.3f} s")
            for fmt in ("xlsx", "docx", "json"):
                total = r["cold"] + r[fmt]
                s.add(f"{fmt.upper()} end to end, cold ({r[f'{fmt}_kb']:,.0f} KB)", f"{total:,.2f} s",
                      target=f"≤ {TARGET_S:.0f} s", met=total <= TARGET_S)
            found.append(s)
    finally:
        for _, url, admin in stores:
            if admin is not None:
                drop(admin, url)
    return found
