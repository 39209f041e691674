"""The progress report in the form № 457 as one self-contained HTML page (prints on A4 landscape,
the table's header on every page), with the general report's filters."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, Template

from nok_workflow.plan.form457 import COLUMNS, PROGRESS_HEADER
from nok_workflow.reports.form_model import FormReport
from nok_workflow.reports.html_file import ru_date, safe_link


@lru_cache(maxsize=1)
def _template() -> Template:
    env = Environment(loader=PackageLoader("nok_workflow.reports", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(ru_date=ru_date, safe_link=safe_link)
    return env.get_template("form457.html")


def render(report: FormReport) -> bytes:
    return _template().render(r=report, columns=COLUMNS, progress_header=PROGRESS_HEADER).encode("utf-8")
