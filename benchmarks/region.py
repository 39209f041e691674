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


# --- W-region (issue 15): a region as it really is, many municipal plans -------------------------
# Each municipality's plan has its own people (the education department, the public council,
# the operator) with a dozen items of theirs, and its schools answering for 8 items each.

MUNICIPAL_ITEMS = [  # (title, deadline, owners): wordings as the seed plans write them
    ("Заседание общественного совета: утверждение перечня организаций", "I квартал", ["sovet"]),
    ("Заключение договора с организацией-оператором", "до 1 апреля", ["uo"]),
    ("Проведение социологических исследований", "Апрель – июнь", ["operator"]),
    ("Оценивание интернет-сайтов образовательных организаций", "Май", ["operator"]),
    ("Сбор, обобщение и анализ полученной информации", "Июнь", ["operator"]),
    ("Заседание общественного совета: итоги независимой оценки", "3 квартал", ["sovet", "operator"]),
    ("Размещение результатов на bus.gov.ru",
     {"text": "в течение 10 рабочих дней после заседания совета", "after": "I.6"}, ["uo"]),
    ("Мониторинг исполнения планов по устранению недостатков", "Ежеквартально", ["uo"]),
    ("Информирование руководителей ОО о результатах", "Сентябрь", ["uo"]),
    ("Отчёт в министерство о ходе реализации плана", "до 20 декабря", ["uo"]),
    ("Совещание с руководителями образовательных организаций", "Октябрь", ["uo", "sovet"]),
    ("Подготовка предложений об улучшении качества", "4 квартал", ["sovet"]),
]

# Per-school items (quarterly, monthly, ongoing and single deadlines): 34 obligations a school.
SCHOOL_ITEMS = [(f"Мероприятие ОО {n + 1}", WORDINGS[n]) for n in range(len(WORDINGS))]

SIZES = {  # name → (schools in the region, municipal plans)
    "small": (120, 3),  # what CI runs, so the benchmark code does not rot
    "small-x5": (600, 3),
    "100k": (2940, 60),
    "region": (6000, 60),  # W-region: ≈ 206,000 obligations
    "1m": (29400, 60),  # W-1M: ≈ 1,002,000 obligations
}


def municipal_plan(index: int, schools: range, year: int = 2025) -> str:
    mo = f"mo{index:02d}"
    plan = {
        "id": f"{mo}-{year}",
        "title": f"План-график НОКО муниципального образования № {index} на {year} год (синтетический)",
        "period": year,
        "timezone": "Asia/Yekaterinburg",
        "coordinator": "uo",
        "directory": [
            {"id": "uo", "name": f"Управление образования МО № {index}", "email": f"uo@{mo}.example.org"},
            {"id": "sovet", "name": "Общественный совет", "email": f"sovet@{mo}.example.org", "escalates_to": "uo"},
            {"id": "operator", "name": "Организация-оператор", "email": f"op@{mo}.example.org",
             "escalates_to": "sovet"},
        ],
        "groups": [{"id": "oo", "name": "Образовательные организации", "escalates_to": "uo"}],
        "organisations": [
            {"id": f"school-{i:05d}", "name": f"МБОУ «СОШ № {i}»", "group": "oo",
             "email": f"school{i}@{mo}.example.org"} for i in schools
        ],
        "sections": [
            {"number": "I.", "title": "Организация и проведение независимой оценки качества",
             "items": [{"number": str(n + 1), "title": title, "deadline": deadline, "owners": owners,
                        "results": [f"Документ к пункту I.{n + 1}"]}
                       for n, (title, deadline, owners) in enumerate(MUNICIPAL_ITEMS)]},
            {"number": "II.", "title": "Мероприятия образовательных организаций",
             "items": [{"number": str(n + 1), "title": title, "deadline": deadline, "owners": ["@oo"],
                        "results": [f"Отчёт ОО к пункту II.{n + 1}"]}
                       for n, (title, deadline) in enumerate(SCHOOL_ITEMS)]},
        ],
    }
    return "# yaml-language-server: $schema=plan.schema.json\n" + yaml.safe_dump(
        plan, allow_unicode=True, sort_keys=False)


def write_region(folder, size: str, year: int = 2025) -> list:  # noqa: ANN001 - a pathlib.Path
    """The region's municipal plans as files in `folder`, schools shared out evenly; → paths."""
    schools, plans = SIZES[size]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(plans):
        share = range(k * schools // plans + 1, (k + 1) * schools // plans + 1)
        path = folder / f"mo{k + 1:02d}-{year}.yaml"
        path.write_text(municipal_plan(k + 1, share, year), encoding="utf-8")
        paths.append(path)
    return paths
