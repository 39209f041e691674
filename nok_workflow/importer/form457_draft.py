"""A plan in the №457 form as a draft, and what the draft adds to the plan made of it.

`understand_form` is `draft.understand` for the form: the same draft, each row with its
shortcoming, criterion, people and progress; the meta with the plan's kind and the
organisation as the title names it. `complete` runs at the end of `draft.to_plan`: the
organisation found in the coordinator's directory (or, on the command line only, a new entry
with a warning), the people's organisation and escalation (people → the head → the department),
the plan id «nedostatki-<org>-<year>»."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from slugify import slugify

from nok_workflow.importer.form457_table import structure_form
from nok_workflow.importer.owners import normalise_name
from nok_workflow.importer.people import is_head, parse_people
from nok_workflow.importer.rows import RawDocument
from nok_workflow.importer.similar import probably_same
from nok_workflow.plan import form457
from nok_workflow.problems import InputError, Problem

if TYPE_CHECKING:
    from nok_workflow.importer.draft import Directory, ImportReport
    from nok_workflow.importer.owners import Resolver

_FORM_TITLE = re.compile(r"план\w*\s+по\s+устранени\w+\s+недостатк.*?деятельности", re.IGNORECASE | re.DOTALL)
_FOR_YEAR = re.compile(r"\s*,?\s*на\s+((?:19|20|21)\d\d)\s*(?:год|г\.?)?\s*$", re.IGNORECASE)
_DATE = re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?!\d)")
_MONTHS = ("янв", "фев", "мар", "апр", "ма", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
_WORDS_DATE = re.compile(r"(?:(\d{1,2})\s+)?(январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр)"
                         r"\w*\s+((?:19|20|21)\d\d)", re.IGNORECASE)
UNKNOWN_ORGANISATION = "организация «{name}» из заголовка плана не найдена в справочнике"


def understand_form(raw: RawDocument, *, name: str, year: int | None, timezone: str, plan_id: str | None,
                    cli: bool) -> dict[str, Any]:
    from nok_workflow.importer.draft import _period, _title_and_act

    table = structure_form(raw)
    notes = [f"{origin}: {note}" for origin, note in table.notes]
    title, act = _title_and_act(raw.preamble)
    organisation, year_named = organisation_of(title)
    rows: list[dict[str, Any]] = []
    for index, section in enumerate(table.sections):
        for item in section.items:
            rows.append({
                "key": f"r{len(rows) + 1}", "section": index, "section_number": section.number,
                "section_title": section.title, "criterion": section.criterion, "number": item.number,
                "shortcoming": item.shortcoming, "title": item.title, "deadline": item.deadline,
                "owners_text": item.owners, "people": parse_people(item.owners), "result": "",
                "measures": item.measures, "done": item.done, "origin": item.origin,
                "owners": None, "corrected": [],
            })
    if cli and (orphans := [r for r in rows if not r["people"]]):  # the browser's draft shows them to correct
        raise InputError([Problem(raw.source, 0, 0, _no_owner(r)) for r in orphans])
    period: object
    if year_named is not None:
        period = year_named
        if year is not None and year != year_named:
            notes.append(f"год {year}, указанный при загрузке, не совпадает с годом плана {year_named} из заголовка: "
                         "взят год из заголовка")
    else:
        period = _period(title, [r["deadline"] for r in rows], year, raw.source, notes, cli)
    if organisation is None:
        notes.append("организация в заголовке не найдена: ожидалось «План по устранению недостатков… <организация> "
                     "на <год> год»")
    first = period if isinstance(period, int) else period["start"]  # type: ignore[index]
    auto_id = f"nedostatki-{slugify(organisation or 'organizatsiia', max_length=40, word_boundary=True)}-{first}"
    return {
        "meta": {"title": title or form457.TITLE, "approval_act": act, "period": period, "timezone": timezone,
                 "plan_id": plan_id or auto_id, "auto_id": plan_id is None, "kind": form457.KIND,
                 "report_day": form457.DEFAULT_REPORT_DAY, "organisation_name": organisation,
                 "new_organisation": cli},
        "notes": notes, "rows": rows, "entries": [], "next_row": len(rows) + 1,
    }


def _no_owner(row: dict[str, Any]) -> str:
    return (f"{row['origin']}: у мероприятия {row['number']} («{row['title'][:80]}») не указан ответственный "
            "исполнитель — укажите фамилию, имя, отчество и должность")


def organisation_of(title: str) -> tuple[str | None, int | None]:
    """(organisation, year) the form's title names: «План по устранению… деятельности
    МБОУ «СОШ № 5» на 2025 год»."""
    flat = " ".join(title.split())
    m = _FORM_TITLE.search(flat)
    rest = flat[m.end():] if m else ""
    rest = re.sub(r"^\s*(?:организаци\w+\s+)?[,:]?\s*", "", rest)
    year = None
    if y := _FOR_YEAR.search(rest):
        year, rest = int(y.group(1)), rest[:y.start()]
    elif y := _FOR_YEAR.search(flat):
        year = int(y.group(1))
    rest = rest.strip(" ,.")
    return (rest or None), year


def done_on(text: str) -> tuple[dt.date | None, str | None]:
    """The date of «фактический срок реализации»: «20.02.2025»; «20 февраля 2025»; «февраль
    2025» is the month's last day (done within it, not known which day). None and why if not."""
    if m := _DATE.search(text):
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        year += 2000 if year < 100 else 0
    elif m := _WORDS_DATE.search(text):
        month = next(i for i, stem in enumerate(_MONTHS, start=1) if m.group(2).lower().startswith(stem))
        year = int(m.group(3))
        day = int(m.group(1)) if m.group(1) else calendar.monthrange(year, month)[1]
    else:
        return None, f"фактический срок «{text}» не понят"
    try:
        return dt.date(year, month, day), None
    except ValueError:
        return None, f"фактический срок «{text}»: такой даты нет"


