"""The executor's pages behind the personal link of every digest: what they list, uploads
through the form (and every refusal leaving nothing behind), downloads, and links that no
longer work — all over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from nok_workflow.evidence_files import path_of
from nok_workflow.services.commands import links as link_commands
from nok_workflow.services.read import links
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.delivery import dispatch as dispatch_service
from nok_workflow.services.commands.evidence import review, submit
from nok_workflow.services.commands.plans import load
from nok_workflow.settings import Settings
from nok_workflow.store.models import NO_ORG, AuditEvent, Evidence, Item, Obligation, Plan
from nok_workflow.tokens import upload_token
from tests.support.cli import run_nok
from tests.support.paths import PLANS
from tests.support.web import KEY, MOMENT

ORENBURG = "orenburg-raion-2024"
SCHOOLS = "shkoly-2024"

SCHOOLS_PLAN = """\
id: shkoly-2024
title: План НОКО школ района на 2024 год
period: 2024
timezone: Asia/Yekaterinburg
coordinator: uo
directory:
  - id: uo
    name: Управление образования
    email: uo@example.org
  - id: imc
    name: Методический центр
    email: imc@example.org
    escalates_to: uo
groups:
  - id: ou
    name: Образовательные учреждения
    escalates_to: uo
organisations:
  - id: sosh-1
    name: МБОУ «СОШ № 1»
    group: ou
    email: sosh1@example.org
  - id: ds-5
    name: МБДОУ «Детский сад № 5»
    group: ou
    email: ds5@example.org
sections:
  - number: "1."
    title: Информирование
    items:
      - number: "1"
        title: Размещение информации на сайте учреждения
        deadline: 1 раз в кв.
        owners: ["@ou"]
        results: [Скриншот раздела сайта]
      - number: "2"
        title: Отчёт методического центра
        deadline: Октябрь
        owners: [imc]
        results: [Отчёт о работе]
      - number: "3"
        title: Совместный план мероприятий
        deadline: Декабрь
        owners: [imc, "@ou"]
        results: [План мероприятий]
"""


def _pdf() -> bytes:
    """A minimal valid one-page PDF, its cross-reference offsets computed."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PDF = _pdf()




@pytest.fixture
def orenburg(engine):
    load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=MOMENT)
    return engine


@pytest.fixture
def schools(engine, write_plan):
    load(engine, write_plan(SCHOOLS_PLAN, "schools.yaml"), actor=None, now=MOMENT)
    return engine


def client(app, host: str = "127.0.0.1:8470") -> TestClient:
    return TestClient(app, base_url=f"http://{host}", follow_redirects=False)


def page_of(plan_id: str, party_id: str) -> str:
    return f"/u/{plan_id}/{party_id}/{upload_token(KEY, plan_id, party_id)}"


def shown_obligations(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'id="ob-(\d+)"', html)}


def obligation_id(engine, plan_id: str, key: str, period: str | None = None, org: str = NO_ORG) -> int:
    with Session(engine) as session:
        query = (select(Obligation.id).join(Item, Item.id == Obligation.item_id)
                 .where(Item.plan_id == plan_id, Item.key == key, Obligation.org_id == org))
        if period:
            query = query.where(Obligation.period == period)
        return session.execute(query).scalar_one()


def evidence_rows(engine) -> list[Evidence]:
    with Session(engine) as session:
        return list(session.execute(select(Evidence).order_by(Evidence.id)).scalars())


def files_in(folder: Path) -> list[str]:
    """Everything in the evidence folder, staging files (dot names) included."""
    if not folder.exists():
        return []
    return sorted(str(Path(root, name).relative_to(folder)) for root, _, names in os.walk(folder) for name in names)


def post_upload(c: TestClient, base: str, ob: int, *, file: tuple | None = None, csrf: str | None = "cookie",
                **fields: str):
    if csrf == "cookie":
        c.get(base)
        csrf = c.cookies.get("nok_csrf")
    data = {"obligation": str(ob), **fields}
    if csrf is not None:
        data["csrf"] = csrf
    return c.post(base + "/upload", data=data, files={"file": file} if file else None)


