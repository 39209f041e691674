"""The quarterly report flow: a plan's report for a quarter issued on demand (the daily plan
flow issues each quarter's report on its report day by itself, see services/quarterly.py)."""

from __future__ import annotations

import re
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.engine import store_engine
from nok_workflow import clock
from nok_workflow.clock import local_date
from nok_workflow.reports.model import parse_quarter, report_period
from nok_workflow.services import quarterly
from nok_workflow.services.compiled_plans import current_plan
from nok_workflow.settings import Settings


@flow(name="nok-quarterly-report", flow_run_name="{plan_id} {quarter}")
def quarterly_report_flow(plan_id: str, quarter: str | None = None, now: str | None = None) -> dict[str, Any]:
    """Issue the report for ``quarter`` (e.g. 2024Q3; by default the quarter just ended):
    files in NOK_HOME/reports, the reporting item's document, the coordinator's digest."""
    moment, engine = clock.now(now), store_engine()
    timezone = current_plan(engine, plan_id).loaded.compiled.plan.timezone
    year, q = parse_quarter(quarter) if quarter else quarterly.previous_quarter(local_date(moment, timezone))
    issued = quarterly.issue(engine, Settings(), plan_id, report_period(year, q), moment)
    t = issued.report.totals
    lines = [f"# Отчёт о выполнении плана за {issued.period.label}", "",
             "| в срок | с нарушением срока | не выполнено | в работе | отменено | всего |", "|---|---|---|---|---|---|",
             f"| {t.on_time} | {t.late} | {t.not_done} | {t.in_progress} | {t.cancelled} | {t.total} |", "",
             *(f"- `{path}`" for path in issued.files.values())]
    # Artifact keys are lowercase slugs with dashes only.
    create_markdown_artifact(key=re.sub(r"[^a-z0-9-]", "-", f"nok-{plan_id}-{issued.period.code}".lower()),
                             markdown="\n".join(lines), description=f"Отчёт за {issued.period.label}")
    return {"quarter": issued.period.code, "totals": t.model_dump(), "evidence": issued.evidence_id,
            "files": {fmt: str(path) for fmt, path in issued.files.items()}, "queued": issued.queued}
