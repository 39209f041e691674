"""The first run without a terminal: on an empty store the first page creates the first
coordinator account — only from the server itself, only once, CSRF-protected, one account
of two at once — and leads, signed in, to the upload of the coordinator's own plan.

HTTP tests on both stores; the walk from an empty store in Chromium against the app served
by uvicorn on 127.0.0.1 (a real TCP peer, as `nok serve` gets it)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.commands import accounts
from nok_workflow.store.models import Account
from tests.support.serve import free_port
from tests.support.web import MOMENT

LOCAL = ("127.0.0.1", 50123)
REMOTE = ("203.0.113.7", 50123)
PASSWORD = "первый-пароль-42"
FORM = {"login": "uo", "name": "Управление образования", "email": "uo@orenburg-raion.example.org",
        "password": PASSWORD, "password2": PASSWORD}
SHOTS = Path("/tmp/shots-firstrun")


def browser_like(app, peer: tuple[str, int] = LOCAL, **headers: str) -> TestClient:
    """A client whose TCP peer is `peer`; the CSRF cookie fetched as a browser gets it."""
    c = TestClient(app, base_url="http://127.0.0.1:8470", client=peer, headers=headers)
    c.get("/login")
    return c


def post_form(c: TestClient, **changes: str):
    return c.post("/first-run", data={**FORM, **changes, "csrf": c.cookies["nok_csrf"]}, follow_redirects=False)


def stored(engine) -> list[Account]:
    with Session(engine) as session:
        return list(session.execute(select(Account).order_by(Account.login)).scalars())


def test_from_the_server_itself_the_first_page_creates_the_account_and_signs_in(engine, app_of):
    c = browser_like(app_of(engine))
    page = c.get("/")
    assert page.status_code == 200
    assert 'action="/first-run"' in page.text and "Создать и войти" in page.text
    # Nothing to type in a terminal: no command, no flag.
    assert "nok user" not in page.text and "--" not in page.text.replace("<!--", "")
    created = post_form(c)
    assert created.status_code == 303 and created.headers["location"] == "/"
    [account] = stored(engine)
    assert (account.login, account.name, account.email, account.active) == (
        "uo", "Управление образования", "uo@orenburg-raion.example.org", True)
    PasswordHasher().verify(account.password_hash, PASSWORD)  # argon2, never the password itself
    home = c.get("/")
    assert home.status_code == 200
    assert "Учётная запись координатора «uo» создана, вы вошли. Теперь загрузите свой план." in home.text
    assert 'action="/plans/upload"' in home.text and "Мои планы" in home.text
    # The same password signs in later.
    assert accounts.verify_password(engine, "uo", PASSWORD) is not None


def test_a_client_elsewhere_is_told_how_to_do_it_instead(engine, app_of):
    app = app_of(engine)
    for c in (browser_like(app, REMOTE), browser_like(app, LOCAL, **{"X-Forwarded-For": "198.51.100.4"}),
              browser_like(app, LOCAL, Forwarded="for=198.51.100.4")):
        page = c.get("/")
        assert page.status_code == 403
        assert "можно создать только в браузере на самом" in page.text and "http://127.0.0.1:" in page.text
        assert 'action="/first-run"' not in page.text and "nok user" not in page.text
        refused = post_form(c)
        assert refused.status_code == 403
        assert "Учётная запись создаётся только на самом сервере" in refused.text
        assert "Откройте на сервере адрес http://127.0.0.1:" in refused.text and "--" not in refused.text
        assert "nok_session" not in c.cookies
    assert stored(engine) == []


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_in_either_family_is_the_server_itself(engine, app_of, peer):
    c = browser_like(app_of(engine), (peer, 50123))
    assert c.get("/").status_code == 200
    assert post_form(c).status_code == 303
    assert [a.login for a in stored(engine)] == ["uo"]


def test_once_any_account_exists_the_form_is_gone(engine, app_of):
    app = app_of(engine)
    first = browser_like(app)
    assert post_form(first).status_code == 303
    # Another browser on the server, not signed in: sign-in, never the form again.
    other = browser_like(app)
    again = other.get("/", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/login"
    assert other.get("/first-run", follow_redirects=False).headers["location"] == "/login"
    second = post_form(other, login="intruder", email="x@example.org")
    assert second.status_code == 303 and second.headers["location"] == "/login"
    assert "nok_session" not in other.cookies
    assert [a.login for a in stored(engine)] == ["uo"]
    # The sign-in page no longer speaks of the first account either.
    assert "Учётных записей ещё нет" not in other.get("/login").text


def test_without_the_csrf_token_nothing_is_created(engine, app_of):
    c = browser_like(app_of(engine))
    refused = c.post("/first-run", data=FORM, follow_redirects=False)
    assert refused.status_code == 403 and "Запрос отклонён" in refused.text
    forged = c.post("/first-run", data={**FORM, "csrf": "x" * 43}, follow_redirects=False)
    assert forged.status_code == 403
    assert stored(engine) == []


@pytest.mark.parametrize(("changes", "said"), [
    ({"password": "короткий", "password2": "короткий"}, "пароль короче 10 символов"),
    ({"password2": PASSWORD + "!"}, "Пароли не совпадают"),
    ({"login": "Управление"}, "«управление» — не годится как вход: строчные латинские буквы, цифры, _ . -"),
    ({"email": "uo-at-example"}, "«uo-at-example» — не похоже на адрес электронной почты"),
    ({"email": ""}, "не похоже на адрес электронной почты"),
])
def test_bad_input_is_said_in_russian_and_nothing_is_written(engine, app_of, changes, said):
    c = browser_like(app_of(engine))
    refused = post_form(c, **changes)
    assert refused.status_code == 422 and said in refused.text and "Traceback" not in refused.text
    assert 'action="/first-run"' in refused.text  # the form again, filled in, to correct
    assert f'value="{changes.get("email", FORM["email"])}"' in refused.text
    assert PASSWORD not in refused.text  # a password is never sent back
    assert stored(engine) == [] and "nok_session" not in c.cookies


def test_two_first_accounts_at_once_make_exactly_one(engine):
    """The race the form's «no account yet» check alone would lose: both see an empty table."""
    n = 6
    start = threading.Barrier(n)
    outcomes: list[str] = []

    def create(i: int) -> None:
        start.wait()
        try:
            accounts.add(engine, login=f"coord{i}", name=f"К{i}", email=f"c{i}@example.org", password=PASSWORD,
                         now=MOMENT, first=True)
            outcomes.append("created")
        except accounts.AlreadySetUp as exc:
            assert "уже создана" in exc.problems[0].message
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created"] + ["refused"] * (n - 1)
    assert len(stored(engine)) == 1


