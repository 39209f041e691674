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
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.runtime.lock import single_instance
from nok_workflow.runtime.memory import few_arenas, release_memory
from nok_workflow.runtime.orchestrate import OFFLINE_ENV, SWEEP_KEEPALIVE, failure_reason, why
from nok_workflow.runtime.plan_runs import PlanRuns, Ticket
from nok_workflow.services.jobs.plan_run import RETRY
from nok_workflow.settings import Settings

log = logging.getLogger("nok")


class Runtime:
    """The scheduler and the runs it makes; the web app reads its state."""

    def __init__(self, engine: Engine, now: str | None = None,
                 retry_delays: tuple[float, ...] = RETRY.run_delays) -> None:
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
        from nok_workflow.runtime.flows import plan_flow

        state = plan_flow(plan_id=plan_id, now=now or self.now, allow_past=allow_past, return_state=True)
        ok = state.is_completed()
        self._finished(plan_id, state.name, None if ok else f"проход плана завершился ошибкой: {why(state)}")
        release_memory()
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
        from nok_workflow.services.read.health import save_run

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
        from nok_workflow.runtime.flows import dispatch_flow

        # A failed run (SMTP down) is in the store's health.
        state = dispatch_flow(now=now or self.now, return_state=True)
        release_memory()
        return state

    def run_now(self, plan_id: str, now: str | None = None) -> str:
        return self.plans.request(plan_id, now)

    def sweep(self, plan_ids: list[str], now: str, allow_past: bool) -> Iterator[str]:
        """`nok sweep` handed over by the CLI (POST /api/sweep): each plan's run — the one
        that includes this request, coalesced with any other — then the dispatch, as lines
        of JSON; a blank line every few seconds while a run goes on keeps the caller sure
        we are alive. The caller checked the plans and the day (plan_run.targets)."""
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
                because = "" if ok else why(state)
            except Exception as exc:  # noqa: BLE001 - reported to the caller as the plan's failure
                ok, because = False, failure_reason(exc)
            yield json.dumps({"plan": plan_id, "ok": ok, "why": because}, ensure_ascii=False) + "\n"
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
    from nok_workflow.services.commands.accounts import any_account

    if host not in LOOPBACK and not any_account(engine):
        raise InputError([Problem("--host", 0, 0, (
            f"--host {host} открывает страницы всей сети, а учётной записи координатора нет: "
            "создайте её (nok user add <логин> --name «Имя» --email адрес, пароль — nok user password) "
            "или запустите на 127.0.0.1"))])


def load_demo(engine: Engine, settings: Settings, now: dt.datetime) -> tuple[str, str] | None:
    """On a store with no plans, the demo plan (services/jobs/demo.py): its id and title."""
    from nok_workflow.services.jobs.demo import make_demo
    from nok_workflow.store.models import Plan

    with Session(engine) as session:
        if session.execute(select(Plan.id).limit(1)).first() is not None:
            return None
    plan_id = make_demo(engine, now, settings)
    with Session(engine) as session:
        return plan_id, session.get(Plan, plan_id).title


def serve(settings: Settings, engine: Engine, *, host: str, port: int, now: str | None,
          announce) -> None:  # noqa: ANN001 - a print function
    import uvicorn

    from nok_workflow import clock, tokens
    from nok_workflow.web.app import create_app
    from nok_workflow.web.context import WebContext

    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    few_arenas()
    _check_port(host, port)
    _check_exposure(engine, host)
    key = tokens.secret(settings.home)
    with single_instance(settings, engine):
        demo = load_demo(engine, settings, clock.now(now))
        if demo:
            announce(f"Хранилище было пустым: загружен демо-план {demo[0]} ({demo[1]}) — письма демо-плана "
                     f"остаются в папке {settings.outbox_dir}; свой план: nok plan load файл.yaml")
        from nok_workflow.runtime.local_api import LocalAPI

        local_api = LocalAPI()
        announce(f"Локальный API Prefect: {local_api.start()}")
        runtime = Runtime(engine, now)
        runtime.sync_jobs()
        runtime.scheduler.add_job(runtime.sync_jobs, "interval", minutes=1, id="sync")
        # Digests go out shortly after the plans' runs at their hour; failed sends are retried.
        runtime.scheduler.add_job(runtime.dispatch, "interval", minutes=10, id="dispatch")
        runtime.scheduler.start()
        from nok_workflow.runtime.bot_polling import BotPolling

        bots = BotPolling.start(settings, engine, now)  # the messengers' bots: /start and /stop
        for poller in bots.pollers:
            announce(f"Бот {poller.label}: опрос запущен ({poller.config.api_url})")
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
            bots.stop()
            runtime.plans.close()
            runtime.scheduler.shutdown(wait=True)  # a retry waiting for its delay is dropped
            local_api.stop()
            with contextlib.suppress(FileNotFoundError):
                info_path.unlink()
            announce("nok serve остановлен")
