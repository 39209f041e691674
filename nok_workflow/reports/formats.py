"""One report, four files: which module writes each format, its media type and extension.

A plan's general report (`Report`) is written by `<fmt>_file`, a shortcomings plan's report in
the form № 457 (`FormReport`) by `form_<fmt>`. The writers are imported when asked for, so
`nok report --format json` never loads python-docx, openpyxl or matplotlib."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from nok_workflow.reports.form_model import FormReport
from nok_workflow.reports.model import Report


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    title: str  # how the download is named on the report page


FORMATS = {
    "docx": Format("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word"),
    "xlsx": Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"),
    "html": Format("html", "text/html; charset=utf-8", "HTML"),
    "json": Format("json", "application/json", "JSON"),
}


def render(report: Report | FormReport, fmt: str) -> bytes:
    """The report as a file of `fmt` (a key of FORMATS)."""
    if fmt == "json":
        return report.model_dump_json(indent=2).encode("utf-8")
    module = f"form_{fmt}" if isinstance(report, FormReport) else f"{fmt}_file"
    return import_module(f"nok_workflow.reports.{module}").render(report)


def file_name(report: Report | FormReport, fmt: str) -> str:
    head = "otchet-forma457" if isinstance(report, FormReport) else "otchet"
    return f"{head}-{report.plan_id}-{report.period.code}.{fmt}"
