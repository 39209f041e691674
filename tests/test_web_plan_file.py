"""The plan's YAML downloaded from its coordinator's page: the current version's text exactly
as it was loaded, only for the plan's coordinator; loading it again changes nothing, and
`nok plan show` of it says what the store holds. On both stores."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.commands import accounts, plans
from nok_workflow.store.models import Item, Obligation, Plan, PlanVersion
from tests.support.cli import run_nok
from tests.support.plans import MINIMAL_PLAN
from tests.support.web import MOMENT, ORENBURG, PASSWORD, PLAN, client, orenburg, sign_in

URL = f"/plans/{PLAN}/plan.yaml"


def amended() -> bytes:
    """Version 2 as a coordinator's editor might save it: Windows line ends, keys in an order
    of its own, a comment of its own, one item renamed."""
    text = ORENBURG.read_text(encoding="utf-8")
    head, rest = text.split("id: orenburg-raion-2024\n", 1)
    title, rest = rest.split("approved_by:", 1)
    text = (head + "# Редакция 2: уточнено название пункта I.1\n" + title
            + "id: orenburg-raion-2024   # код плана не меняется\napproved_by:" + rest)
    text = text.replace("Заседания общественного совета №1", "Заседание общественного совета № 1", 1)
    return text.replace("\n", "\r\n").encode("utf-8")


def versions(engine) -> list[int]:
    with Session(engine) as session:
        return list(session.execute(select(PlanVersion.version).where(PlanVersion.plan_id == PLAN)
                                    .order_by(PlanVersion.version)).scalars())


def test_the_coordinator_downloads_the_current_version_as_loaded(engine, app_of, tmp_path):
    orenburg(engine)
    version_2 = tmp_path / "orenburg-v2.yaml"
    version_2.write_bytes(amended())
    assert plans.load(engine, version_2, actor="uo", now=MOMENT).applied
    c = sign_in(app_of(engine))
    page = c.get(f"/plans/{PLAN}")
    assert f'href="{URL}"' in page.text and "Скачать план (YAML)" in page.text
    response = c.get(URL)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f"attachment; filename={PLAN}.yaml"
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.headers["cache-control"] == "no-store"
    # Byte for byte: the comments, the key order, the line ends of version 2 — not version 1.
    assert response.content == version_2.read_bytes()
    assert b"# \xd0\xa0\xd0\xb5\xd0\xb4" in response.content and b"\r\n" in response.content

    # Loading the downloaded file again is no change at all.
    downloaded = tmp_path / "downloaded" / f"{PLAN}.yaml"
    downloaded.parent.mkdir()
    downloaded.write_bytes(response.content)
    again = plans.load(engine, downloaded, actor="uo", now=MOMENT)
    assert not again.applied and again.diff.empty and again.version == 2
    assert versions(engine) == [1, 2]

    # What `nok plan show` reads in it is what the store holds.
    shown = run_nok("plan", "show", "--json", str(downloaded))
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    with Session(engine) as session:
        plan = session.get(Plan, PLAN)
        items = session.execute(select(Item).where(Item.plan_id == PLAN, Item.active)
                                .order_by(Item.position)).scalars().all()
        obligations = {(key, period, opens, due) for key, period, opens, due in session.execute(
            select(Item.key, Obligation.period, Obligation.opens, Obligation.due).join(Item)
            .where(Obligation.plan_id == PLAN, Obligation.state == "active"))}
    assert (described["id"], described["title"], described["timezone"], described["coordinator"]) == (
        plan.id, plan.title, plan.timezone, plan.coordinator)
    assert [(i["key"], i["title"], i["deadline"], i["results"]) for i in described["items"]] == [
        (i.key, i.title, i.deadline_text, i.results) for i in items]
    assert described["items"][0]["title"] == "Заседание общественного совета № 1"  # version 2's
    assert {(i["key"], o["period"], o["opens"], o["due"]) for i in described["items"]
            for o in i["occurrences"]} == {(k, p, o.isoformat() if o else None, d.isoformat() if d else None)
                                           for k, p, o, d in obligations}


def test_only_the_plans_coordinator_gets_it(engine, app_of, write_plan):
    orenburg(engine)
    plans.load(engine, write_plan(MINIMAL_PLAN), actor=None, now=MOMENT)  # coordinator «otdel»
    accounts.add(engine, login="otdel", name="Отдел", email=None, password=PASSWORD, now=MOMENT)
    app = app_of(engine)
    other = sign_in(app, "otdel")
    for path in (URL, "/plans/no-such-plan/plan.yaml"):
        refused = other.get(path)
        assert refused.status_code == 404 and "Страница не найдена" in refused.text, path
        assert "content-disposition" not in refused.headers and "coordinator: uo" not in refused.text
    assert other.get("/plans/test-plan/plan.yaml").content == MINIMAL_PLAN.encode("utf-8")  # their own
    anonymous = client(app).get(URL, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
