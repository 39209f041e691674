"""The JSON API for other systems: API tokens (Bearer only), obligations, evidence pushed with a
file or a link, review and waiving by a coordinator's token, the schema and /docs for a
signed-in coordinator; `nok token create | list | revoke` through the real command."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from nok_workflow.evidence_files import path_of
from nok_workflow.services.commands import accounts
from nok_workflow.services.read.obligations import list_obligations
from nok_workflow.services.commands.plans import load
from nok_workflow.store.models import AuditEvent, Evidence, Obligation, Review
from tests.support.cli import run_nok
from tests.support.paths import PLANS
from tests.support.plans import MINIMAL_PLAN
from tests.support.web import MOMENT, NOW, RAN, client

ORENBURG = PLANS / "orenburg-raion-2024.yaml"
PLAN = "orenburg-raion-2024"
PDF = b"%PDF-1.4\n% protocol of the council\n%%EOF\n"






def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def party_token(engine, actor: str = "sovet", plan: str = PLAN) -> str:
    return accounts.create_api_token(engine, name="сайт школы 12", actor=actor, plan_id=plan, by="uo", now=MOMENT)


def coordinator_token(engine, login: str = "uo") -> str:
    accounts.add(engine, login=login, name="Управление образования", email=None, password="correct horse battery",
                 now=MOMENT)
    return accounts.create_api_token(engine, name="анкетирование оператора", actor=login, plan_id=None, by=login,
                                     now=MOMENT)


def evidence_rows(engine) -> list[Evidence]:
    with Session(engine) as session:
        return list(session.exec(select(Evidence).order_by(Evidence.id)).all())


def stored_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "home" / "evidence"
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")] if root.exists() else []


@pytest.fixture
def orenburg(engine):
    load(engine, ORENBURG, actor=None, now=MOMENT)
    return engine


# --- who may call ----------------------------------------------------------------------------

def test_no_token_a_garbage_token_and_a_revoked_token_are_401_in_russian(orenburg, app_of):
    c = client(app_of(orenburg))
    token = party_token(orenburg)
    assert c.get("/api/v1/obligations", headers=bearer(token)).status_code == 200
    [row] = accounts.api_tokens(orenburg)
    accounts.revoke_api_token(orenburg, row.id, by="uo", now=MOMENT)
    for headers in ({}, bearer("garbage"), {"Authorization": f"Basic {token}"}, bearer(token)):
        for response in (c.get("/api/v1/obligations", headers=headers),
                         c.post("/api/v1/evidence", headers=headers, data={"item": "I.1", "url": "https://x.ru/a"})):
            assert response.status_code == 401, headers
            assert response.headers["content-type"].startswith("application/json")
            body = response.json()
            assert body["error"] == "Нужен API-токен" and "Authorization: Bearer" in body["detail"]
            assert "nok token create" in body["hint"]
    assert evidence_rows(orenburg) == []


def test_the_session_cookie_does_not_open_the_api(orenburg, app_of):
    accounts.add(orenburg, login="uo", name="УО", email=None, password="correct horse battery", now=MOMENT)
    c = client(app_of(orenburg))
    sign_in(c)
    response = c.post("/api/v1/evidence", data={"plan": PLAN, "item": "I.1", "url": "https://x.ru/a"},
                      headers={"X-CSRF-Token": c.cookies.get("nok_csrf")})
    assert response.status_code == 401 and evidence_rows(orenburg) == []


def test_a_token_of_a_disabled_coordinator_stops_working(orenburg, app_of):
    token = coordinator_token(orenburg)
    c = client(app_of(orenburg))
    assert [p["id"] for p in c.get("/api/v1/plans", headers=bearer(token)).json()] == [PLAN]
    from nok_workflow.store.db import write_session
    from nok_workflow.store.models import Account

    with write_session(orenburg) as session:
        session.get(Account, "uo").active = False
    response = c.get("/api/v1/plans", headers=bearer(token))
    assert response.status_code == 401 and "отключена" in response.json()["detail"]


# --- evidence --------------------------------------------------------------------------------

def test_a_party_token_pushes_a_pdf(orenburg, app_of, tmp_path):
    app = app_of(orenburg)
    response = client(app).post("/api/v1/evidence", headers=bearer(party_token(orenburg)),
                                data={"item": "I.1", "document_date": "20.09.2024", "comment": "с подписями"},
                                files={"file": ("протокол.pdf", PDF, "application/pdf")})
    assert response.status_code == 201, response.text
    body = response.json()
    [row] = evidence_rows(orenburg)
    import hashlib

    assert body["sha256"] == row.sha256 == hashlib.sha256(PDF).hexdigest()
    assert body == {"id": row.id, "obligation": row.obligation_id, "item": "I.1", "period": body["period"],
                    "document_date": "2024-09-20", "sha256": row.sha256, "review": "pending", "run": RAN}
    assert row.submitted_by == "sovet" and row.file_name == "протокол.pdf" and row.comment == "с подписями"
    assert path_of(tmp_path / "home" / "evidence", row.sha256).read_bytes() == PDF
    assert app.state.calls == [(PLAN, MOMENT)]
    with Session(orenburg) as session:
        assert session.get(Obligation, row.obligation_id).completed_on == dt.date(2024, 9, 20)


def test_a_party_token_pushes_only_a_link(orenburg, app_of, tmp_path):
    app = app_of(orenburg)
    response = client(app).post("/api/v1/evidence", headers=bearer(party_token(orenburg)),
                                data={"item": "I.1", "url": "https://orenburg-raion.example.org/sovet/protocol-1"})
    assert response.status_code == 201, response.text
    [row] = evidence_rows(orenburg)
    assert response.json()["sha256"] is None and row.sha256 is None
    assert row.url == "https://orenburg-raion.example.org/sovet/protocol-1"
    assert response.json()["document_date"] == "2024-10-08"  # today in the plan's time zone
    assert app.state.calls == [(PLAN, MOMENT)] and stored_files(tmp_path) == []


@pytest.mark.parametrize(("data", "message"), [
    ({"item": "IX.9"}, "в плане «orenburg-raion-2024» нет пункта «IX.9»"),
    ({"item": "II.1"}, "«sovet» не отвечает за пункт II.1"),
    ({"item": "I.1", "document_date": "31.02.2024"}, "«31.02.2024» — не дата"),
    ({"item": "I.1", "document_date": "2030-01-01"}, "ещё не наступила"),
])
def test_a_refused_upload_is_422_with_the_services_message_and_nothing_written(orenburg, app_of, tmp_path, data,
                                                                               message):
    app = app_of(orenburg)
    response = client(app).post("/api/v1/evidence", headers=bearer(party_token(orenburg)), data=data,
                                files={"file": ("протокол.pdf", PDF, "application/pdf")})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/json")
    assert message in response.json()["detail"]
    assert evidence_rows(orenburg) == [] and stored_files(tmp_path) == [] and app.state.calls == []


def test_neither_file_nor_link_is_422(orenburg, app_of):
    response = client(app_of(orenburg)).post("/api/v1/evidence", headers=bearer(party_token(orenburg)),
                                             data={"item": "I.1"})
    assert response.status_code == 422 and "нужен файл или ссылка" in response.json()["detail"]


def test_a_party_token_of_another_plan_gets_404(orenburg, app_of, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(MINIMAL_PLAN, encoding="utf-8")
    load(orenburg, other, actor=None, now=MOMENT)
    c = client(app_of(orenburg))
    stranger = party_token(orenburg, actor="otdel", plan="test-plan")
    for token, plan in ((stranger, PLAN), (party_token(orenburg), "test-plan"), (party_token(orenburg), "nope")):
        response = c.post("/api/v1/evidence", headers=bearer(token),
                          data={"plan": plan, "item": "1", "url": "https://x.ru/a"})
        assert response.status_code == 404, response.text
        assert response.json()["error"] == f"план «{plan}» не найден"
        assert c.get(f"/api/v1/obligations?plan={plan}", headers=bearer(token)).status_code == 404
    assert evidence_rows(orenburg) == []


def test_an_oversize_upload_is_413_json(orenburg, app_of, tmp_path):
    c = client(app_of(orenburg, evidence_max_bytes=1000))
    token = party_token(orenburg)
    for size in (5000, 2_000_000):  # past the file limit; past the whole body's limit
        response = c.post("/api/v1/evidence", headers=bearer(token), data={"item": "I.1"},
                          files={"file": ("big.pdf", PDF + b"x" * size, "application/pdf")})
        assert response.status_code == 413, size
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"] == "Файл слишком большой"
    assert evidence_rows(orenburg) == [] and stored_files(tmp_path) == []


def test_an_organisation_token_needs_not_name_itself(engine, app_of):
    now = "2026-04-10T09:00+03:00"
    load(engine, PLANS / "informing-2026.yaml", actor=None, now=dt.datetime.fromisoformat(now))
    token = party_token(engine, actor="sosh-1", plan="informing-2026")
    c = client(app_of(engine, now=now))
    response = c.post("/api/v1/evidence", headers=bearer(token), data={"item": "1", "url": "https://sosh1.ru/noko"})
    assert response.status_code == 201, response.text
    with Session(engine) as session:
        assert session.get(Obligation, response.json()["obligation"]).org_id == "sosh-1"
    listed = c.get("/api/v1/obligations?limit=1000", headers=bearer(token)).json()
    assert listed["total"] > 0 and {o["org"] for o in listed["obligations"]} == {"sosh-1"}


# --- obligations and plans -------------------------------------------------------------------

def test_a_party_token_lists_exactly_its_obligations(orenburg, app_of):
    c = client(app_of(orenburg))
    for party in ("sovet", "operator", "uo"):
        got = c.get("/api/v1/obligations", headers=bearer(party_token(orenburg, actor=party))).json()
        expected = list_obligations(orenburg, now=MOMENT, plan_id=PLAN, owner=party)
        assert got["total"] == len(got["obligations"]) == len(expected) > 0
        assert {o["id"] for o in got["obligations"]} == {o["id"] for o in expected}
    sovet = c.get("/api/v1/obligations", headers=bearer(party_token(orenburg))).json()["obligations"]
    assert {o["item"] for o in sovet} == {"I.1", "I.2", "II.4", "II.5", "III.1"}
    first = sovet[0]
    assert set(first) == {"id", "plan", "item", "title", "period", "org", "due", "status", "level", "completed_on",
                          "documents"}
    assert first["item"] == "I.1" and first["title"] == "Заседания общественного совета №1"
    assert first["documents"][0].startswith("Протокол об утверждении перечня")
    assert first["plan"] == PLAN and first["org"] is None and re.fullmatch(r"\d{4}-\d\d-\d\d", first["due"])


def test_a_coordinator_token_lists_all_obligations_of_its_plans_by_pages(orenburg, app_of):
    token = coordinator_token(orenburg)
    c = client(app_of(orenburg))
    with Session(orenburg) as session:
        all_ids = [o.id for o in session.exec(select(Obligation).where(Obligation.plan_id == PLAN)).all()]
        session.get(Obligation, all_ids[0]).status = "overdue"
        session.add(session.get(Obligation, all_ids[0]))
        session.commit()
    whole = c.get("/api/v1/obligations", headers=bearer(token)).json()
    assert whole["total"] == len(all_ids) and sorted(o["id"] for o in whole["obligations"]) == sorted(all_ids)
    pages = [c.get(f"/api/v1/obligations?limit=4&offset={n}", headers=bearer(token)).json() for n in range(0, 16, 4)]
    assert [o["id"] for p in pages for o in p["obligations"]] == [o["id"] for o in whole["obligations"]]
    assert pages[0]["limit"] == 4 and pages[0]["total"] == len(all_ids)
    overdue = c.get("/api/v1/obligations?status=overdue", headers=bearer(token)).json()
    assert [o["id"] for o in overdue["obligations"]] == [all_ids[0]] and overdue["total"] == 1
    for query, field in (("limit=5000", "limit"), ("offset=-1", "offset")):
        refused = c.get(f"/api/v1/obligations?{query}", headers=bearer(token))
        assert refused.status_code == 422 and field in refused.json()["detail"]
    unknown = c.get("/api/v1/obligations?status=late", headers=bearer(token))
    assert unknown.status_code == 422 and "«late» — нет такого состояния" in unknown.json()["detail"]


def test_plans_are_those_the_token_may_see(orenburg, app_of, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(MINIMAL_PLAN, encoding="utf-8")
    load(orenburg, other, actor=None, now=MOMENT)
    c = client(app_of(orenburg))
    assert [p["id"] for p in c.get("/api/v1/plans", headers=bearer(party_token(orenburg))).json()] == [PLAN]
    [plan] = c.get("/api/v1/plans", headers=bearer(coordinator_token(orenburg))).json()
    assert plan["id"] == PLAN and plan["coordinator"] == "uo" and plan["items"] == 11 and plan["obligations"] > 0


# --- coordinator actions ---------------------------------------------------------------------

def test_a_coordinator_token_reviews_and_waives(orenburg, app_of):
    app = app_of(orenburg)
    c = client(app)
    pushed = c.post("/api/v1/evidence", headers=bearer(party_token(orenburg)),
                    data={"item": "I.1", "url": "https://x.ru/protocol"}).json()
    token = coordinator_token(orenburg)
    url = f"/api/v1/evidence/{pushed['id']}/review"

    no_reason = c.post(url, headers=bearer(token), json={"accept": False})
    assert no_reason.status_code == 422 and "отклонение требует причины" in no_reason.json()["detail"]
    rejected = c.post(url, headers=bearer(token), json={"accept": False, "reason": "нет подписи председателя"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json() == {"id": pushed["id"], "review": "rejected", "run": RAN}
    with Session(orenburg) as session:
        assert session.get(Evidence, pushed["id"]).review == "rejected"
        [review] = session.exec(select(Review)).all()
        assert (review.reason, review.reviewed_by) == ("нет подписи председателя", "uo")
    accepted = c.post(url, headers=bearer(token), json={"accept": True})
    assert accepted.json()["review"] == "accepted"
    assert c.post("/api/v1/evidence/99999/review", headers=bearer(token), json={"accept": True}).status_code == 404

    waived = c.post("/api/v1/waive", headers=bearer(token),
                    json={"plan": PLAN, "item": "II.6", "reason": "сайт переносится"})
    assert waived.status_code == 200, waived.text
    assert waived.json()["item"] == "II.6" and waived.json()["state"] == "waived"
    with Session(orenburg) as session:
        ob = session.get(Obligation, waived.json()["obligation"])
        assert (ob.state, ob.state_reason) == ("waived", "сайт переносится")
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.actor == "uo")).all()]
    assert {"evidence.reject", "evidence.accept", "obligation.waive"} <= set(actions)
    bad = c.post("/api/v1/waive", headers=bearer(token), json={"plan": PLAN, "item": "IX.9", "reason": "x"})
    assert bad.status_code == 422 and "нет пункта «IX.9»" in bad.json()["detail"]
    assert c.post("/api/v1/waive", headers=bearer(token),
                  json={"plan": "test-plan", "item": "1", "reason": "x"}).status_code == 404


def test_a_party_token_may_not_review_or_waive(orenburg, app_of):
    c = client(app_of(orenburg))
    token = party_token(orenburg, actor="uo")  # even the coordinator's own party: a party token is not a login
    pushed = c.post("/api/v1/evidence", headers=bearer(party_token(orenburg)),
                    data={"item": "I.1", "url": "https://x.ru/protocol"}).json()
    review = c.post(f"/api/v1/evidence/{pushed['id']}/review", headers=bearer(token),
                    json={"accept": False, "reason": "нет"})
    assert review.status_code == 403 and "только координатору" in review.json()["error"]
    waive = c.post("/api/v1/waive", headers=bearer(token), json={"plan": PLAN, "item": "II.6", "reason": "x"})
    assert waive.status_code == 403
    with Session(orenburg) as session:
        assert session.get(Evidence, pushed["id"]).review == "pending"
        assert session.exec(select(Obligation).where(Obligation.state == "waived")).all() == []


def test_another_coordinators_token_does_not_reach_this_plan(orenburg, app_of):
    c = client(app_of(orenburg))
    pushed = c.post("/api/v1/evidence", headers=bearer(party_token(orenburg)),
                    data={"item": "I.1", "url": "https://x.ru/protocol"}).json()
    token = coordinator_token(orenburg, login="minobr")
    assert c.get("/api/v1/plans", headers=bearer(token)).json() == []
    assert c.get("/api/v1/obligations", headers=bearer(token)).json()["total"] == 0
    assert c.post(f"/api/v1/evidence/{pushed['id']}/review", headers=bearer(token),
                  json={"accept": True}).status_code == 404
    missing = c.post("/api/v1/evidence", headers=bearer(token), data={"item": "I.1", "url": "https://x.ru/a"})
    assert missing.status_code == 422 and "укажите поле plan" in missing.json()["detail"]


# --- the schema and /docs --------------------------------------------------------------------

def sign_in(c: TestClient) -> None:
    c.get("/login")
    response = c.post("/login", data={"login": "uo", "password": "correct horse battery",
                                      "csrf": c.cookies.get("nok_csrf")}, follow_redirects=False)
    assert response.status_code == 303


def test_the_schema_and_docs_are_for_a_signed_in_coordinator(orenburg, app_of):
    accounts.add(orenburg, login="uo", name="УО", email=None, password="correct horse battery", now=MOMENT)
    c = client(app_of(orenburg))
    refused = c.get("/openapi.json")
    assert refused.status_code == 401 and refused.json()["error"] == "Нужен вход"
    docs = c.get("/docs", follow_redirects=False)
    assert docs.status_code == 303 and docs.headers["location"] == "/login"
    # An API token is no sign-in for the pages.
    assert c.get("/openapi.json", headers=bearer(party_token(orenburg))).status_code == 401

    sign_in(c)
    schema = c.get("/openapi.json").json()
    assert schema["info"]["title"] == "nok-workflow API"
    assert set(schema["paths"]) == {"/api/v1/plans", "/api/v1/obligations", "/api/v1/evidence",
                                    "/api/v1/evidence/{evidence_id}/review", "/api/v1/waive", "/api/v1/drafts",
                                    "/api/v1/drafts/{draft_id}", "/api/v1/drafts/{draft_id}/rows/{row}",
                                    "/api/v1/drafts/{draft_id}/apply", "/api/v1/directory",
                                    "/api/v1/directory/missing", "/api/v1/directory/email",
                                    "/api/v1/directory/import/preview", "/api/v1/directory/import/apply"}
    assert schema["paths"]["/api/v1/evidence"]["post"]["summary"] == "Передать документ"
    page = c.get("/docs")
    assert page.status_code == 200
    text = page.text
    assert re.search(r'm-post">POST</span> <code class="api-path">/api/v1/evidence</code>', text)
    assert "Передать документ" in text and "document_date" in text and "обязательно" in text
    assert "-F item=I.1 -F file=@протокол.pdf http://127.0.0.1:8470/api/v1/evidence" in text
    assert "Authorization: Bearer $NOK_TOKEN" in text
    assert "<script" not in text and "style=" not in text and "<style" not in text


# --- the CLI ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_token_commands_through_the_real_cli(tmp_path, app_of):
    env = {"NOK_HOME": str(tmp_path / "home"), "NOK_DATABASE_URL": ""}
    loaded = run_nok("plan", "load", str(ORENBURG), "--now", NOW, env=env)
    assert loaded.returncode == 0, loaded.stderr
    refused = run_nok("token", "create", "--as", "nobody", "--plan", PLAN, "--name", "сайт", env=env)
    assert refused.returncode == 1 and "«nobody» нет в справочнике плана" in refused.stderr
    assert "Traceback" not in refused.stderr

    made = run_nok("token", "create", "--as", "sovet", "--plan", PLAN, "--name", "сайт школы [12]", "--now", NOW,
                   env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", token)
    assert "больше не будет показан" in made.stderr

    listed = run_nok("token", "list", env=env)
    assert listed.returncode == 0 and "сайт школы [12]" in listed.stdout and "sovet" in listed.stdout
    assert token not in listed.stdout
    as_json = run_nok("token", "list", "--json", env=env)
    import json

    [row] = json.loads(as_json.stdout)
    assert row["plan"] == PLAN and row["as"] == "sovet" and row["revoked"] is None and token not in as_json.stdout

    from nok_workflow.store.db import connect

    engine = connect(f"sqlite:///{tmp_path / 'home' / 'nok.db'}")
    try:
        c = client(app_of(engine))
        assert c.get("/api/v1/obligations", headers=bearer(token)).status_code == 200
        revoked = run_nok("token", "revoke", str(row["id"]), "--now", NOW, env=env)
        assert revoked.returncode == 0 and f"токен №{row['id']} отозван" in revoked.stdout
        assert c.get("/api/v1/obligations", headers=bearer(token)).status_code == 401
        again = run_nok("token", "revoke", str(row["id"]), env=env)
        assert again.returncode == 1 and "действующего токена" in again.stderr
        with Session(engine) as session:
            events = session.exec(select(AuditEvent).where(AuditEvent.action.startswith("api_token"))).all()
        assert [(e.action, e.actor) for e in events] == [("api_token.create", "uo"), ("api_token.revoke", "uo")]
    finally:
        engine.dispose()
    assert json.loads(run_nok("token", "list", "--json", env=env).stdout)[0]["revoked"] is not None
