"""`nok serve`: everything in one process — the web app and APScheduler running each plan's
flow at its local reminder hour, on SQLite and Prefect's local mode. Nothing else to start.

Only one `nok serve` per store: a file lock under NOK_HOME (SQLite) or a PostgreSQL
advisory lock. Ctrl-C / SIGTERM stop the web server, then wait for a running flow to end.
Prefect's local API runs in this process on a thread of its own (a child process would load
Prefect's ~180 MB a second time); nothing outlives us, even a SIGKILL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, select, text
from sqlmodel import Session

from nok_workflow.orchestration import OFFLINE_ENV, SWEEP_KEEPALIVE, failure_reason
from nok_workflow.problems import InputError, Problem
from nok_workflow.settings import Settings

__all__ = ["OFFLINE_ENV", "PlanRuns", "Runtime", "Ticket", "serve"]
_PG_LOCK_KEY = 0x6E6F6B5F  # "nok_": one `nok serve` per PostgreSQL store
# A plan run that Prefect could not create or finish (its client has already retried for
# about a minute) is tried again after these delays, in seconds, then kept on the plan.
RUN_RETRY_DELAYS = (10.0, 60.0, 300.0)
log = logging.getLogger("nok")


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


class Ticket:
    """A requester's hold on the run that will include its request: `wait` gives that run's
    outcome (or raises what it raised)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._outcome: Any = None
        self._error: BaseException | None = None

    def resolve(self, outcome: Any = None, error: BaseException | None = None) -> None:
        self._outcome, self._error = outcome, error
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def outcome(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._outcome


STOPPING = "nok serve останавливается: план выполнится при следующем запуске"


class PlanRuns:
    """At most one running and one waiting run per plan, however many requests come.

    A request while a run waits adds nothing (the waiting run has not started: it will see
    the new evidence); a request while a run is running makes the one waiting run, which
    starts when that run ends. So a burst of uploads gives at most two runs, and the last
    upload is always seen by a run that started after it. A request with a ticket learns
    the outcome of the run that includes it (a sweep waits for its plans).

    A run that raises did not happen as far as anyone can tell (Prefect could not create or
    finish it: its API refused, its database stayed locked through its client's retries).
    It waits again and starts after the next of `retry_delays`; `report` is told of each
    failure, with the delay or None when no attempt is left — then its tickets get the error.
    """

    def __init__(self, submit: Callable[[Callable[[], None]], None],
                 run: Callable[[str, str | None, bool], Any], *,
                 submit_later: Callable[[Callable[[], None], float], None] | None = None,
                 retry_delays: tuple[float, ...] = (),
                 report: Callable[[str, BaseException, float | None], None] | None = None) -> None:
        self._submit, self._run = submit, run
        self._submit_later = submit_later or (lambda start, _delay: submit(start))
        self._delays, self._report = retry_delays, report or (lambda *_: None)
        self._lock = threading.Lock()
        self._running: set[str] = set()
        # plan → [the simulated moment asked for (None: the clock), allow_past, tickets, attempts failed]
        self._waiting: dict[str, list] = {}
        self._closed = False

    def close(self) -> None:
        """Stopping: runs not started yet are dropped (the store keeps what they would read;
        the next start runs every plan), running ones finish."""
        with self._lock:
            self._closed = True
            dropped = [t for _, _, tickets, _ in self._waiting.values() for t in tickets]
            self._waiting.clear()
        for ticket in dropped:
            ticket.resolve(error=RuntimeError(STOPPING))

    def request(self, plan_id: str, now: str | None = None, allow_past: bool = False,
                ticket: Ticket | None = None) -> str:
        """Ask for a run; says in Russian what happened to the request."""
        tickets = [ticket] if ticket else []
        with self._lock:
            if self._closed:
                if ticket:
                    ticket.resolve(error=RuntimeError(STOPPING))
                return STOPPING
            if plan_id in self._waiting:
                waiting = self._waiting[plan_id]
                if now:  # the moment asked for last wins, with its own allow_past
                    waiting[:2] = now, allow_past
                waiting[2] += tickets
                return "запуск плана уже ждёт очереди — он учтёт и этот документ"
            self._waiting[plan_id] = [now, allow_past, tickets, 0]
            if plan_id in self._running:
                return "план сейчас выполняется; следующий запуск начнётся сразу после него"
        self._submit(lambda: self._start(plan_id))
        return "запуск плана поставлен в очередь"

    def _start(self, plan_id: str) -> None:
        with self._lock:
            if plan_id in self._running or plan_id not in self._waiting:
                return  # the running one will start the waiting one when it ends
            now, allow_past, tickets, failed = self._waiting.pop(plan_id)
            self._running.add(plan_id)
        retry_in = None
        try:
            outcome = self._run(plan_id, now, allow_past)
        except Exception as exc:  # noqa: BLE001 - the run did not happen: tried again, then told
            retry_in = self._again(plan_id, now, allow_past, tickets, failed, exc)
        except BaseException as exc:  # the process is stopping: nobody may wait for this run
            for ticket in tickets:
                ticket.resolve(error=exc)
            raise
        else:
            for ticket in tickets:
                ticket.resolve(outcome)
        finally:
            with self._lock:
                self._running.discard(plan_id)
                again = plan_id in self._waiting
            if retry_in is not None:
                self._submit_later(lambda: self._start(plan_id), retry_in)
            elif again:
                self._submit(lambda: self._start(plan_id))

    def _again(self, plan_id: str, now: str | None, allow_past: bool, tickets: list, failed: int,
               exc: Exception) -> float | None:
        """After a run that raised: its delay before the next attempt, or None when none is left
        (its tickets then learn the error)."""
        with self._lock:
            delay = self._delays[failed] if failed < len(self._delays) and not self._closed else None
            if delay is not None:
                waiting = self._waiting.setdefault(plan_id, [now, allow_past, [], failed + 1])
                waiting[2][:0] = tickets  # a request made meanwhile joins the retry
                waiting[3] = failed + 1
        self._report(plan_id, exc, delay)
        if delay is None:
            for ticket in tickets:
                ticket.resolve(error=exc)
        return delay


class Runtime:
    """The scheduler and the runs it makes; the web app reads its state."""

    def __init__(self, engine: Engine, now: str | None = None,
                 retry_delays: tuple[float, ...] = RUN_RETRY_DELAYS) -> None:
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
        self.plans = PlanRuns(lambda start: self.scheduler.add_job(start), self.run_plan,
                              submit_later=self._start_later, retry_delays=retry_delays, report=self._not_run)

    def _start_later(self, start: Callable[[], None], delay: float) -> None:
        self.scheduler.add_job(start, "date", run_date=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay))

    def run_plan(self, plan_id: str, now: str | None = None, allow_past: bool = False) -> Any:
        """One run of the plan's flow; its final Prefect state. A run that failed is kept on
        the plan (its page says so) until one goes through; one that raised is PlanRuns'."""
        from flows.plan_flow import plan_flow

        state = plan_flow(plan_id=plan_id, now=now or self.now, allow_past=allow_past, return_state=True)
        ok = state.is_completed()
        self._finished(plan_id, state.name, None if ok else f"проход плана завершился ошибкой: {_why(state)}")
        _release_memory()
        return state

    def _not_run(self, plan_id: str, exc: BaseException, retry_in: float | None) -> None:
        """A run Prefect could not create or finish: said in the serve's output, and once no
        attempt is left, counted and kept on the plan instead of lost."""
        reason = failure_reason(exc)
        if retry_in is not None:
            log.warning("план %s: Prefect не выполнил проход (%s); повтор через %d с", plan_id, reason, retry_in)
            return
        log.error("план %s: проход не выполнен и после повторов (%s); следующий — по расписанию", plan_id, reason)
        self._finished(plan_id, "не выполнен", f"проход плана не выполнен: Prefect не ответил ({reason})")

    def _finished(self, plan_id: str, outcome: str, problem: str | None) -> None:
        from nok_workflow import clock
        from nok_workflow.services.health import save_run

        moment = dt.datetime.now(dt.UTC)
        with self._lock:
            self.runs += 1
            self.failures += int(problem is not None)
            self.last_run = f"{plan_id}: {outcome} ({moment:%Y-%m-%d %H:%M} UTC)"
        try:
            save_run(self.engine, plan_id, problem, clock.now(self.now))
        except Exception as exc:  # noqa: BLE001 - the store itself failing: the output still says it
            log.error("план %s: состояние прохода не записано (%s)", plan_id, failure_reason(exc))

    def dispatch(self, now: str | None = None) -> Any:
        from flows.dispatch_flow import dispatch_flow

        # A failed run (SMTP down) is in the store's health.
        state = dispatch_flow(now=now or self.now, return_state=True)
        _release_memory()
        return state

    def run_now(self, plan_id: str, now: str | None = None) -> str:
        return self.plans.request(plan_id, now)

    def sweep(self, plan_ids: list[str], now: str, allow_past: bool) -> Iterator[str]:
        """`nok sweep` handed over by the CLI (POST /api/sweep): each plan's run — the one
        that includes this request, coalesced with any other — then the dispatch, as lines
        of JSON; a blank line every few seconds while a run goes on keeps the caller sure
        we are alive. The caller checked the plans and the day (orchestration.sweep_targets)."""
        yield json.dumps({"plans": plan_ids}) + "\n"
        tickets = []
        for plan_id in plan_ids:
            tickets.append(Ticket())
            self.plans.request(plan_id, now, allow_past, tickets[-1])
        for plan_id, ticket in zip(plan_ids, tickets, strict=True):
            while not ticket.wait(SWEEP_KEEPALIVE):
                yield "\n"
            try:
                state = ticket.outcome()
                ok = state.is_completed()
                why = "" if ok else _why(state)
            except Exception as exc:  # noqa: BLE001 - reported to the caller as the plan's failure
                ok, why = False, failure_reason(exc)
            yield json.dumps({"plan": plan_id, "ok": ok, "why": why}, ensure_ascii=False) + "\n"
        done = threading.Event()
        result: list[Any] = []

        def dispatch() -> None:
            try:
                result.append(self.dispatch(now))
            except Exception as exc:  # noqa: BLE001 - the caller says why the dispatch failed
                result.append(exc)
            finally:
                done.set()

        threading.Thread(target=dispatch, name="nok-sweep-dispatch", daemon=True).start()
        while not done.wait(SWEEP_KEEPALIVE):
            yield "\n"
        state = result[0]
        if isinstance(state, Exception):
            answer = {"problem": failure_reason(state)}
        elif state.is_completed():
            answer = {"dispatch": state.result()}
        else:
            answer = {"problem": state.message or state.name}
        yield json.dumps(answer, ensure_ascii=False) + "\n"

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


