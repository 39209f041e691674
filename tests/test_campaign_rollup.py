"""A campaign's roll-up: three schools' shortcomings plans grouped in a campaign, after a spring of
work, agree with a recount of the store in Python (per organisation, per criterion, the last
report); its files in Word, Excel and JSON; `nok report --campaign`; the owner's download page
and everyone else's «not found». SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter, defaultdict

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import update
from sqlmodel import Session, select

from nok_workflow.plan.validate import load_plan
from nok_workflow.problems import InputError
from nok_workflow.reports.rollup_files import render_rollup
from nok_workflow.services.commands import accounts, evidence, plans
from nok_workflow.services.jobs import quarterly
from nok_workflow.services.read.campaign_rollup import build_rollup
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect, write_session
from nok_workflow.store.models import Campaign, Item, Obligation, Plan
from tests.support.cli import run_nok
from tests.support.form457 import BASE, EXAMPLE, GIM1, LOADED, REPORT_DAY, SOSH5, school_plan, spring_2025
from tests.support.web import PASSWORD, make_app, sign_in

SOSH7 = "shortcomings-sosh7-2025"
CAMPAIGN = "nok-2024"


def make_campaign(engine, plan_ids, owner: str = "uo") -> None:
    with write_session(engine) as session:
        session.add(Campaign(id=CAMPAIGN, owner=owner, title="НОК 2024, Заречный район", year=2024,
                             created_at=LOADED))
        session.flush()
        session.execute(update(Plan).where(Plan.id.in_(plan_ids)).values(campaign_id=CAMPAIGN))


@pytest.fixture
def campaign(engine, tmp_path):
    spring_2025(engine, tmp_path / "evidence", tmp_path)
    plans.load(engine, school_plan(tmp_path, "sosh-7"), actor=None, now=LOADED)
    # СОШ № 7: the ramp waived (not a measure any more), the seminar done late
    evidence.waive(engine, plan_id=SOSH7, item="III.4", period=None, org=None, reason="пандус уже есть",
                   by="uo", now=LOADED)
    evidence.submit(engine, tmp_path / "evidence", plan_id=SOSH7, item="IV.6", by="ivanova-mp",
                    now=dt.datetime(2025, 5, 12, 10, tzinfo=LOADED.tzinfo), url="https://sosh7.example.org/seminar",
                    document_date=dt.date(2025, 5, 12), comment="Семинар проведён")
    make_campaign(engine, [SOSH5, GIM1, SOSH7])
    # СОШ № 5's report of the first quarter was issued on 03.04
    quarterly.issue_due(engine, Settings(home=tmp_path / "home", base_url=BASE), SOSH5,
                        dt.datetime(2025, 4, 3, 9, tzinfo=LOADED.tzinfo))
    return {SOSH5: EXAMPLE, GIM1: tmp_path / f"{GIM1}.yaml", SOSH7: tmp_path / f"{SOSH7}.yaml"}


def recount(engine, sources) -> dict[str, tuple[Counter, dict[int, Counter]]]:
    """Each plan's measures as of the report day, one by one from the store."""
    today = REPORT_DAY.date()
    found = {}
    for plan_id, source in sources.items():
        criterion = {f"{s.number}.{i.number}": s.criterion for s in load_plan(source).plan.sections for i in s.items}
        total, by = Counter(), defaultdict(Counter)
        with Session(engine) as session:
            for item in session.execute(select(Item).where(Item.plan_id == plan_id)).scalars():
                live = [o for o in session.execute(select(Obligation).where(Obligation.item_id == item.id)).scalars()
                        if o.state == "active"]
                if not live:
                    continue
                if all(o.completed_on for o in live):
                    kinds = ["done"] + (["done_late"] if any(o.completed_on > o.due for o in live) else [])
                elif any(o.completed_on is None and o.due < today for o in live):
                    kinds = ["overdue"]
                else:
                    kinds = ["open"]
                for kind in (*kinds, "total"):
                    total[kind] += 1
                    by[criterion[item.key]][kind] += 1
        found[plan_id] = (total, by)
    return found


def test_the_roll_up_agrees_with_a_recount_of_the_store(engine, campaign):
    rollup = build_rollup(engine, CAMPAIGN, REPORT_DAY)
    want = recount(engine, campaign)
    assert [o.organisation for o in rollup.organisations] == ["МБОУ «Гимназия № 1»", "МБОУ «СОШ № 5»",
                                                              "МБОУ «СОШ № 7»"]
    for line in rollup.organisations:
        total, by = want[line.plan_id]
        assert line.progress.model_dump() == {k: total[k] for k in ("total", "done", "done_late", "overdue", "open")}
        assert {n: p.model_dump() for n, p in line.by_criterion.items()} == {
            n: {k: c[k] for k in ("total", "done", "done_late", "overdue", "open")} for n, c in by.items()}
    # What the recount must find here, by name
    sosh7 = next(o for o in rollup.organisations if o.plan_id == SOSH7)
    assert sosh7.progress.total == 6 and 3 not in sosh7.by_criterion or sosh7.by_criterion[3].total == 1
    assert sosh7.progress.done_late == 1 and sosh7.by_criterion[4].done_late == 1
    assert rollup.totals.total == sum(o.progress.total for o in rollup.organisations) == 7 + 7 + 6
    assert rollup.by_criterion[4].total == 3
    sosh5 = next(o for o in rollup.organisations if o.plan_id == SOSH5)
    assert (sosh5.last_report, sosh5.last_report_on) == ("I квартал 2025 года", dt.date(2025, 4, 3))
    assert next(o for o in rollup.organisations if o.plan_id == GIM1).last_report is None


