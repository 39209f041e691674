"""The report as one self-contained HTML page: inline CSS and SVG, nothing fetched (it is
opened from a mail or a disk, often offline), prints on A4 landscape with the table's header
on every page."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from jinja2 import Environment, PackageLoader, Template
from markupsafe import Markup

from nok_workflow.reports.chart import COLOURS, chart_svg
from nok_workflow.reports.model import OUTCOME_WORDS, Report
from nok_workflow.text import date_short, percent

# A mark beside each status word: told apart in black-and-white print and without colour vision.
MARKS = {"on_time": "✓", "late": "⚠", "not_done": "✗", "in_progress": "○", "cancelled": "–"}


def ru_date(value: dt.date | None) -> str:
    return date_short(value) if value else ""


def safe_link(url: str | None) -> str | None:
    """Only web addresses become links: a document's address came from an executor."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


@lru_cache(maxsize=1)
def _template() -> Template:
    # Compiled once per process; every value is escaped, the chart is let through by name.
    env = Environment(loader=PackageLoader("nok_workflow.reports", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(ru_date=ru_date, percent=percent, safe_link=safe_link)
    return env.get_template("report.html")


def render(report: Report) -> bytes:
    return _template().render(r=report, words=OUTCOME_WORDS, colours=COLOURS, marks=MARKS,
                              chart=Markup(chart_svg(report))).encode("utf-8")  # our own SVG, not user text
