"""Shared fixtures and the hooks of the run only; the helpers the tests share are in tests/support/.

The suite runs on pytest-xdist workers (docs/testing.md): what is expensive to start is made
once per worker — Prefect's test harness, Chromium, the migrated PostgreSQL template, the
LibreOffice profile — and the tests that need the harness all go to one worker.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.postgres import postgres_database, postgres_or_skip
from tests.support.web import NOW, make_app


# --- the worker process --------------------------------------------------------------------

_PREFECT_HOME: list[str] = []


def pytest_configure(config):
    """Each pytest process (each xdist worker) gets a PREFECT_HOME of its own, before any test
    module imports Prefect: the Prefect API that `nok serve` runs inside itself keeps its
    SQLite database there, and two workers' servers on one file would lock each other out.

    The project's modules are compiled once, up front (by the process that starts the
    workers): the suite starts over a thousand `nok` processes, and where PYTHONDONTWRITEBYTECODE is
    set each of them would compile the sources again (~0.15 s of CPU apiece). For the same
    reason pytest keeps the test modules it rewrites (else each worker rewrites them all)."""
    home = tempfile.mkdtemp(prefix=f"nok-tests-prefect-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
    os.environ["PREFECT_HOME"] = home
    _PREFECT_HOME.append(home)
    sys.dont_write_bytecode = False
    config.pluginmanager.register(_GroupsInNodeIds(), "nok-xdist-groups")
    if "PYTEST_XDIST_WORKER" not in os.environ:
        import compileall

        from tests.support.paths import ROOT

        for package in ("nok_workflow", "flows", "notifiers", "benchmarks"):
            compileall.compile_dir(ROOT / package, quiet=1)


def pytest_unconfigure(config):
    for home in _PREFECT_HOME:
        shutil.rmtree(home, ignore_errors=True)


class _GroupsInNodeIds:
    """pytest-xdist 3.8 names an `xdist_group` test's group in its node id («…@group»), which
    is how --dist loadgroup sends the group to one worker; since pytest 9.2 the node id lives
    elsewhere (Node._id) and xdist's renaming has no effect, so every worker got harness tests
    (and started its own harness). This renames where xdist did not."""

    @pytest.hookimpl(trylast=True)  # after xdist's own attempt
    def pytest_collection_modifyitems(self, config, items):
        if not getattr(config.option, "loadgroup", False):
            return
        from _pytest.nodeid import NodeId

        for item in items:
            groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                             for m in item.iter_markers("xdist_group")})
            if groups and "@" not in item.nodeid:
                item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


# The modules of the longest single tests (docs/testing.md), handed out first, longest first.
LONGEST = ("test_scale_out.py", "test_benchmarks.py", "test_web_e2e.py", "test_scale_serve.py", "test_report_issue.py",
           "test_readme.py", "test_serve.py")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(config, items):
    """Every test of Prefect's harness goes to one worker (one harness, ~20 s to start, for all
    of them); so do the tests of one Chromium. Then the slow tests come first, so that the
    long ones do not start last and hold the run up alone (xdist hands tests out in order)."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "harness" in names:
            item.add_marker(pytest.mark.xdist_group("prefect-harness"))
        elif "browser" in names:
            item.add_marker(pytest.mark.xdist_group("chromium"))

    def order(item) -> tuple[bool, int]:  # stable sort: else as collected
        module = item.path.name
        return item.get_closest_marker("slow") is None, LONGEST.index(module) if module in LONGEST else len(LONGEST)

    items.sort(key=order)


@pytest.fixture(autouse=True)
def _cpu_first_for_timed_tests(request):
    """A test marked `timing` asserts a bound on wall time: it (and the processes it starts)
    gets the CPU before the other workers' tests, as when it ran alone. Raising a priority
    needs root (CI's case); elsewhere the test runs as it is."""
    if request.node.get_closest_marker("timing") is None:
        yield
        return
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, before - 10)
    except PermissionError:
        yield
        return
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes():
    """Passwords hashed in the test process use argon2's cheapest parameters: with the
    product's (t=3, m=64 MiB, p=4) each hash costs ~0.2 s of CPU, ~25 s for the quick set.
    The `nok` processes the tests start hash as the product does, and
    test_nok_user_add_password_and_list checks the parameters of what they store."""
    from argon2 import PasswordHasher, profiles

    from nok_workflow.services.commands import accounts

    product, accounts._HASHER = accounts._HASHER, PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    accounts._HASHER = product