# --- what the page lists -----------------------------------------------------------------

def test_an_organisation_sees_exactly_its_own_obligations(schools, app_of):
    c = client(app_of(schools))
    with Session(schools) as session:
        mine = set(session.execute(select(Obligation.id).where(Obligation.org_id == "sosh-1")).scalars())
        others = set(session.execute(select(Obligation.id).where(Obligation.org_id == "ds-5")).scalars())
    assert len(mine) == 5  # four quarters of 1.1 and its share of 1.3
    response = c.get(page_of(SCHOOLS, "sosh-1"))
    assert response.status_code == 200
    assert shown_obligations(response.text) == mine and not mine & others
    html = response.text
    assert "МБОУ «СОШ № 1»" in html and "Организация · группа «Образовательные учреждения»" in html
    assert "План НОКО школ района на 2024 год" in html and "Скриншот раздела сайта" in html
    assert "Отчёт методического центра" not in html  # the unit's item
    # Grouped by urgency: the quarters gone by are late, the current one open, December later.
    sections = dict(re.findall(r'<section class="xp-section xp-(\w+)">(.*?)</section>', html, re.S))
    assert list(sections) == ["late", "open", "upcoming"]
    assert shown_obligations(sections["late"]) == {obligation_id(schools, SCHOOLS, "1.1", p, "sosh-1")
                                                   for p in ("2024-Q1", "2024-Q2", "2024-Q3")}
    assert shown_obligations(sections["open"]) == {obligation_id(schools, SCHOOLS, "1.1", "2024-Q4", "sosh-1")}
    assert "IV квартал 2024" in sections["open"] and "осталось 84 дня" in sections["open"]
    assert "Документы по этому пункту принимаются с 1 декабря 2024" in sections["upcoming"]


def test_a_unit_sees_its_items_not_the_organisations_shares(schools, app_of):
    html = client(app_of(schools)).get(page_of(SCHOOLS, "imc")).text
    assert "Демонстрационный план" not in html
    with Session(schools) as session:
        expected = {ob.id for ob, owners in session.execute(
            select(Obligation, Item.owners).join(Item, Item.id == Obligation.item_id)
            .where(Obligation.plan_id == SCHOOLS, Obligation.org_id == NO_ORG)) if "imc" in owners}
    assert len(expected) == 2 and shown_obligations(html) == expected
    assert "Подразделение" in html and "Методический центр" in html
    with Session(schools) as session, session.begin():
        session.get(Plan, SCHOOLS).demo = True
    assert "Демонстрационный план" in client(app_of(schools)).get(page_of(SCHOOLS, "imc")).text


def test_units_of_the_orenburg_plan_share_only_their_common_item(orenburg, app_of):
    c = client(app_of(orenburg))
    sovet = shown_obligations(c.get(page_of(ORENBURG, "sovet")).text)
    operator = shown_obligations(c.get(page_of(ORENBURG, "operator")).text)
    assert sovet == {obligation_id(orenburg, ORENBURG, k) for k in ("I.1", "I.2", "II.4", "II.5", "III.1")}
    assert sovet & operator == {obligation_id(orenburg, ORENBURG, "II.4")}
    assert len(operator) == 7  # II.1–II.4, II.6 and III.3's two quarters


def test_done_obligations_are_folded_and_waived_ones_hidden(orenburg, app_of, tmp_path):
    submit(orenburg, None, plan_id=ORENBURG, item="I.2", by="sovet", now=MOMENT, url="https://example.org/d",
           comment="договор")
    from nok_workflow.services.commands.evidence import waive

    waive(orenburg, plan_id=ORENBURG, item="II.5", period=None, org=None, reason="не нужно", by="uo", now=MOMENT)
    html = client(app_of(orenburg)).get(page_of(ORENBURG, "sovet")).text
    done = html.split('<details class="xp-done"', 1)[1]
    assert str(obligation_id(orenburg, ORENBURG, "I.2")) in re.findall(r'id="ob-(\d+)"', done)
    assert "выполнено" in done and "https://example.org/d" in done and "договор" in done
    assert obligation_id(orenburg, ORENBURG, "II.5") not in shown_obligations(html)


