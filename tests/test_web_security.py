"""What every request of the web app passes: headers, allowed hosts, CSRF and origin checks,
the body limit, the run endpoint's token; accounts and link revisions in the store."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from nok_workflow.services.commands import accounts
from nok_workflow.services.commands import links as link_commands
from nok_workflow.services.read import links
from nok_workflow.services.commands.plans import load
from nok_workflow.store.models import AuditEvent
from nok_workflow.tokens import run_token, upload_link, upload_token, upload_token_valid
from tests.support.cli import run_nok
from tests.support.paths import PLANS
from tests.support.web import KEY, MOMENT, client

ORENBURG = PLANS / "orenburg-raion-2024.yaml"






@pytest.mark.parametrize("path", ["/login", "/no-such-page", "/static/nok.css", "/u/x/y/z", "/health"])
def test_every_answer_carries_the_security_headers(engine, app_of, path):
    response = client(app_of(engine)).get(path)
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_a_page_has_no_inline_script_or_style_the_policy_would_block(engine, app_of):
    page = client(app_of(engine)).get("/login").text
    assert "<script" not in page and "style=" not in page and "<style" not in page
    assert '<link rel="stylesheet" href="/static/nok.css">' in page


def test_unknown_pages_are_a_russian_404_page(engine, app_of):
    response = client(app_of(engine)).get("/no-such-page")
    assert response.status_code == 404
    assert "Страница не найдена" in response.text and "<html lang=\"ru\">" in response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8470", "127.0.0.1.nip.io:8470"])
def test_a_foreign_host_is_refused_dns_rebinding(engine, app_of, host):
    response = client(app_of(engine), host).get("/login")
    assert response.status_code == 400
    assert "Неизвестный адрес сервера" in response.text and "NOK_ALLOWED_HOSTS" in response.text


def test_allowed_hosts_come_from_the_base_url_and_the_setting(engine, app_of):
    app = app_of(engine, base_url="https://nok.example.org", allowed_hosts="nok.local, 10.0.0.5")
    for host in ("nok.example.org", "nok.local:8470", "10.0.0.5:8470", "localhost:8470"):
        assert client(app, host).get("/login").status_code == 200, host
    assert client(app, "nok.example.org.evil.com").get("/login").status_code == 400


def test_state_changing_form_without_the_csrf_token_is_refused(engine, app_of):
    app = app_of(engine)
    c = client(app)
    c.get("/login")
    token = c.cookies.get("nok_csrf")
    assert token and len(token) >= 32
    for data in ({"login": "uo", "password": "x" * 12}, {"login": "uo", "password": "x" * 12, "csrf": "forged" * 8}):
        response = c.post("/login", data=data)
        assert response.status_code == 403 and "Запрос отклонён" in response.text
    # The cookie is SameSite=Strict and not readable by scripts.
    cookie = c.get("/login").headers.get("set-cookie", "") or ""
    fresh = client(app).get("/login").headers["set-cookie"]
    assert "httponly" in fresh.lower() and "samesite=strict" in fresh.lower()
    assert cookie == ""  # an existing cookie is kept, not renewed on every page


def test_a_cross_site_post_is_refused_even_with_the_token(engine, app_of):
    c = client(app_of(engine))
    c.get("/login")
    data = {"login": "uo", "password": "x" * 12, "csrf": c.cookies.get("nok_csrf")}
    assert c.post("/login", data=data, headers={"Origin": "https://evil.example"}).status_code == 403
    assert c.post("/login", data=data, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert c.post("/login", data=data, headers={"Origin": "http://127.0.0.1:8470"}).status_code == 401  # same site


def test_the_run_endpoint_answers_only_nok_commands_of_this_store(engine, app_of):
    load(engine, ORENBURG, actor=None, now=MOMENT)
    app = app_of(engine)
    c = client(app)
    url = "/api/plans/orenburg-raion-2024/run"
    assert c.post(url).status_code == 403
    assert c.post(url, headers={"Authorization": "Bearer " + run_token(b"x" * 32)}).status_code == 403
    assert app.state.calls == []
    ok = c.post(url + "?now=2024-10-09T09:00%2B05:00", headers={"Authorization": "Bearer " + run_token(KEY)})
    assert ok.status_code == 202 and ok.json()["status"] == "запуск плана поставлен в очередь"
    assert app.state.calls == [("orenburg-raion-2024", dt.datetime.fromisoformat("2024-10-09T09:00+05:00"))]
    missing = c.post("/api/plans/nope/run", headers={"Authorization": "Bearer " + run_token(KEY)})
    assert missing.status_code == 404 and missing.json()["error"] == "план «nope» не загружен"


def test_an_oversize_body_is_refused_before_it_is_read(engine, app_of):
    c = client(app_of(engine, evidence_max_bytes=1000))
    c.get("/login")
    response = c.post("/login", data={"csrf": c.cookies.get("nok_csrf")},
                      files={"file": ("big.pdf", b"%PDF" + b"x" * 2_000_000)})
    assert response.status_code == 413 and "Файл слишком большой" in response.text

    def chunks():  # no Content-Length: refused while it streams
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n"
        for _ in range(300):
            yield b"x" * 10_000
        yield b"\r\n--b--\r\n"

    streamed = c.post("/login", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413 and "Файл слишком большой" in streamed.text


# --- the store side ------------------------------------------------------------------------

def test_passwords_sessions_and_login_links(engine):
    with pytest.raises(Exception, match="короче 10"):
        accounts.add(engine, login="uo", name="УО", email=None, password="short", now=MOMENT)
    account = accounts.add(engine, login="uo", name="Управление образования", email="uo@example.org",
                           password="correct horse battery", now=MOMENT)
    assert account.password_hash.startswith("$argon2")
    assert accounts.verify_password(engine, "uo", "correct horse battery").login == "uo"
    assert accounts.verify_password(engine, "uo", "wrong horse battery") is None
    assert accounts.verify_password(engine, "nobody", "correct horse battery") is None

    token = accounts.start_session(engine, "uo", MOMENT, hours=12)
    assert accounts.session_account(engine, token, MOMENT + dt.timedelta(hours=11)).login == "uo"
    assert accounts.session_account(engine, token, MOMENT + dt.timedelta(hours=12, seconds=1)) is None
    assert accounts.session_account(engine, token + "x", MOMENT) is None
    accounts.set_password(engine, login="uo", password="another long password", now=MOMENT)
    assert accounts.session_account(engine, token, MOMENT) is None  # a new password signs everyone out

    made = accounts.create_login_link(engine, "uo", MOMENT, minutes=20)
    assert made is not None
    _, link = made
    assert accounts.use_login_link(engine, link, MOMENT + dt.timedelta(minutes=21)) is None  # expired
    made = accounts.create_login_link(engine, "uo", MOMENT, minutes=20)
    assert accounts.use_login_link(engine, made[1], MOMENT) == "uo"
    assert accounts.use_login_link(engine, made[1], MOMENT) is None  # once
    assert accounts.create_login_link(engine, "nobody", MOMENT, minutes=20) is None


def test_a_revoked_link_stops_working_and_the_next_one_differs(engine):
    load(engine, ORENBURG, actor=None, now=MOMENT)
    today = MOMENT.date()
    old = upload_token(KEY, "orenburg-raion-2024", "sovet")

    def holds(token: str, day: dt.date = today) -> bool:
        return links.holder(engine, KEY, plan_id="orenburg-raion-2024", party_id="sovet", token=token, today=day,
                            grace_days=90) is not None

    assert holds(old)
    assert not holds(old[:-1] + ("A" if old[-1] != "A" else "B"))  # forged
    assert links.holder(engine, KEY, plan_id="orenburg-raion-2024", party_id="uo", token=old, today=today,
                        grace_days=90) is None  # another party's token
    # Valid until the period's end plus the grace time, not a day longer.
    assert holds(old, dt.date(2024, 12, 31) + dt.timedelta(days=90))
    assert not holds(old, dt.date(2024, 12, 31) + dt.timedelta(days=91))

    assert link_commands.revoke(engine, plan_id="orenburg-raion-2024", party_id="sovet", by="uo", now=MOMENT) == 1
    assert not holds(old)
    new = upload_token(KEY, "orenburg-raion-2024", "sovet", 1)
    assert new != old and holds(new)
    assert upload_token_valid(KEY, "orenburg-raion-2024", "sovet", 1, new)
    from sqlmodel import Session, select

    with Session(engine) as session:
        assert links.link_for(session, "http://x", KEY, "orenburg-raion-2024", "sovet") == \
            upload_link("http://x", KEY, "orenburg-raion-2024", "sovet", 1)
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "link.revoke")).all()
    assert [e.details for e in events] == [{"party": "sovet", "revision": 1}]
    with pytest.raises(Exception, match="нет в справочнике"):
        link_commands.revoke(engine, plan_id="orenburg-raion-2024", party_id="nobody", by="uo", now=MOMENT)


@pytest.mark.slow
def test_serve_on_all_interfaces_without_a_coordinator_account_is_refused(tmp_path):
    env = {"NOK_HOME": str(tmp_path / "home")}
    result = run_nok("serve", "--host", "0.0.0.0", "--port", "1", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "открывает страницы всей сети, а учётной записи координатора нет" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "serve.json").exists()


def test_links_in_mail_match_the_token_format():
    link = upload_link("http://127.0.0.1:8470/", KEY, "p", "q")
    assert re.fullmatch(r"http://127\.0\.0\.1:8470/u/p/q/[A-Za-z0-9_-]{24}", link)
    assert Path(link).name == upload_token(KEY, "p", "q")


def _state_changing_routes(app) -> list[tuple[str, str]]:
    from fastapi.routing import APIRoute, iter_route_contexts

    found = []
    for r in iter_route_contexts(app.routes):
        if isinstance(r.original_route, APIRoute):
            for method in r.original_route.methods - {"GET", "HEAD", "OPTIONS"}:
                found.append((method, r.path))
    return found


def test_every_form_a_browser_can_post_demands_the_csrf_token(engine, app_of):
    """Not a list kept by hand: every state-changing route of the app is tried without the
    token. Only the bearer-token API (no cookies) and the key-signed run endpoint are exempt."""
    load(engine, ORENBURG, actor=None, now=MOMENT)
    accounts.add(engine, login="uo", name="УО", email=None, password="correct horse battery", now=MOMENT)
    app = app_of(engine)
    routes = _state_changing_routes(app)
    assert len(routes) >= 10, routes  # the walk found the routers' routes
    token = upload_token(KEY, "orenburg-raion-2024", "sovet")
    values = {"plan_id": "orenburg-raion-2024", "party_id": "sovet", "token": token, "evidence_id": "1",
              "feed_id": "1", "draft_id": "d", "row": "r1", "key": "I.1", "entry_id": "sovet",
              "campaign_id": "nok-2024", "channel": "telegram"}
    c = client(app)
    c.get("/login")
    c.post("/login", data={"login": "uo", "password": "correct horse battery", "csrf": c.cookies.get("nok_csrf")})
    checked = []
    for method, path in routes:
        if path.startswith("/api/"):
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: values[m[1]], path)
        response = c.request(method, url, data={"item": "I.1", "reason": "x", "accept": "1"})
        assert response.status_code == 403 and "Запрос отклонён" in response.text, (method, path)
        checked.append(path)
    assert "/u/{plan_id}/{party_id}/{token}/upload" in checked and "/plans/upload" in checked
    assert "/u/{plan_id}/{party_id}/{token}/calendar" in checked and "/plans/{plan_id}/calendar" in checked
    assert {"/directory/email", "/directory/import", "/directory/import/apply", "/directory/merge",
            "/directory/entry/{entry_id}", "/directory/add"} <= set(checked)
    assert {"/coordinator/plans/{plan_id}/public", "/coordinator/campaigns/{campaign_id}/public"} <= set(checked)
    assert {"/u/{plan_id}/{party_id}/{token}/chat/{channel}", "/u/{plan_id}/{party_id}/{token}/chat/{channel}/off",
            "/u/{plan_id}/{party_id}/{token}/chats/mail"} <= set(checked)
    with engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select count(*) from evidence")).scalar() == 0
        assert conn.execute(text("select count(*) from calendar_feed")).scalar() == 0