@pytest.fixture
def write_plan(tmp_path: Path):
    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def harness():
    """Prefect's own test harness, one for the whole session (~20 s to start): a second one
    started inside it would get no task runs (Prefect's events client stays with the first)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


# --- the store, on SQLite and on the machine's PostgreSQL ---------------------------------

@pytest.fixture(scope="session")
def pg_template():
    """A migrated template database: each worker's store database is a copy of it."""
    from nok_workflow.store.db import make_engine, upgrade

    admin = postgres_or_skip()
    with postgres_database(admin, "nok_tmpl") as (name, url):
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield admin, name
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite store, made once per worker; each test gets a copy of the file."""
    from nok_workflow.store.db import connect

    path = tmp_path_factory.mktemp("sqlite-template") / "nok.db"
    connect(f"sqlite:///{path}").dispose()  # the last connection folds the WAL into the file
    assert not path.with_name("nok.db-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_worker_store(pg_template):
    """One migrated PostgreSQL database per worker, emptied before each test that uses it.

    A copy of the template per test cost ~0.25 s of CPU (CREATE and DROP DATABASE) for each of
    200 tests of the quick set; emptying costs ~10 ms. Emptying leaves what a fresh copy has:
    the rows the migrations wrote (put back), sequences that start again at 1, and nobody
    still connected (a server a test started is cut off, as DROP … WITH (FORCE) did)."""
    from tests.support.postgres import empty_store, store_tables

    admin, template = pg_template
    with postgres_database(admin, "nok_test", template) as (name, url):
        tables, sequences, seeded = store_tables(url)
        yield lambda: empty_store(admin, name, url, tables, sequences, seeded)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "nok.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    yield request.getfixturevalue("pg_worker_store")()


@pytest.fixture
def engine(db_url):
    from nok_workflow.store.db import connect

    engine = connect(db_url)
    yield engine
    engine.dispose()


# --- Chromium, LibreOffice -------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium():
    """One Chromium per worker (Playwright's sync API), for the tests through `browser`.

    Between its calls, Playwright's sync API marks its event loop as the thread's running
    loop, and asyncio.run() then refuses to start (the mail dispatch uses it). So the loop
    is marked only while a page test runs, as it would be inside `with sync_playwright()`."""
    import asyncio

    from tests.support.browser import CHROMIUM, LAUNCH_ARGS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} не найден: установите Chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        loop = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(None)
        try:
            yield launched, loop
        finally:
            asyncio.events._set_running_loop(loop)
            launched.close()


@pytest.fixture
def browser(chromium):
    """The worker's Chromium; each test opens contexts (or pages) of its own, closed after it."""
    import asyncio

    launched, loop = chromium
    asyncio.events._set_running_loop(loop)
    try:
        yield launched
        for context in launched.contexts:
            context.close()
    finally:
        asyncio.events._set_running_loop(None)


@pytest.fixture(scope="session")
def office_profile(tmp_path_factory) -> Path:
    """The worker's LibreOffice user profile: made by its first conversion, reused by the next
    (a profile is not shared between workers: two soffice on one profile fail)."""
    return tmp_path_factory.mktemp("lo-profile")


# --- the web app, mail -----------------------------------------------------------------------

@pytest.fixture
def app_of(tmp_path):
    """`app_of(engine, now=..., **settings)`: the app over `engine`, NOK_HOME in tmp_path;
    `app.state.calls` lists each (plan, simulated moment) the app asked to run."""

    def make(engine, now: str = NOW, **settings):
        return make_app(tmp_path / "home", engine, now, **settings)

    return make


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free port: (its Handler, the port)."""
    from aiosmtpd.controller import Controller

    from tests.support.mail import Handler
    from tests.support.serve import free_port

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()
