"""Issue 23 end to end through the services the pages call: a coordinator's list of 30 schools
(Excel) and their Word plan naming «Образовательные учреждения» and two people without
addresses become a plan whose every owner is reminded — the schools by the list's addresses, the
two people once their addresses are filled in, without reloading the plan."""

from __future__ import annotations

import datetime as dt
import email
import email.utils
import io

from sqlmodel import Session, select

from nok_workflow.services.commands import accounts, directory, directory_import, drafts
from nok_workflow.services.read import directory as read_directory
from nok_workflow.services.read import drafts as review
from nok_workflow.store.models import Party

MOMENT = dt.datetime(2024, 10, 1, 9, tzinfo=dt.UTC)
SCHOOLS = 30
GROUP = "Образовательные учреждения"


def schools_xlsx(path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Наименование", "Краткое наименование", "Электронная почта", "Группа"])
    for n in range(1, SCHOOLS + 1):
        sheet.append([f"Муниципальное бюджетное общеобразовательное учреждение «Средняя школа № {n}»",
                      f"МБОУ СОШ № {n}", f"school{n}@example.org", GROUP])
    book.save(path)
    return path


def word_plan() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("План мероприятий по независимой оценке качества условий образовательной "
                           "деятельности на 2024 год")
    rows = [("№ п/п", "Наименование мероприятия", "Срок исполнения", "Ответственные", "Результат"),
            ("1", "Размещение информации о НОКО на официальных сайтах", "до 10 октября 2024 г.", GROUP,
             "Ссылка на страницу сайта"),
            ("2", "Сбор сведений об организациях", "до 10 октября 2024 г.", "Методист Иванова И.П.", "Сводка"),
            ("3", "Анализ результатов", "до 20 октября 2024 г.", "Специалист Петров П.П.", "Справка")]
    table = document.add_table(rows=0, cols=5)
    for values in rows:
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_list_of_schools_and_a_word_plan_become_a_plan_whose_every_owner_is_reminded(engine, tmp_path):
    from notifiers import from_settings

    from nok_workflow.services.delivery import dispatch
    from nok_workflow.services.jobs import plan_run
    from nok_workflow.settings import Settings

    accounts.add(engine, login="uo", name="Управление образования", email="uo@example.org", password=None,
                 now=MOMENT)
    listed = directory_import.apply(engine, "uo", schools_xlsx(tmp_path / "школы.xlsx"), by="uo", now=MOMENT)
    assert sum(r.action == "new" for r in listed.rows) == SCHOOLS and not listed.problems

    draft_id = drafts.create(engine, owner="uo", name="plan-2024.docx", data=word_plan(), now=MOMENT)
    shown = review.view(engine, draft_id, "uo", MOMENT)
    first = next(r for r in shown.rows if r.number == "1")
    assert [(o.name, o.new) for o in first.owners] == [(GROUP, False)]  # the list's group, not a new one
    people = {o.name: o.new for r in shown.rows if r.number in ("2", "3") for o in r.owners}
    assert all(people.values()) and len(people) == 2, people

    applied = drafts.apply(engine, draft_id, owner="uo", now=MOMENT)
    plan_id = applied.diff.plan_id
    with Session(engine) as session:
        parties = session.exec(select(Party).where(Party.plan_id == plan_id)).all()
    schools = [p for p in parties if p.kind == "organisation"]
    assert len(schools) == SCHOOLS and all(p.email and p.email.endswith("@example.org") for p in schools)

    missing, total = read_directory.missing(engine, "uo")
    assert total == 2 and sorted(m.name for m in missing) == sorted(people), missing
    for n, row in enumerate(missing, 1):
        directory.set_email(engine, "uo", row.id, f"person{n}@example.org", by="uo", now=MOMENT)
    assert read_directory.missing(engine, "uo")[1] == 0

    settings = Settings(home=tmp_path / ".nok")
    plan_run.steps(engine, plan_id, MOMENT)
    dispatch.dispatch(engine, from_settings(settings), settings, MOMENT)
    mails = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
             for f in (tmp_path / ".nok" / "outbox").glob("*.eml")]
    to = {email.utils.parseaddr(m["To"])[1]: m.get_body(preferencelist=("plain",)).get_content() for m in mails}
    assert {f"school{n}@example.org" for n in range(1, SCHOOLS + 1)} <= set(to)
    assert {"person1@example.org", "person2@example.org"} <= set(to)
    assert "Размещение информации о НОКО" in to["school7@example.org"]
    assert "/u/" in to["school7@example.org"]  # the school's own upload link