def test_the_roll_up_files(engine, campaign):
    rollup = build_rollup(engine, CAMPAIGN, REPORT_DAY)
    wb = load_workbook(io.BytesIO(render_rollup(rollup, "xlsx")))
    ws = wb["Организации"]
    rows = [[ws.cell(r, c).value for c in range(1, 10)] for r in range(5, 8)]
    for row, line in zip(rows, rollup.organisations):
        p = line.progress
        assert row[:7] == [line.organisation, p.total, p.done, p.done_late, p.overdue, p.open, p.percent_done]
    assert ws.cell(8, 1).value == "Итого" and ws.cell(8, 2).value == rollup.totals.total
    assert rows[1][7:] == ["I квартал 2025 года", dt.datetime(2025, 4, 3)]
    by = wb["По критериям"]
    assert by.max_row - 1 == sum(len(o.by_criterion) for o in rollup.organisations)
    doc = Document(io.BytesIO(render_rollup(rollup, "docx")))
    table = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert table[0][0] == "Организация" and [r[0] for r in table[1:]] == [
        *(o.organisation for o in rollup.organisations), "Итого"]
    assert table[2][7] == "I квартал 2025 года (сформирован 03.04.2025)"
    assert json.loads(render_rollup(rollup, "json"))["totals"]["total"] == rollup.totals.total
    with pytest.raises(InputError, match="docx, xlsx, json"):
        render_rollup(rollup, "html")
    with pytest.raises(InputError, match="кампании «нет» нет"):
        build_rollup(engine, "нет", REPORT_DAY)


def test_only_the_owner_downloads_the_roll_up(engine, campaign, tmp_path):
    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=LOADED)
    accounts.add(engine, login="other", name="Другой отдел", email=None, password=PASSWORD, now=LOADED)
    app = make_app(tmp_path / "app-home", engine, now=REPORT_DAY.isoformat())
    c = sign_in(app)
    path = f"/coordinator/campaigns/{CAMPAIGN}/report"
    got = c.get(path + ".xlsx")
    assert got.status_code == 200 and got.headers["content-type"].endswith("spreadsheetml.sheet")
    assert got.headers["content-disposition"] == f"attachment; filename*=UTF-8''svodka-{CAMPAIGN}-2025-07-03.xlsx"
    assert json.loads(c.get(path + ".json").content)["campaign_id"] == CAMPAIGN
    assert c.get(path + ".docx").content[:2] == b"PK"
    assert c.get(path + ".pdf").status_code == 404 and c.get(path + ".html").status_code == 404
    assert c.get("/coordinator/campaigns/nope/report.xlsx").status_code == 404
    stranger = sign_in(app, "other")
    assert stranger.get(path + ".xlsx").status_code == 404
    anonymous = make_app(tmp_path / "app-home", engine, now=REPORT_DAY.isoformat())
    from tests.support.web import client

    assert client(anonymous).get(path + ".xlsx", follow_redirects=False).status_code == 303


@pytest.mark.slow
def test_nok_report_campaign(tmp_path):
    home = tmp_path / "home"
    env = {"NOK_HOME": str(home)}
    for source in (EXAMPLE, school_plan(tmp_path, "gim-1")):
        assert run_nok("plan", "load", str(source), "--now", "2025-03-10", env=env).returncode == 0
    engine = connect(Settings(home=home).url)
    make_campaign(engine, [SOSH5, GIM1])
    engine.dispose()
    out = tmp_path / "svodka.xlsx"
    done = run_nok("report", "--campaign", CAMPAIGN, "-o", str(out), "--now", "2025-07-03", env=env)
    assert done.returncode == 0, done.stderr
    assert "кампания «НОК 2024, Заречный район», планов 2, мероприятий 14" in " ".join(done.stdout.split())
    assert load_workbook(out)["Организации"].cell(5, 1).value == "МБОУ «Гимназия № 1»"
    bad = run_nok("report", "--campaign", "нет", "-o", str(tmp_path / "x.json"), env=env)
    assert bad.returncode == 1 and "кампании «нет» нет" in bad.stderr and not (tmp_path / "x.json").exists()
