"""Prefect's API for the flow runs of `nok serve`, in its own process on a thread."""

from __future__ import annotations

import os
import socket
import threading

from nok_workflow.problems import InputError, Problem
from nok_workflow.runtime.orchestrate import reason


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
                why = reason(failed[0]) if failed else "не запустился вовремя"
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
