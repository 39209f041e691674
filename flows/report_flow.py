"""The quarterly report flow: a plan's quarter summary as a Prefect artifact and a file."""

from __future__ import annotations

import re
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.engine import store_engine
from nok_workflow import clock
from nok_workflow.services.quarterly import as_markdown, parse_quarter, quarter_summary
from nok_workflow.settings import Settings


@flow(name="nok-quarterly-report", flow_run_name="{plan_id} {quarter}")
def quarterly_report_flow(plan_id: str, quarter: str | None = None, now: str | None = None) -> dict[str, Any]:
    """Summarise ``quarter`` (e.g. 2024-Q3; by default the quarter just ended)."""
    summary = quarter_summary(store_engine(), plan_id, parse_quarter(quarter) if quarter else None,
                              clock.now(now))
    text = as_markdown(summary)
    reports = Settings().home / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{plan_id}-{summary['quarter']}.md").write_text(text, encoding="utf-8")
    # Artifact keys are lowercase slugs with dashes only.
    key = re.sub(r"[^a-z0-9-]", "-", f"nok-{plan_id}-{summary['quarter']}".lower())
    create_markdown_artifact(key=key,
                             markdown=text, description=f"Отчёт за {summary['quarter']}")
    return summary
