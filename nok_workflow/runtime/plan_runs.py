"""At most one running and one waiting run per plan, however many requests come: the
coalescing of `nok serve`'s plan runs, and the retry of a run that did not happen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


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