# --- uploads -------------------------------------------------------------------------------

def test_a_pdf_upload_is_recorded_and_the_result_page_says_so(engine, orenburg, app_of, tmp_path):
    app = app_of(orenburg)
    c = client(app)
    base = page_of(ORENBURG, "sovet")
    ob = obligation_id(orenburg, ORENBURG, "I.2")
    response = post_upload(c, base, ob, file=("Договор №1.pdf", PDF, "application/pdf"),
                           document_date="2024-10-07", comment="Подписан обеими сторонами")
    assert response.status_code == 303
    [row] = evidence_rows(orenburg)
    assert response.headers["location"] == f"{base}?uploaded={row.id}#notice"
    assert (row.obligation_id, row.submitted_by, row.file_name, row.media_type, row.comment) == \
        (ob, "sovet", "Договор №1.pdf", "application/pdf", "Подписан обеими сторонами")
    assert row.document_date == dt.date(2024, 10, 7) and row.size == len(PDF)
    assert path_of(tmp_path / "home" / "evidence", row.sha256).read_bytes() == PDF
    assert app.state.calls == [(ORENBURG, MOMENT)]  # the plan runs now: dependants unblock
    result = c.get(response.headers["location"].split("#")[0])
    assert result.status_code == 200
    assert f"Документ №{row.id} принят к учёту" in result.text
    assert "Пункт отмечен выполненным (07.10.2024)" in result.text
    assert "Подписан обеими сторонами" in result.text and "Договор №1.pdf" in result.text
    # Another party's page does not speak of it, whatever the address says.
    assert "принят к учёту" not in c.get(f"{page_of(ORENBURG, 'operator')}?uploaded={row.id}").text
    with Session(orenburg) as session:
        assert session.get(Obligation, ob).completed_on == dt.date(2024, 10, 7)
        assert session.execute(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "evidence.submit")).scalar_one() == 1


def test_a_link_with_a_date_and_the_review_it_waits_for(engine, write_plan, app_of):
    load(engine, write_plan(SCHOOLS_PLAN.replace("coordinator: uo\n", "coordinator: uo\nreview_required: true\n")),
         actor=None, now=MOMENT)
    app = app_of(engine)
    c = client(app)
    base = page_of(SCHOOLS, "ds-5")
    ob = obligation_id(engine, SCHOOLS, "1.1", "2024-Q4", "ds-5")
    # An empty file input still sends a part (filename ""): it means «no file».
    response = post_upload(c, base, ob, file=("", b"", "application/octet-stream"),
                           url="https://ds5.example.org/noko", document_date="03.10.2024", comment="")
    assert response.status_code == 303
    [row] = evidence_rows(engine)
    assert (row.url, row.sha256, row.document_date, row.comment) == \
        ("https://ds5.example.org/noko", None, dt.date(2024, 10, 3), None)
    result = c.get(response.headers["location"].split("#")[0]).text
    assert f"Документ №{row.id} принят к учёту" in result and "ждёт проверки координатором" in result
    assert 'href="https://ds5.example.org/noko"' in result
    # Rejected: the reason is shown with the document.
    review(engine, evidence_id=row.id, accept=False, reason="ссылка не открывается", by="uo", now=MOMENT)
    again = c.get(base).text
    assert "отклонён" in again and "Причина отклонения: ссылка не открывается" in again


