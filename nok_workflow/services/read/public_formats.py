"""The public progress pages as open data: JSON and CSV of `public_progress`'s views.

CSV is for Excel as Russian users have it: UTF-8 with a BOM (else Excel reads it as cp1251), `;`
between fields (Russian Excel's list separator: with `,` it puts a whole line in one cell), CRLF,
dates as ДД.ММ.ГГГГ. A text cell that starts like a formula (=, +, -, @) gets a leading apostrophe,
so a plan's wording never runs as a formula in someone's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from nok_workflow.services.read.public_campaign import PublicCampaign
from nok_workflow.services.read.public_progress import WORDS, Counts, PublicPlan

SCHEMA_VERSION = 1
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def plan_path(plan_id: str) -> str:
    return f"/open/plans/{plan_id}"


def campaign_path(campaign_id: str) -> str:
    return f"/open/campaigns/{campaign_id}"


def _counts(c: Counts) -> dict[str, int]:
    return c.as_json()


def plan_json(view: PublicPlan, base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    return {
        "schema_version": SCHEMA_VERSION, "plan_id": view.plan_id, "title": view.title, "kind": view.kind,
        "organisation": view.organisation, "as_of": view.as_of.isoformat(),
        "period": {"start": view.period_start.isoformat(), "end": view.period_end.isoformat()},
        "url": base + plan_path(view.plan_id),
        "campaign": {"id": view.campaign[0], "title": view.campaign[1], "url": base + campaign_path(view.campaign[0])}
        if view.campaign else None,
        "statuses": WORDS, "totals": _counts(view.totals),
        "sections": [{
            "number": s.number, "criterion": s.criterion, "title": s.title, "counts": _counts(s.counts),
            "measures": [{
                "key": m.key, "number": m.number, "shortcoming": m.shortcoming, "title": m.title,
                "deadline": m.deadline, "due_dates": [d.isoformat() for d in m.due_dates],
                "completed_on": m.completed_on.isoformat() if m.completed_on else None,
                "status": m.status, "status_words": m.status_words, "responsible": m.responsible,
                "counts": _counts(m.counts),
            } for m in s.measures],
        } for s in view.sections],
    }


def campaign_json(view: PublicCampaign, base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    return {
        "schema_version": SCHEMA_VERSION, "campaign_id": view.campaign_id, "title": view.title, "year": view.year,
        "as_of": view.as_of.isoformat(), "url": base + campaign_path(view.campaign_id), "statuses": WORDS,
        "totals": _counts(view.totals),
        "plans": [{"plan_id": p.plan_id, "title": p.title, "organisation": p.organisation,
                   "url": base + plan_path(p.plan_id), "counts": _counts(p.counts),
                   "overdue_measures": p.overdue_measures} for p in view.plans],
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return f"{value.day:02}.{value.month:02}.{value.year}"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _table(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_COUNT_HEADERS = ["Всего сроков", *(w.capitalize() for w in WORDS.values())]


def _count_cells(c: Counts) -> list[int]:
    return [c.total, *(getattr(c, k) for k in WORDS)]


def plan_csv(view: PublicPlan) -> bytes:
    """One line per measure."""
    header = ["Раздел", "Критерий", "№", "Недостаток", "Мероприятие", "Плановый срок", "Плановые даты",
              "Фактический срок", "Состояние", "Ответственный", *_COUNT_HEADERS, "По состоянию на"]
    rows = [[f"{s.number}. {s.title}" if s.number else s.title, s.criterion, m.number, m.shortcoming, m.title, m.deadline,
             ", ".join(_cell(d) for d in m.due_dates), m.completed_on, m.status_words, "; ".join(m.responsible),
             *_count_cells(m.counts), view.as_of]
            for s in view.sections for m in s.measures]
    return _table(header, rows)


def campaign_csv(view: PublicCampaign) -> bytes:
    """One line per plan (organisation)."""
    header = ["Организация", "План", *_COUNT_HEADERS, "Мероприятий с просрочкой", "По состоянию на"]
    rows = [[p.organisation, p.title, *_count_cells(p.counts), p.overdue_measures, view.as_of] for p in view.plans]
    return _table(header, rows)