class LocalAPI:
    """Prefect's API for our flow runs (what its ephemeral mode would start as a child on
    the first run), served here on a thread of its own: the child was a second Python with
    Prefect's modules loaded again (~180 MB); here its server adds ~50 MB to modules that
    the flows load anyway. It goes with the process, whatever ends it.

    Started up front also because Prefect's own lazy start is not thread-safe: two first
    runs at once started two servers on one port.
    """

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))  # bound now, served later: no race for the port
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/api"
        # Prefect reads its settings from the environment once, when first imported.
        os.environ.update({"PREFECT_API_URL": self.url, "PREFECT_UI_ENABLED": "false"})
        import sys

        if "prefect.context" in sys.modules:
            sys.modules["prefect.context"].refresh_global_settings_context()
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 120) -> str:
        import time

        import uvicorn
        from prefect.server.api.server import create_app

        _no_heartbeats()
        app = create_app(ephemeral=True, final=True)  # no UI; only the services runs need
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
        failed: list[BaseException] = []

        def run() -> None:
            try:
                self._server.run(sockets=[self._socket])
            except BaseException as exc:  # noqa: BLE001 - told to the starting thread
                failed.append(exc)

        self._thread = threading.Thread(target=run, name="prefect-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                why = _reason(failed[0]) if failed else "не запустился вовремя"
                raise InputError([Problem("nok serve", 0, 0, f"локальный API Prefect не запущен: {why}")])
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        """After the last run: its events and logs are sent first (Prefect would try at exit,
        to a server gone by then, and wait ~20 s for nothing)."""
        if self._server is not None and self._thread is not None:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            EventsWorker.drain_all(timeout=10)
            APILogWorker.drain_all(timeout=10)
            self._server.should_exit = True
            self._thread.join(15)
        self._socket.close()


def _no_heartbeats() -> None:
    """Flow runs here send no heartbeats. They serve a server's detection of crashed runs,
    which nothing here does (a crash takes the API with it); and a sync flow waits up to a
    second at its end for the heartbeat thread's sleep — most of a small run's time. None
    cannot be said in the environment (Prefect refuses a value under 30), so the process's
    settings are replaced: threads without a settings context of their own (the
    scheduler's, the web server's) read these."""
    import prefect.context
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    root = prefect.context.GLOBAL_SETTINGS_CONTEXT
    prefect.context.GLOBAL_SETTINGS_CONTEXT = root.model_copy(update={"settings": root.settings.copy_with_update(
        updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})})


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _why(state) -> str:  # noqa: ANN001 - a Prefect State
    """A failed run's reason as the person needs it: a user's mistake as its own message."""
    error = state.result(raise_on_failure=False)
    if isinstance(error, InputError):
        return "; ".join(p.message for p in error.problems)
    return state.message or state.name


