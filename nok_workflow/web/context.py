"""What every page handler needs: the store, the settings, the signing key, the moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nok_workflow import clock
from nok_workflow.settings import Settings
from nok_workflow.store import Engine  # handed to the services; pages open no session


@dataclass
class WebContext:
    engine: Engine
    settings: Settings
    key: bytes  # signs upload links and the run endpoint's token (nok_workflow.tokens)
    # Asks for a run of a plan after new evidence: `nok serve` coalesces; elsewhere the
    # same call the CLI makes (runtime.orchestrate.trigger_plan). Returns what happened, in Russian.
    trigger: Callable[[str, dt.datetime | None], str]
    now_override: str | None = None  # `nok serve --now`: the whole app lives at that moment
    runtime: Callable[[], dict[str, Any]] = field(default=lambda: {})

    def now(self) -> dt.datetime:
        return clock.now(self.now_override)

    def simulated(self) -> dt.datetime | None:
        return clock.simulated(self.now_override)

    def run_plan(self, plan_id: str) -> str:
        """Ask for the plan's run after a change; what happened, as a sentence for a notice."""
        said = self.trigger(plan_id, self.simulated()).strip()
        return said[:1].upper() + said[1:] + ("" if said.endswith(".") else ".")
