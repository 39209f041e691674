"""Plans written for the tests: a minimal valid plan to mutate, and a plan of N schools."""

from __future__ import annotations

import yaml

MINIMAL_PLAN = """\
id: test-plan
title: Тестовый план
period: 2024
coordinator: otdel
directory:
  - id: otdel
    name: Отдел образования
    email: otdel@example.org
sections:
  - number: "1."
    title: Подготовка
    items:
      - number: "1"
        title: Формирование перечня
        deadline: Январь
        owners: [otdel]
        results: [Перечень учреждений]
"""

# A plan whose unit «sovet» and two schools have no address (tests of the directory).
DIRECTORY_PLAN = """\
id: dir-plan
title: План с адресами из справочника
period: 2024
coordinator: uo
directory:
  - id: uo
    name: Управление образования
    email: uo@example.org
  - id: sovet
    name: Общественный совет
  - id: imc
    name: МКУ «ИМЦ»
    email: imc-plan@example.org
groups:
  - id: oo
    name: Образовательные организации
organisations:
  - id: sch-1
    name: МБОУ «СОШ № 1»
    group: oo
  - id: sch-2
    name: МБОУ «СОШ № 2»
    group: oo
sections:
  - number: "1."
    title: Мероприятия
    items:
      - number: "1"
        title: Заседание совета
        deadline: Январь
        owners: [sovet, imc]
      - number: "2"
        title: Отчёт школы
        deadline: Ежеквартально
        owners: ["@oo"]
"""


SCHOOL_PLAN_ID = "scale-2025"


def school_plan(schools: int) -> str:
    """One plan: a department's own item, a quarterly item for every school, a monthly one."""
    plan = {
        "id": SCHOOL_PLAN_ID, "title": "План для проверки масштаба", "period": 2025, "timezone": "Asia/Yekaterinburg",
        "coordinator": "uo",
        "directory": [{"id": "uo", "name": "Управление образования", "email": "uo@example.org"}],
        "groups": [{"id": "oo", "name": "Образовательные организации", "escalates_to": "uo"}],
        "organisations": [{"id": f"school-{i:03d}", "name": f"Школа № {i}", "group": "oo",
                           "email": f"school{i}@example.org"} for i in range(1, schools + 1)],
        "sections": [{"number": "1.", "title": "Мероприятия", "items": [
            {"number": "1", "title": "Приказ управления", "deadline": "Март", "owners": ["uo"]},
            {"number": "2", "title": "Отчёт школы", "deadline": "Ежеквартально", "owners": ["@oo"],
             "depends_on": ["1.1"]},
            {"number": "3", "title": "Мониторинг сайта", "deadline": "ежемесячно", "owners": ["@oo"]},
        ]}],
    }
    return yaml.safe_dump(plan, allow_unicode=True, sort_keys=False)