def test_two_forms_sent_at_once_make_exactly_one_account(engine, app_of):
    app = app_of(engine)
    clients = [browser_like(app) for _ in range(4)]
    start = threading.Barrier(len(clients))
    answers: list[tuple[int, str]] = []

    def send(i: int, c: TestClient) -> None:
        start.wait()
        r = post_form(c, login=f"coord{i}", email=f"c{i}@example.org")
        answers.append((r.status_code, r.headers.get("location", "")))

    threads = [threading.Thread(target=send, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [account] = stored(engine)
    # The one created signs in at the home page; every other is sent to sign-in.
    assert sorted(answers) == [(303, "/")] + [(303, "/login")] * 3
    assert sum("nok_session" in c.cookies for c in clients) == 1


# --- the walk in Chromium --------------------------------------------------------------------

@contextlib.contextmanager
def served(app):
    """The app on 127.0.0.1 by uvicorn in a thread: the browser's TCP peer is the loopback."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def fill(page, password: str, again: str) -> None:
    page.get_by_label("Логин").fill("uo")
    page.get_by_label("Имя").fill("Управление образования")
    page.get_by_label("Электронная почта").fill("uo@orenburg-raion.example.org")
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password2]").fill(again)
    page.get_by_role("button", name="Создать и войти").click()


# `nok serve` on an empty store loads the demo plan first: the page as it is met, and without.
@pytest.mark.parametrize(("width", "demo"), [(375, True), (1280, True), (375, False), (1280, False)])
def test_from_an_empty_store_to_the_upload_page_in_chromium(tmp_path, app_of, browser, width, demo):
    from playwright.sync_api import expect

    from nok_workflow.services.jobs.demo import make_demo
    from nok_workflow.settings import Settings
    from nok_workflow.store.db import connect

    SHOTS.mkdir(parents=True, exist_ok=True)
    name = f"{width}{'-demo' if demo else ''}"
    engine = connect(f"sqlite:///{tmp_path / 'nok.db'}")
    if demo:
        make_demo(engine, MOMENT, Settings(home=tmp_path / "home"))
    try:
        with served(app_of(engine)) as url:
            page = browser.new_page(viewport={"width": width, "height": 900}, locale="ru-RU")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            page.goto(url + "/")
            expect(page.get_by_role("heading", name="Как начать работу")).to_be_visible()
            page.screenshot(path=str(SHOTS / f"first-run-{name}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen
            # The browser's own checks stop a short password before anything is sent.
            fill(page, "короткий", "короткий")
            assert page.url == url + "/" and stored(engine) == []
            # The server's: two passwords that differ, said in Russian, the form kept.
            fill(page, PASSWORD, PASSWORD + "?")
            expect(page.get_by_role("alert")).to_contain_text("Пароли не совпадают")
            expect(page.get_by_label("Электронная почта")).to_have_value("uo@orenburg-raion.example.org")
            page.screenshot(path=str(SHOTS / f"first-run-mismatch-{name}.png"), full_page=True)
            problems.remove(f"422 {url}/first-run")  # that answer's status, as it should be
            fill(page, PASSWORD, PASSWORD)
            # Signed in, on the page that loads the coordinator's own plan.
            expect(page.get_by_role("status")).to_contain_text("Теперь загрузите свой план")
            expect(page.get_by_role("heading", name="Загрузить план")).to_be_visible()
            expect(page.locator('form[action="/plans/upload"] input[type=file][name=file]')).to_be_visible()
            expect(page.get_by_text("Управление образования")).to_be_visible()  # the header: who is signed in
            assert page.url == url + "/"
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(SHOTS / f"signed-in-{name}.png"), full_page=True)
            assert problems == []  # nothing refused (the Content-Security-Policy, a missing file)
            page.close()
            # Another browser on the same server now gets sign-in, not the form.
            fresh = browser.new_page(viewport={"width": width, "height": 900})
            fresh.goto(url + "/")
            assert fresh.url == url + "/login"
            expect(fresh.get_by_role("heading", name="Вход для координатора")).to_be_visible()
            fresh.close()
        assert [a.login for a in stored(engine)] == ["uo"]
    finally:
        engine.dispose()
