"""The coordinator's year in the browser: an item edited, added or removed, and the plan rolled
over to the next year — each shown as a diff and applied as a new version by `plans.load`."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from nok_workflow.services.read.catalog import plan_source
from nok_workflow.store.models import AuditEvent, Obligation, Plan
from tests.support.web import MOMENT, ORENBURG, PLAN, orenburg, sign_in


def _apply(c, shown) -> str:
    """Presses «Применить» on a diff page; the page it lands on."""
    assert shown.status_code == 200, shown.text
    form = {name: re.search(rf'name="{name}" value="([^"]*)"', shown.text).group(1) for name in ("sha256", "base", "name")}
    applied = c.post("/plans/upload/apply", data={"csrf": c.cookies["nok_csrf"], **form}, follow_redirects=False)
    assert applied.status_code == 303, applied.text
    return applied.headers["location"]


def test_an_item_edited_in_the_browser_becomes_version_2_with_comments_kept(engine, app_of):
    orenburg(engine)
    c = sign_in(app_of(engine))
    form = c.get(f"/plans/{PLAN}/items/II.4/edit")
    assert form.status_code == 200 and "Изменить пункт II.4" in form.text
    assert 'value="sovet" checked' in form.text or 'value="operator" checked' in form.text
    title = re.search(r'<textarea name="title"[^>]*>([^<]*)</textarea>', form.text).group(1)
    shown = c.post(f"/plans/{PLAN}/items/II.4/edit", data={
        "csrf": c.cookies["nok_csrf"], "title": title, "deadline": "до 20 ноября 2024 г.",
        "owners": ["sovet", "operator"], "results": "Отчёт о результатах НОКО"})
    assert "В браузере: пункт II.4 изменён." in shown.text
    assert "изменён пункт II.4: вид срока, результат, срок" in shown.text
    assert _apply(c, shown) == f"/plans/{PLAN}"
    text = plan_source(engine, PLAN).text
    assert "deadline: до 20 ноября 2024 г." in text
    assert text.splitlines()[:2] == ORENBURG.read_text(encoding="utf-8").splitlines()[:2]  # head comments kept
    with Session(engine) as session:
        assert session.get(Plan, PLAN).current_version == 2
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "plan.amend")).one().actor == "uo"


def test_an_item_added_then_removed(engine, app_of):
    orenburg(engine)
    c = sign_in(app_of(engine))
    assert "Новый пункт" in c.get(f"/plans/{PLAN}/items/new").text
    shown = c.post(f"/plans/{PLAN}/items/new", data={
        "csrf": c.cookies["nok_csrf"], "section": "1", "number": "7", "title": "Сводный отчёт о НОКО",
        "deadline": "до 25 декабря 2024 г.", "owners": ["operator"], "results": "Сводный отчёт"})
    assert "добавлен пункт II.7" in shown.text
    _apply(c, shown)
    with Session(engine) as session:
        added = session.exec(select(Obligation).where(Obligation.plan_id == PLAN)).all()
    assert any(o.due.isoformat() == "2024-12-25" for o in added)
    removed = c.post(f"/plans/{PLAN}/items/II.7/remove", data={"csrf": c.cookies["nok_csrf"]})
    assert "пункт II.7 удалён" in removed.text
    _apply(c, removed)
    assert "Сводный отчёт о НОКО" not in plan_source(engine, PLAN).text
    with Session(engine) as session:
        assert session.get(Plan, PLAN).current_version == 3


def test_a_wrong_edit_keeps_the_form_and_changes_nothing(engine, app_of):
    orenburg(engine)
    c = sign_in(app_of(engine))
    refused = c.post(f"/plans/{PLAN}/items/II.4/edit", data={
        "csrf": c.cookies["nok_csrf"], "title": "   ", "deadline": "Декабрь 2024 г.", "owners": ["sovet"]})
    assert refused.status_code == 422 and "название пункта не может быть пустым" in refused.text
    assert 'name="deadline" value="Декабрь 2024 г."' in refused.text
    assert c.get(f"/plans/{PLAN}/items/IX.9/edit").status_code == 404
    no_csrf = c.post(f"/plans/{PLAN}/items/II.4/remove", data={})
    assert no_csrf.status_code == 403
    with Session(engine) as session:
        assert session.get(Plan, PLAN).current_version == 1


def test_the_plan_rolled_over_lists_what_to_check_and_becomes_a_new_plan(engine, app_of):
    orenburg(engine)
    c = sign_in(app_of(engine))
    assert 'name="year" value="2025"' in c.get(f"/plans/{PLAN}/rollover").text
    shown = c.post(f"/plans/{PLAN}/rollover", data={"csrf": c.cookies["nok_csrf"], "year": "2025"})
    assert "Новый план" in shown.text and "orenburg-raion-2025" in shown.text
    assert "Проверьте: тексты с явным годом" in shown.text
    assert "«Договор о проведении НОКО в ОО района в 2024 году» → «Договор о проведении НОКО в ОО района в 2025 году»" \
        in shown.text
    assert _apply(c, shown) == "/plans/orenburg-raion-2025"
    with Session(engine) as session:
        assert session.get(Plan, "orenburg-raion-2025").coordinator == "uo"
        assert session.get(Plan, PLAN).current_version == 1  # the old plan as it was
    same = c.post(f"/plans/{PLAN}/rollover", data={"csrf": c.cookies["nok_csrf"], "year": "2024"})
    assert same.status_code == 422 and "план уже на 2024 год" in same.text


def test_another_coordinators_plan_cannot_be_edited(engine, app_of):
    from nok_workflow.services.commands import accounts

    orenburg(engine)
    accounts.add(engine, login="otdel", name="Отдел", email=None, password="correct horse battery", now=MOMENT)
    c = sign_in(app_of(engine), "otdel")
    assert c.get(f"/plans/{PLAN}/items/II.4/edit").status_code == 404
    assert c.post(f"/plans/{PLAN}/rollover", data={"csrf": c.cookies["nok_csrf"], "year": "2025"}).status_code == 404