def find_organisation(name: str, known: Directory) -> dict | None:
    """The coordinator's entry the title's organisation names: by name or alias, else the one
    entry that is probably the same party (similar.probably_same)."""
    candidates = [e for e in [*known.directory, *known.organisations, *known.standalone]
                  if e.get("kind") != "person"]
    key = normalise_name(name)
    for entry in candidates:
        if key in {normalise_name(n) for n in [entry["name"], *entry.get("aliases", [])]}:
            return entry
    alike = [e for e in candidates if any(probably_same(name, n) for n in [e["name"], *e.get("aliases", [])])]
    return alike[0] if len(alike) == 1 else None


def settle_plan_id(content: dict[str, Any], known: Directory) -> None:
    """A form's own id «nedostatki-<org>-<year>» with the id of the organisation's entry in
    `known`, once it is there (on upload, and when a person adds it)."""
    meta = content["meta"]
    if meta.get("kind") != form457.KIND or not meta.get("auto_id") or not meta.get("organisation_name"):
        return
    if entry := find_organisation(meta["organisation_name"], known):
        meta["plan_id"] = plan_id_of(entry["id"], meta["period"])


def plan_id_of(org_id: str, period: object) -> str:
    year = period if isinstance(period, int) else period["start"]  # type: ignore[index]
    return f"nedostatki-{org_id}-{getattr(year, 'year', year)}"[:64]


def item_fields(row: dict[str, Any], report: ImportReport) -> tuple[dict, dict]:
    """(fields before the title, fields after) of the form's item made from `row`."""
    before = {"shortcoming": row["shortcoming"]} if row.get("shortcoming") else {}
    after: dict[str, Any] = {}
    if row.get("measures") or row.get("done"):
        progress: dict[str, Any] = {"measures": row.get("measures") or "выполнено"}
        if row.get("done"):
            date, why = done_on(row["done"])
            if date is not None:
                progress["done_on"] = date
            else:
                report.notes.append(f"{row['origin']}: {why}; пункт {row['number']} остаётся открытым")
        else:
            report.notes.append(f"{row['origin']}: у пункта {row['number']} указаны реализованные меры без "
                                "фактического срока — пункт остаётся открытым")
        after["progress"] = progress
    return before, after


