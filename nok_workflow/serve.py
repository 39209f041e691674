"""`nok serve`: everything in one process — the web app and APScheduler running each plan's
flow at its local reminder hour, on SQLite and Prefect's local mode. Nothing else to start.

Only one `nok serve` per store: a file lock under NOK_HOME (SQLite) or a PostgreSQL
advisory lock. Ctrl-C / SIGTERM stop the web server, then wait for a running flow to end.
Prefect's local API runs as our child process and dies with us, even on SIGKILL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, select, text
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.settings import Settings

# Prefect talks to nobody outside this machine in embedded mode.
OFFLINE_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
               "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false"}
_PG_LOCK_KEY = 0x6E6F6B5F  # "nok_": one `nok serve` per PostgreSQL store


@contextlib.contextmanager
def single_instance(settings: Settings, engine: Engine) -> Iterator[None]:
    if settings.embedded:
        settings.home.mkdir(parents=True, exist_ok=True)
        handle = open(settings.home / "serve.lock", "a+")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise _already_running(settings) from None
        try:
            yield
        finally:
            handle.close()
        return
    with engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY}).scalar():
            raise _already_running(settings)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})


def _already_running(settings: Settings) -> InputError:
    info = ""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((settings.home / "serve.json").read_text(encoding="utf-8"))
        info = f" (pid {data['pid']}, {data['url']})"
    return InputError([Problem("nok serve", 0, 0, f"для этого хранилища nok serve уже запущен{info}; "
                                                  "второй экземпляр не нужен")])


class PlanRuns:
    """At most one running and one waiting run per plan, however many requests come.

    A request while a run waits adds nothing (the waiting run has not started: it will see
    the new evidence); a request while a run is running makes the one waiting run, which
    starts when that run ends. So a burst of uploads gives at most two runs, and the last
    upload is always seen by a run that started after it.
    """

    def __init__(self, submit: Callable[[Callable[[], None]], None], run: Callable[[str, str | None], None]) -> None:
        self._submit, self._run = submit, run
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._waiting: dict[str, str | None] = {}  # plan → the simulated moment asked for, if any
        self._closed = False

    def close(self) -> None:
        """Stopping: runs not started yet are dropped (the store keeps what they would read;
        the next start runs every plan), running ones finish."""
        with self._lock:
            self._closed = True
            self._waiting.clear()

    def request(self, plan_id: str, now: str | None = None) -> str:
        """Ask for a run; says in Russian what happened to the request."""
        with self._lock:
            if self._closed:
                return "nok serve останавливается: план выполнится при следующем запуске"
            if plan_id in self._waiting:
                self._waiting[plan_id] = now or self._waiting[plan_id]
                return "запуск плана уже ждёт очереди — он учтёт и этот документ"
            self._waiting[plan_id] = now
            if plan_id in self._running:
                return "план сейчас выполняется; следующий запуск начнётся сразу после него"
        self._submit(lambda: self._start(plan_id))
        return "запуск плана поставлен в очередь"

    def _start(self, plan_id: str) -> None:
        with self._lock:
            if plan_id in self._running or plan_id not in self._waiting:
                return  # the running one will start the waiting one when it ends
            now = self._waiting.pop(plan_id)
            self._running.add(plan_id)
        try:
            self._run(plan_id, now)
        finally:
            with self._lock:
                self._running.discard(plan_id)
                again = plan_id in self._waiting
            if again:
                self._submit(lambda: self._start(plan_id))


class Runtime:
    """The scheduler and the runs it makes; the web app reads its state."""

    def __init__(self, engine: Engine, now: str | None = None) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.engine = engine
        self.now = now
        self.scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(2)}, timezone="UTC",
                                             job_defaults={"coalesce": True, "max_instances": 1,
                                                           "misfire_grace_time": 3600})
        self.last_run: str | None = None
        self.runs = 0
        self.failures = 0
        self._lock = threading.Lock()
        # Each submitted start is its own one-off job (no id): APScheduler's max_instances
        # would otherwise drop a start while another is running; PlanRuns does the limiting.
        self.plans = PlanRuns(lambda start: self.scheduler.add_job(start), self.run_plan)

    def run_plan(self, plan_id: str, now: str | None = None) -> None:
        from flows.plan_flow import plan_flow

        state = plan_flow(plan_id=plan_id, now=now or self.now, return_state=True)
        with self._lock:
            self.runs += 1
            self.failures += int(not state.is_completed())
            self.last_run = f"{plan_id}: {state.name} ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)"

    def dispatch(self) -> None:
        from flows.dispatch_flow import dispatch_flow

        dispatch_flow(now=self.now, return_state=True)  # a failed run (SMTP down) is in the store's health

    def run_now(self, plan_id: str, now: str | None = None) -> str:
        return self.plans.request(plan_id, now)

    def sync_jobs(self) -> None:
        """A daily job per loaded plan at its local reminder hour (plans loaded later too).

        A plan seen for the first time — every plan when the server starts — is also run at
        once: a server that was down at the plan's hour must not skip that day's reminders,
        and the status page must not show the state of the last run before the restart. A
        second run on the same day queues nothing twice (the outbox keys carry the day), and
        messages still wait for the plan's hour.
        """
        from apscheduler.triggers.cron import CronTrigger

        from nok_workflow.store.models import Plan

        with Session(self.engine) as session:
            plans = session.execute(select(Plan.id, Plan.timezone, Plan.reminder_hour)).all()
        wanted = {f"daily:{p.id}" for p in plans}
        scheduled = {job.id: job for job in self.scheduler.get_jobs() if job.id.startswith("daily:")}
        for job_id, job in scheduled.items():
            if job_id not in wanted:
                job.remove()
        for plan_id, timezone, hour in plans:
            if f"daily:{plan_id}" not in scheduled:
                self.run_now(plan_id)
            self.scheduler.add_job(self.run_now, CronTrigger(hour=hour, minute=0, timezone=timezone),
                                   args=[plan_id], id=f"daily:{plan_id}", replace_existing=True)

    def state(self) -> dict[str, Any]:
        next_runs = {job.id.split(":", 1)[1]: f"{job.next_run_time:%Y-%m-%d %H:%M %Z}"
                     for job in self.scheduler.get_jobs() if job.id.startswith("daily:") and job.next_run_time}
        with self._lock:
            return {"runs": self.runs, "failures": self.failures, "last_run": self.last_run,
                    "next_runs": next_runs}


def _check_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError([Problem("nok serve", 0, 0, f"адрес {host}:{port} недоступен ({exc.strerror}); "
                                                         "укажите другой --port")]) from None


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _check_exposure(engine: Engine, host: str) -> None:
    """Pages open to the network with nobody able to sign in would show every plan's
    executors' links to no one — and the coordinator's pages to no one either: refused."""
    from nok_workflow.services.accounts import any_account

    if host not in LOOPBACK and not any_account(engine):
        raise InputError([Problem("--host", 0, 0, (
            f"--host {host} открывает страницы всей сети, а учётной записи координатора нет: "
            "создайте её (nok user add <логин> --name «Имя» --email адрес, пароль — nok user password) "
            "или запустите на 127.0.0.1"))])


def load_demo(engine: Engine, settings: Settings, now: dt.datetime) -> tuple[str, str] | None:
    """On a store with no plans, the demo plan (services/demo.py): its id and title."""
    from nok_workflow.services.demo import make_demo
    from nok_workflow.store.models import Plan

    with Session(engine) as session:
        if session.execute(select(Plan.id).limit(1)).first() is not None:
            return None
    plan_id = make_demo(engine, now, settings)
    with Session(engine) as session:
        return plan_id, session.get(Plan, plan_id).title


def start_local_api() -> str:
    """Start Prefect's local API (what its ephemeral mode starts on the first flow run) now,
    once, as a child that gets SIGTERM when we die — even by SIGKILL, which runs none of our
    cleanup (prctl PR_SET_PDEATHSIG). Prefect then reuses this server for every run.

    Started up front also because Prefect's own lazy start is not thread-safe: two first
    runs at once started two servers on one port.

    PR_SET_PDEATHSIG fires when the thread that forked the child ends: this runs on the
    main thread, which lives as long as the process.
    """
    import ctypes
    import functools
    import subprocess
    import types

    import prefect.server.api.server as server_module

    libc = ctypes.CDLL(None, use_errno=True)

    def die_with_parent() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    # Prefect builds the command itself; only its Popen gets the hook. Its own session: a
    # Ctrl-C in the terminal (SIGINT to the whole foreground group) must not take the API
    # away from the runs still finishing; our shutdown stops it (Prefect's atexit hook).
    tied = types.SimpleNamespace(**{k: getattr(subprocess, k) for k in dir(subprocess) if not k.startswith("__")})
    tied.Popen = functools.partial(subprocess.Popen, preexec_fn=die_with_parent, start_new_session=True)
    server_module.subprocess = tied
    server = server_module.SubprocessASGIServer()
    server.start()
    return server.api_url


def serve(settings: Settings, engine: Engine, *, host: str, port: int, now: str | None,
          announce) -> None:  # noqa: ANN001 - a print function
    import uvicorn

    from nok_workflow import clock, tokens
    from nok_workflow.web.app import create_app
    from nok_workflow.web.context import WebContext

    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    _check_port(host, port)
    _check_exposure(engine, host)
    key = tokens.secret(settings.home)
    with single_instance(settings, engine):
        demo = load_demo(engine, settings, clock.now(now))
        if demo:
            announce(f"Хранилище было пустым: загружен демо-план {demo[0]} ({demo[1]}) — письма демо-плана "
                     f"остаются в папке {settings.outbox_dir}; свой план: nok plan load файл.yaml")
        api_url = start_local_api()
        announce(f"Локальный API Prefect: {api_url}")
        runtime = Runtime(engine, now)
        runtime.sync_jobs()
        runtime.scheduler.add_job(runtime.sync_jobs, "interval", minutes=1, id="sync")
        # Digests go out shortly after the plans' runs at their hour; failed sends are retried.
        runtime.scheduler.add_job(runtime.dispatch, "interval", minutes=10, id="dispatch")
        runtime.scheduler.start()
        # A wildcard address is no address to open: this machine reaches it on loopback.
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
        info_path = settings.home / "serve.json"
        info_path.parent.mkdir(parents=True, exist_ok=True)
        info_path.write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")
        announce(f"nok serve: {url} (Ctrl-C — остановить)")
        for plan_id, next_run in sorted(runtime.state()["next_runs"].items()):
            announce(f"  {plan_id}: следующий запуск {next_run}")
        announce(f"Страницы отвечают на имена: {', '.join(sorted(settings.hosts()))} (NOK_ALLOWED_HOSTS)")
        app = create_app(WebContext(engine, settings, key, now_override=now, runtime=runtime.state,
                                    trigger=lambda plan_id, moment: runtime.run_now(
                                        plan_id, moment.isoformat() if moment else None)))
        # uvicorn stops on SIGINT/SIGTERM and then re-raises the signal to the handler that
        # was there before it: with Python's defaults that would kill us before the cleanup
        # below. These handlers let the re-raised signal pass, so the cleanup runs.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: None)
        try:
            uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
        finally:
            announce("Остановка: ждём завершения текущего запуска…")
            runtime.plans.close()
            runtime.scheduler.shutdown(wait=True)
            with contextlib.suppress(FileNotFoundError):
                info_path.unlink()
            announce("nok serve остановлен")
