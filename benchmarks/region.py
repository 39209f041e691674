"""A synthetic region-sized plan: N schools answering each for themselves, quarterly items.

Used by the benchmarks (not by tests): 3,000 schools × 8 items, mostly quarterly, gives
about 100,000 obligations — the size of a region's school plan in docs/benchmarks.md.
"""

from __future__ import annotations

import yaml

WORDINGS = ["Ежеквартально", "Ежеквартально до 5 числа", "В течение года", "ежемесячно",
            "Май", "Декабрь", "1 раз в кв.", "постоянно"]


def region_plan(schools: int = 3000, items: int = 8, year: int = 2025) -> str:
    plan = {
        "id": f"region-{year}",
        "title": f"План НОКО региона на {year} год (синтетический, для замеров)",
        "period": year,
        "timezone": "Asia/Yekaterinburg",
        "coordinator": "minobr",
        "directory": [
            {"id": "minobr", "name": "Министерство образования", "email": "minobr@region.example.org"},
            {"id": "operator", "name": "Организация-оператор", "email": "op@region.example.org",
             "escalates_to": "minobr"},
        ],
        "groups": [{"id": "oo", "name": "Образовательные организации", "escalates_to": "minobr"}],
        "organisations": [
            {"id": f"school-{i:05d}", "name": f"МБОУ «СОШ № {i}»", "group": "oo",
             "email": f"school{i}@region.example.org"} for i in range(1, schools + 1)
        ],
        "sections": [{
            "number": "1.",
            "title": "Обеспечение открытости и доступности информации",
            "items": [
                {"number": str(n + 1), "title": f"Мероприятие {n + 1}", "deadline": WORDINGS[n % len(WORDINGS)],
                 "owners": ["@oo"] if n % 4 else ["@oo", "operator"], "results": [f"Отчёт {n + 1}"]}
                for n in range(items)
            ],
        }],
    }
    return "# yaml-language-server: $schema=plan.schema.json\n" + yaml.safe_dump(
        plan, allow_unicode=True, sort_keys=False)