def complete(plan: dict, draft: dict[str, Any], known: Directory, resolver: Resolver, report: ImportReport,
             coordinator: str) -> dict:
    """The form's plan fields, the organisation and the people's escalation: `plan` in order."""
    meta = draft["meta"]
    people = plan["directory"]
    items = [i for s in plan["sections"] for i in s["items"]]
    if orphans := [(row, item) for row, item in zip(draft["rows"], items, strict=True) if not item["owners"]]:
        raise InputError([Problem(draft.get("source", "план"), 0, 0, _no_owner(row)) for row, _ in orphans])
    org_id = None
    if name := meta.get("organisation_name"):
        entry = find_organisation(name, known)
        if entry is None and not meta.get("new_organisation"):
            raise InputError([Problem(draft.get("source", "план"), 0, 0,
                                      UNKNOWN_ORGANISATION.format(name=name) + ": добавьте её в справочник")])
        if entry is None:
            org_id = resolver.add(slugify(name, max_length=40, word_boundary=True) or "organizatsiia",
                                  {"name": name}, "заголовок", f"«{name}» (организация из заголовка; без адреса почты)")
            report.notes.append(UNKNOWN_ORGANISATION.format(name=name) + f": добавлена запись «{org_id}» — "
                                "проверьте и укажите адрес")
            entry = next(e for e in people if e["id"] == org_id)
        elif not any(e["id"] == entry["id"] for e in people):
            people.append({k: v for k, v in entry.items() if k in ("id", "name", "email", "aliases")})
        org_id = entry["id"]
        org = next(e for e in people if e["id"] == org_id)
        org.setdefault("escalates_to", coordinator)
    used = {o for s in plan["sections"] for i in s["items"] for o in i["owners"]}
    staff = [e for e in people if e.get("kind") == "person" and
             (e["id"] in used and e["id"] not in resolver.given or (org_id and e.get("organisation") == org_id))]
    head = next((e["id"] for e in staff if is_head(e.get("position"))), None)
    for entry in staff:
        if org_id and entry["id"] not in resolver.given:
            entry.setdefault("organisation", org_id)
        target = coordinator if entry["id"] == head else (head or org_id)
        if target and target != entry["id"]:
            entry.setdefault("escalates_to", target)
    report.outline = _outline(plan, meta.get("organisation_name"), org_id)
    plan_id = plan_id_of(org_id, plan["period"]) if meta.get("auto_id") and org_id else plan["id"]
    head_fields = {"id": plan_id, "kind": form457.KIND, "title": plan["title"],
                   **({"organisation": org_id} if org_id else {})}
    result = dict(head_fields)
    for key, value in plan.items():
        if key not in head_fields:
            result[key] = value
        if key == "coordinator":
            result["report_day"] = meta.get("report_day", form457.DEFAULT_REPORT_DAY)
    return result


def _outline(plan: dict, name: str | None, org_id: str | None) -> list[str]:
    """What the command prints: the organisation, each section's criterion, each measure's shortcoming."""
    lines = ["План устранения недостатков (форма № 457): " + (f"{name} ({org_id})" if name else "организация не названа")]
    for section in plan["sections"]:
        title = " ".join(x for x in (section.get("number") and f"{section['number']}.", section["title"]) if x)
        lines.append(title + (f" — критерий {section['criterion']}" if section.get("criterion") else ""))
        for item in section["items"]:
            lines.append(f"  {item['number']}. {item['title']}")
            if item.get("shortcoming"):
                lines.append(f"     недостаток: {item['shortcoming']}")
    return lines
