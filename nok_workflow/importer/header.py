"""Recognising a plan table's header row and what each column means."""

from __future__ import annotations

import re

COLUMNS = ("number", "activity", "deadline", "owners", "result")
LABELS = {
    "number": "№",
    "activity": "Мероприятие",
    "deadline": "Срок",
    "owners": "Ответственные",
    "result": "Результат",
    # The №457 form (plan/form457.py): the shortcoming and the two «Сведения о ходе» columns.
    "shortcoming": "Недостатки",
    "progress": "Сведения о ходе реализации мероприятия",
    "measures": "реализованные меры",
    "done_on": "фактический срок реализации",
}

# Order matters: «Ответственный за реализацию мероприятий» is about owners, not activity,
# and «Срок реализации» is a deadline.
_MEANINGS = (
    ("progress", re.compile(r"^сведени\w* о ходе")),
    ("measures", re.compile(r"^реализованн\w* мер")),
    ("done_on", re.compile(r"фактическ\w*(?: \w{1,3})? срок")),
    ("shortcoming", re.compile(r"^недостат")),
    ("owners", re.compile(r"ответствен|исполнител")),
    ("deadline", re.compile(r"\bсрок")),
    ("result", re.compile(r"результат|итогов\w* документ|отчетн\w* документ")),
    ("number", re.compile(r"^(?:№|n|номер)\s*(?:п\s*/\s*п|пп)?\.?$")),
    ("activity", re.compile(r"мероприят|наименовани|содержани|действи")),
)


def meaning(cell: str) -> str | None:
    text = " ".join(cell.lower().replace("ё", "е").split())
    text = re.sub(r"-\s+", "", text)  # «реализа- ции»
    for name, pattern in _MEANINGS:
        if pattern.search(text):
            return name
    return None


def header_columns(cells: list[str], partial: bool = False) -> dict[str, int] | None:
    """Column index of each meaning, if ``cells`` is a header row (every non-empty cell
    has a distinct meaning, and an activity column exists — unless ``partial``). A merged cell
    some readers repeat in each of its columns counts once, in its first."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if not cell.strip() or (index and cell == cells[index - 1]):
            continue
        name = meaning(cell)
        if name is None or name in found:
            return None
        found[name] = index
    if not found or (not partial and ("activity" not in found or len(found) < 2)):
        return None
    return found
