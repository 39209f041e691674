"""One report, four files: which module writes each format, its media type and extension.

The writers are imported when asked for, so `nok report --format json` never loads
python-docx, openpyxl or matplotlib."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

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


def render(report: Report, fmt: str) -> bytes:
    """The report as a file of `fmt` (a key of FORMATS)."""
    if fmt == "json":
        return report.model_dump_json(indent=2).encode("utf-8")
    return import_module(f"nok_workflow.reports.{fmt}_file").render(report)


def file_name(report: Report, fmt: str) -> str:
    return f"otchet-{report.plan_id}-{report.period.code}.{fmt}"