@pytest.mark.parametrize(("fields", "message"), [
    ({"document_date": "31.02.2024"}, "«31.02.2024» — не дата"),
    ({"document_date": "2024-10-20"}, "дата документа 20.10.2024 ещё не наступила"),
    ({"document_date": "2024-09-01"}, "раньше открытия пункта I.2"),
    ({"url": "javascript:alert(1)"}, "должна начинаться с http:// или https://"),
    ({}, "нужен файл или ссылка"),
])
def test_a_refused_upload_is_a_422_page_next_to_its_form_and_writes_nothing(orenburg, app_of, tmp_path, fields,
                                                                              message):
    app = app_of(orenburg)
    c = client(app)
    ob = obligation_id(orenburg, ORENBURG, "I.2")
    file = ("dogovor.pdf", PDF, "application/pdf") if "url" not in fields and fields else None
    response = post_upload(c, page_of(ORENBURG, "sovet"), ob, file=file, comment="мой комментарий", **fields)
    assert response.status_code == 422
    card = response.text.split(f'id="ob-{ob}"', 1)[1].split("</article>", 1)[0]
    assert message in card and "Документ не принят" in response.text
    assert "мой комментарий" in card  # what was typed is kept
    assert evidence_rows(orenburg) == [] and app.state.calls == []
    assert files_in(tmp_path / "home" / "evidence") == []


def test_a_disallowed_file_type_is_refused_in_russian(orenburg, app_of, tmp_path):
    app = app_of(orenburg)
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(range(256)) * 4
    response = post_upload(client(app), page_of(ORENBURG, "sovet"), obligation_id(orenburg, ORENBURG, "I.2"),
                           file=("setup.exe", elf, "application/octet-stream"))
    assert response.status_code == 422
    assert "«setup.exe»: тип файла не подходит для документа" in response.text
    assert "принимаются PDF, Word, Excel" in response.text and "Выберите файл ещё раз" in response.text
    assert evidence_rows(orenburg) == [] and app.state.calls == []
    assert files_in(tmp_path / "home" / "evidence") == []


def test_an_oversize_file_is_a_413_and_leaves_nothing(orenburg, app_of, tmp_path):
    app = app_of(orenburg, evidence_max_bytes=1000)
    c = client(app)
    base, ob = page_of(ORENBURG, "sovet"), obligation_id(orenburg, ORENBURG, "I.2")
    # Within the request limit (the file + 1 MiB for the form), over the file limit: the intake says so.
    over = post_upload(c, base, ob, file=("big.pdf", PDF + b"%" * 5000, "application/pdf"))
    assert over.status_code == 413 and "файл больше допустимого" in over.text
    # Over the request limit: refused while it streams in.
    huge = post_upload(c, base, ob, file=("huge.pdf", PDF + b"%" * 2_000_000, "application/pdf"))
    assert huge.status_code == 413 and "Файл слишком большой" in huge.text
    assert evidence_rows(orenburg) == [] and app.state.calls == []
    assert files_in(tmp_path / "home" / "evidence") == []


def test_without_the_csrf_token_nothing_is_written(orenburg, app_of, tmp_path):
    app = app_of(orenburg)
    c = client(app)
    base, ob = page_of(ORENBURG, "sovet"), obligation_id(orenburg, ORENBURG, "I.2")
    for csrf in (None, "x" * 43):
        response = post_upload(c, base, ob, file=("a.pdf", PDF, "application/pdf"), csrf=csrf)
        assert response.status_code == 403 and "Запрос отклонён" in response.text
    fresh = client(app)  # no cookie at all, the field copied from another browser
    c.get(base)
    response = post_upload(fresh, base, ob, file=("a.pdf", PDF, "application/pdf"), csrf=c.cookies.get("nok_csrf"))
    assert response.status_code == 403
    assert evidence_rows(orenburg) == [] and app.state.calls == []
    assert files_in(tmp_path / "home" / "evidence") == []


def test_another_partys_obligation_cannot_be_given_through_my_link(orenburg, app_of, tmp_path):
    app = app_of(orenburg)
    theirs = obligation_id(orenburg, ORENBURG, "II.1")  # the operator's
    for ob in (theirs, 999_999, 10**12):
        response = post_upload(client(app), page_of(ORENBURG, "sovet"), ob,
                               file=("a.pdf", PDF, "application/pdf"))
        assert response.status_code == 404
    assert evidence_rows(orenburg) == [] and files_in(tmp_path / "home" / "evidence") == []