def _few_arenas() -> None:
    """Two malloc arenas, not eight per core: runs, the web server and Prefect's API each
    work on threads of their own, and every arena keeps the peak of what its threads freed.
    Before any thread starts."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX


def _release_memory() -> None:
    """Hand the heap a finished run freed back to the system: glibc keeps it otherwise, and
    a region's run would leave tens of MB resident for nothing."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def serve(settings: Settings, engine: Engine, *, host: str, port: int, now: str | None,
          announce) -> None:  # noqa: ANN001 - a print function
    import uvicorn

    from nok_workflow import clock, tokens
    from nok_workflow.web.app import create_app
    from nok_workflow.web.context import WebContext

    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    _few_arenas()
    _check_port(host, port)
    _check_exposure(engine, host)
    key = tokens.secret(settings.home)
    with single_instance(settings, engine):
        demo = load_demo(engine, settings, clock.now(now))
        if demo:
            announce(f"Хранилище было пустым: загружен демо-план {demo[0]} ({demo[1]}) — письма демо-плана "
                     f"остаются в папке {settings.outbox_dir}; свой план: nok plan load файл.yaml")
        local_api = LocalAPI()
        announce(f"Локальный API Prefect: {local_api.start()}")
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
        app.state.sweep = runtime.sweep  # POST /api/sweep (web/api.py): `nok sweep` handed over
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
            runtime.scheduler.shutdown(wait=True)  # a retry waiting for its delay is dropped
            local_api.stop()
            with contextlib.suppress(FileNotFoundError):
                info_path.unlink()
            announce("nok serve остановлен")
