"""`plan rollover`: the same plan structure for another year.

The plan file is rewritten with ruamel.yaml in round-trip mode, so comments, key order,
quoting and the `# yaml-language-server` line survive; only the values that carry the year
change. Wordings are edited as text (never re-generated from their interpretation): the
document's formatting — «до 20.11. 2015», «3 квартал 2024 г.» — is kept, only the year
moves. Wordings without a year need no edit: they take the year of the new plan.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ruamel.yaml.comments import CommentedMap

from nok_workflow.deadlines.grammar import MONTH
from nok_workflow.plan import source
from nok_workflow.plan.validate import LoadedPlan, validate_document
from nok_workflow.plan.yaml_rt import RoundTrip, delete_key, like
from nok_workflow.problems import InputError, Problem

# The years the schema accepts as ``period: 2018`` shorthand.
MIN_YEAR, MAX_YEAR = 1900, 2200

_YEAR = r"(?:19|20|21)\d\d"
# One pass over a wording: numeric dates (also «20.11. 2015» and «01.03.15»), word dates
# («29 февраля 2024», for the leap day) and standalone years. One combined pattern, so the
# year of a date is never shifted twice.
_SHIFTABLE = re.compile(
    r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<sp>\s?)(?P<y>\d{4}|\d\d)(?!\d)"
    r"|(?<!\d)(?P<wd>\d{1,2})(?P<wsp>\s+)(?P<wm>" + MONTH + r")(?P<wsp2>\s+)(?P<wy>" + _YEAR + r")(?!\d)"
    r"|(?<!\d)(?P<year>" + _YEAR + r")(?:/(?P<yy>\d\d)(?!\d))?(?!\d)",  # also «2024/25» (a school year)
    re.IGNORECASE,
)
_STANDALONE_YEAR = re.compile(r"(?<!\d)" + _YEAR + r"(?!\d)")
# Free texts of an item: only a year of the old plan's period moves in them, each listed.
_KEPT_TEXTS = ("title", "results", "note")


class Change(NamedTuple):
    """A wording that named an explicit year or date: a human should check the new one."""

    key: str
    old: str
    new: str


@dataclass(frozen=True)
class RolloverResult:
    new_text: str
    old_id: str
    new_id: str
    delta: int
    new_plan: LoadedPlan
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return self.new_plan.warnings


@dataclass
class _Shifter:
    """Shifts years by ``delta`` and remembers each 29 February that had to become 28."""

    delta: int
    leap_fixes: list[str] = field(default_factory=list)

    def text(self, value: str, only: frozenset[int] | None = None) -> str:
        """``value`` with its years and dates moved; with ``only``, just those in these years
        (a plan's own year in a title moves, the year of a law it cites does not)."""
        if only is None:
            return _SHIFTABLE.sub(self._replace, value)
        return _SHIFTABLE.sub(lambda m: self._replace(m) if _year_of(m) in only else m[0], value)

    def date(self, value: dt.date) -> dt.date:
        year = value.year + self.delta
        if value.month == 2 and value.day == 29 and not calendar.isleap(year):
            self.leap_fixes.append(f"29.02.{year} не существует — взято 28.02.{year}")
            return value.replace(year=year, day=28)
        return value.replace(year=year)

    def _replace(self, m: re.Match[str]) -> str:
        if m["year"]:
            year = int(m["year"]) + self.delta
            return f"{year}/{(year + 1) % 100:02d}" if m["yy"] else str(year)
        if m["wy"]:
            year = int(m["wy"]) + self.delta
            day = self._leap_day(m["wd"], 2 if m["wm"].lower().startswith("феврал") else 0, year)
            return f"{day}{m['wsp']}{m['wm']}{m['wsp2']}{year}"
        two_digits = len(m["y"]) == 2
        year = (2000 if two_digits else 0) + int(m["y"]) + self.delta
        day = self._leap_day(m["d"], int(m["m"]), year)
        # «01.03.15» stays two-digit as long as the new year allows it.
        year_text = f"{year % 100:02d}" if two_digits and 2000 <= year <= 2099 else str(year)
        return f"{day}.{m['m']}.{m['sp']}{year_text}"

    def _leap_day(self, day: str, month: int, year: int) -> str:
        if month == 2 and int(day) == 29 and not calendar.isleap(year):
            self.leap_fixes.append(f"29.02.{year} не существует — взято 28.02.{year}")
            return "28"
        return day


def _year_of(m: re.Match[str]) -> int:
    if m["year"]:
        return int(m["year"])
    if m["wy"]:
        return int(m["wy"])
    return (2000 if len(m["y"]) == 2 else 0) + int(m["y"])


def rollover_text(text: str, file: str, to_year: int, *, new_file: str | None = None) -> RolloverResult:
    """The plan ``text`` moved to ``to_year``; the new text is validated, nothing is written.

    ``new_file`` names the new plan in its own problems (by default ``file``).
    """
    loaded = validate_document(source.parse(text, file))
    plan = loaded.plan
    delta = to_year - plan.period.start.year
    period_at = loaded.document.position(("period",))
    if delta == 0:
        raise InputError([Problem(file, *period_at, f"план уже на {to_year} год")])
    if not (MIN_YEAR <= plan.period.start.year + delta and plan.period.end.year + delta <= MAX_YEAR):
        raise InputError([Problem(file, *period_at, f"год {to_year}: период нового плана выходит "
                                                    f"за {MIN_YEAR}–{MAX_YEAR}")])

    doc = RoundTrip.load(text, file, "не удалось перечитать план для переноса")
    data = doc.data
    shift = _Shifter(delta)
    notes: list[str] = []

    new_id = _STANDALONE_YEAR.sub(lambda m: str(int(m[0]) + delta), plan.id)
    if new_id == plan.id:
        new_id = f"{plan.id}-{to_year}"
        notes.append(f"в id плана не было года — добавлен: «{new_id}»")
    data["id"] = like(data["id"], new_id)

    new_title = shift.text(plan.title)
    if new_title != plan.title:
        data["title"] = like(data["title"], new_title)
        notes.append(f"название: «{plan.title}» → «{new_title}»")
    shift.leap_fixes.clear()  # a leap day in the title is plain text, not a date to flag

    if "approval_act" in data:
        was = f" (был: «{plan.approval_act}»)" if plan.approval_act else ""
        notes.append(f"акт утверждения удалён — новый план ещё не утверждён{was}")
        delete_key(data, "approval_act")

    _shift_period(data, shift)
    if shift.leap_fixes:
        notes.extend(f"период: {fix}" for fix in shift.leap_fixes)
    changes = _shift_deadlines(data, loaded, shift, notes)
    changes.extend(_shift_kept_texts(data, loaded, shift))
    order = {compiled.key: index for index, compiled in enumerate(loaded.compiled.items)}
    changes.sort(key=lambda change: order[change.key.split(", ")[0]])  # item by item, as in the plan

    new_text = doc.dump()
    # The new plan must be valid before anyone writes it anywhere.
    new_plan = validate_document(source.parse(new_text, new_file or file))
    return RolloverResult(new_text, plan.id, new_id, delta, new_plan, changes, notes)


# --- helpers ----------------------------------------------------------------------------

def _shift_value(value: Any, shift: _Shifter) -> Any:
    """A year, a date or an ISO date string, shifted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return like(value, value + shift.delta)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return shift.date(value)
    if isinstance(value, str):
        with suppress(ValueError):
            return like(value, shift.date(dt.date.fromisoformat(value)).isoformat())
    return value


def _shift_period(data: CommentedMap, shift: _Shifter) -> None:
    period = data["period"]
    if isinstance(period, dict):
        for end in ("start", "end"):
            if end in period:
                period[end] = _shift_value(period[end], shift)
    else:  # ``period: 2018`` stays shorthand
        data["period"] = _shift_value(period, shift)


def _shift_deadlines(
    data: CommentedMap, loaded: LoadedPlan, shift: _Shifter, notes: list[str]
) -> list[Change]:
    items = [item for section in data["sections"] for item in section["items"]]
    # The YAML was validated, so its items are the compiled items, in the same order.
    keys = [compiled.key for compiled in loaded.compiled.items]
    changes: list[Change] = []
    for key, item in zip(keys, items, strict=True):
        deadline = item.get("deadline")
        shift.leap_fixes.clear()
        if isinstance(deadline, str):
            new = shift.text(deadline)
            if new != deadline:
                item["deadline"] = like(deadline, new)
                changes.append(Change(key, str(deadline), new))
        elif isinstance(deadline, dict):
            text = deadline.get("text")
            if isinstance(text, str) and (new := shift.text(text)) != text:
                deadline["text"] = like(text, new)
                changes.append(Change(key, str(text), new))
            for name in ("opens", "due"):
                if name in deadline and (new_value := _shift_value(deadline[name], shift)) != deadline[name]:
                    changes.append(Change(key, f"{name}: {deadline[name]}", f"{name}: {new_value}"))
                    deadline[name] = new_value
        notes.extend(f"{key}: {fix}" for fix in dict.fromkeys(shift.leap_fixes))
    return changes


def _shift_kept_texts(data: CommentedMap, loaded: LoadedPlan, shift: _Shifter) -> list[Change]:
    """Titles, results and notes of the items: a year of the old plan's period moves with the
    plan («Договор … в 2024 году» → «… в 2025 году»), other years stay (a law of 2012); each
    change is listed for a human, as the wordings are."""
    years = frozenset(loaded.plan.period.years)
    labels = {"title": "название", "results": "результат", "note": "примечание"}
    items = [item for section in data["sections"] for item in section["items"]]
    keys = [compiled.key for compiled in loaded.compiled.items]
    changes: list[Change] = []
    for key, item in zip(keys, items, strict=True):
        for name in _KEPT_TEXTS:
            value = item.get(name)
            if isinstance(value, str):
                if (new := shift.text(value, years)) != value:
                    item[name] = like(value, new)
                    changes.append(Change(f"{key}, {labels[name]}", str(value), new))
            elif isinstance(value, list):
                for index, entry in enumerate(value):
                    if isinstance(entry, str) and (new := shift.text(entry, years)) != entry:
                        value[index] = like(entry, new)
                        changes.append(Change(f"{key}, {labels[name]}", str(entry), new))
    shift.leap_fixes.clear()  # a leap day in free text is not a date to flag
    return changes