# --- links that do not work ------------------------------------------------------------------

def test_unknown_forged_expired_revoked_and_cross_plan_links_are_the_same_404(engine, orenburg, schools, app_of):
    c = client(app_of(engine))
    token = upload_token(KEY, ORENBURG, "uo")
    bad = [
        f"/u/{ORENBURG}/uo/{'A' * len(token)}",  # forged
        f"/u/{ORENBURG}/uo/{token[:-1]}",  # cut
        f"/u/{SCHOOLS}/uo/{token}",  # plan A's token under plan B (uo is in both)
        f"/u/{ORENBURG}/nobody/{upload_token(KEY, ORENBURG, 'nobody')}",  # not in the directory
        f"/u/no-such-plan/uo/{upload_token(KEY, 'no-such-plan', 'uo')}",
        f"/u/{ORENBURG}/uo/{upload_token(b'x' * 32, ORENBURG, 'uo')}",  # another store's key
    ]
    answers = [c.get(path) for path in bad] + [c.get(path + "/evidence/1") for path in bad[:3]]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1 and "Страница не найдена" in answers[0].text
    assert c.get(f"/u/{ORENBURG}/uo/{token}").status_code == 200
    assert post_upload(c, bad[2], 1, file=("a.pdf", PDF, "application/pdf"), csrf=None).status_code == 403
    c.get("/login")
    forged_post = post_upload(c, bad[2], 1, file=("a.pdf", PDF, "application/pdf"),
                              csrf=c.cookies.get("nok_csrf"))
    assert forged_post.status_code == 404 and forged_post.text == answers[0].text
    assert evidence_rows(engine) == []


def test_a_link_works_until_the_period_end_plus_the_grace_time(orenburg, app_of):
    path = page_of(ORENBURG, "sovet")
    # period end 31.12.2024 + 90 days = 31.03.2025, the plan's own day (UTC+5)
    assert client(app_of(orenburg, now="2025-03-31T23:30+05:00")).get(path).status_code == 200
    expired = client(app_of(orenburg, now="2025-03-31T19:30+00:00")).get(path)  # 01.04 00:30 in Orenburg
    assert expired.status_code == 404 and "Страница не найдена" in expired.text
    assert client(app_of(orenburg, now="2025-04-01T12:00+05:00", link_grace_days=120)).get(path).status_code == 200


def test_a_revoked_link_dies_and_the_next_digest_carries_the_new_one(engine, app_of, tmp_path):
    from notifiers import from_settings

    morning = dt.datetime(2024, 9, 17, 5, tzinfo=dt.UTC)  # 10:00 in Orenburg, after the plan's hour
    load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=morning)
    app = app_of(engine)
    c = client(app)
    old = page_of(ORENBURG, "sovet")
    assert c.get(old).status_code == 200
    plan_run.steps(engine, ORENBURG, morning)  # the council's first reminders are queued
    assert link_commands.revoke(engine, plan_id=ORENBURG, party_id="sovet", by="uo", now=morning) == 1
    assert c.get(old).status_code == 404
    with Session(engine) as session:
        new = links.link_for(session, "http://127.0.0.1:8470", KEY, ORENBURG, "sovet")
    assert new.removeprefix("http://127.0.0.1:8470") != old
    assert c.get(new.removeprefix("http://127.0.0.1:8470")).status_code == 200
    # The digest built after the revocation carries the new link (signed with the store's key).
    settings = Settings(home=tmp_path / "home")
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "secret.key").write_text(KEY.decode())
    os.chmod(tmp_path / "home" / "secret.key", 0o600)
    assert dispatch_service.dispatch(engine, from_settings(settings), settings, morning).sent == 3
    mails = [email.message_from_bytes(p.read_bytes()) for p in (tmp_path / "home" / "outbox").glob("*.eml")]
    sovet = next(m for m in mails if "sovet@" in m["To"])
    text = next(p.get_payload(decode=True).decode() for p in sovet.walk() if p.get_content_type() == "text/plain")
    assert f"Загрузить: {new}" in text and old not in text


def test_a_foreign_host_never_reaches_the_page(orenburg, app_of):
    response = client(app_of(orenburg), "evil.example:8470").get(page_of(ORENBURG, "sovet"))
    assert response.status_code == 400 and "Общественный совет" not in response.text


@pytest.mark.slow
def test_nok_link_revoke_on_the_command_line(tmp_path):
    env = {"NOK_HOME": str(tmp_path / "home"), "NOK_DATABASE_URL": ""}
    assert run_nok("plan", "load", str(PLANS / "orenburg-raion-2024.yaml"), env=env).returncode == 0
    done = run_nok("link", "revoke", "--plan", ORENBURG, "--party", "sovet", "--now", "2024-10-08", env=env)
    assert done.returncode == 0, done.stderr
    assert "прежняя ссылка больше не действует" in done.stdout and "следующем письме-сводке" in done.stdout
    unknown = run_nok("link", "revoke", "--plan", ORENBURG, "--party", "nobody", env=env)
    assert unknown.returncode == 1 and "«nobody» нет в справочнике плана" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    no_plan = run_nok("link", "revoke", "--plan", "nope", "--party", "sovet", env=env)
    assert no_plan.returncode == 1 and "план «nope» не загружен" in no_plan.stderr
    audit = json.loads(run_nok("audit", "--plan", ORENBURG, "--json", env=env).stdout)
    assert [(e["actor"], e["details"]) for e in audit if e["action"] == "link.revoke"] == \
        [("uo", {"party": "sovet", "revision": 1})]  # by the plan's coordinator unless --by says


# --- escaping and downloads ------------------------------------------------------------------

def test_names_and_titles_are_escaped(engine, write_plan, app_of):
    evil = "<script>alert(1)</script>"
    text = (SCHOOLS_PLAN.replace("title: План НОКО школ района на 2024 год", f"title: План {evil}")
            .replace("name: Методический центр", f'name: "Центр {evil}"'))
    load(engine, write_plan(text), actor=None, now=MOMENT)
    c = client(app_of(engine))
    base = page_of(SCHOOLS, "imc")
    ob = obligation_id(engine, SCHOOLS, "1.2")
    assert post_upload(c, base, ob, url="https://example.org/?a=1&b=<x>", comment=evil).status_code == 303
    html = c.get(base).text
    assert evil not in html and "<script" not in html and "style=" not in html  # CSP: no inline code
    assert "План &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Центр &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Комментарий:</span> &lt;script&gt;" in html


def test_own_files_download_as_attachments_and_others_are_404(orenburg, app_of):
    c = client(app_of(orenburg))
    sovet = page_of(ORENBURG, "sovet")
    assert post_upload(c, sovet, obligation_id(orenburg, ORENBURG, "I.2"),
                       file=("Договор №1.pdf", PDF, "application/pdf")).status_code == 303
    [row] = evidence_rows(orenburg)
    own = c.get(f"{sovet}/evidence/{row.id}")
    assert own.status_code == 200 and own.content == PDF
    assert own.headers["content-type"] == "application/pdf"
    assert own.headers["content-disposition"] == f"attachment; filename*=UTF-8''{quote('Договор №1.pdf')}"
    assert own.headers["x-content-type-options"] == "nosniff"
    not_mine = c.get(f"{page_of(ORENBURG, 'operator')}/evidence/{row.id}")
    assert not_mine.status_code == 404 and "Страница не найдена" in not_mine.text
    assert c.get(f"{sovet}/evidence/{row.id + 1}").status_code == 404
    for junk in ("abc", "²", str(2**31), "9" * 17, "9" * 40):
        assert c.get(f"{sovet}/evidence/{junk}").status_code == 404, junk
