"""A coordinator's directory: effective addresses, changes that reach the next digest, merge,
list import (preview, apply, bad input) and «без адреса» — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import time

import pytest
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.problems import InputError
from nok_workflow.services.commands import directory, directory_import, plans
from nok_workflow.services.commands.directory import EntryFields
from nok_workflow.services.read import directory as read
from nok_workflow.store.models import Party
from tests.support.plans import DIRECTORY_PLAN as PLAN

NOW = dt.datetime(2024, 1, 1, 5, tzinfo=dt.UTC)



def at(day: str, hour: int = 7) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


@pytest.fixture
def loaded(engine, write_plan):
    plans.load(engine, write_plan(PLAN), actor=None, now=NOW)
    return engine


def addresses(engine) -> dict[str, tuple[str | None, str | None]]:
    with Session(engine) as session:
        return {r.id: (r.email, r.email_from) for r in session.execute(
            select(Party.id, Party.email, Party.email_from).where(Party.plan_id == "dir-plan"))}


def test_the_plans_own_address_wins_else_the_directorys_by_id_or_name(loaded):
    engine = loaded
    directory.add(engine, "uo", EntryFields(name="Другое имя", kind="unit", email="sovet@example.org"),
                  by="uo", now=NOW, entry_id="sovet")
    directory.add(engine, "uo", EntryFields(name="ИМЦ", kind="unit", email="imc-dir@example.org"),
                  by="uo", now=NOW, entry_id="imc")
    # by name: «"СОШ № 1"» normalises as the party's «СОШ № 1»
    directory.add(engine, "uo", EntryFields(name="Школа первая", short_name='МБОУ "СОШ № 1"', email="s1@example.org"),
                  by="uo", now=NOW)
    got = addresses(engine)
    assert got["sovet"] == ("sovet@example.org", "sovet")
    assert got["imc"] == ("imc-plan@example.org", None)  # the plan's own address
    assert got["sch-1"] == ("s1@example.org", "mbou-sosh-no-1")  # added by hand: a new id
    assert got["sch-2"] == (None, None)
    assert read.missing_count(engine, "dir-plan") == 1  # sch-2


def test_an_amendment_keeps_directory_addresses_and_does_not_count_them_as_changes(loaded, write_plan):
    engine = loaded
    directory.set_email(engine, "uo", "sovet", "sovet@example.org", by="uo", now=NOW)
    amended = PLAN.replace("title: Отчёт школы", "title: Отчёт школы за квартал")
    result = plans.load(engine, write_plan(amended, "amended.yaml"), actor=None, now=NOW)
    assert result.applied and not result.diff.directory_changed
    assert addresses(engine)["sovet"] == ("sovet@example.org", "sovet")
    # the plan now gives its own address: it wins, the link goes
    own = amended.replace("    name: Общественный совет\n", "    name: Общественный совет\n    email: own@example.org\n")
    result = plans.load(engine, write_plan(own, "own.yaml"), actor=None, now=NOW)
    assert result.diff.directory_changed
    assert addresses(engine)["sovet"] == ("own@example.org", None)


def test_a_changed_address_reaches_the_next_digest_without_reloading_the_plan(loaded, tmp_path):
    from notifiers import from_settings

    from nok_workflow.services.delivery import dispatch
    from nok_workflow.services.jobs import plan_run
    from nok_workflow.settings import Settings

    engine = loaded
    settings = Settings(home=tmp_path / ".nok")
    outbox = tmp_path / ".nok" / "outbox"

    def day(moment: dt.datetime) -> set[str]:
        before = set(outbox.glob("*.eml")) if outbox.exists() else set()
        plan_run.steps(engine, "dir-plan", moment)
        dispatch.dispatch(engine, from_settings(settings), settings, moment)
        return {email.utils.parseaddr(email.message_from_bytes(f.read_bytes())["To"])[1]
                for f in set(outbox.glob("*.eml")) - before}

    assert directory.set_email(engine, "uo", "sovet", "first@example.org", by="uo", now=NOW) == 1
    assert "first@example.org" in day(at("2024-01-01"))
    assert directory.set_email(engine, "uo", "sovet", "second@example.org", by="uo", now=NOW) == 1
    sent = day(at("2024-01-25"))  # the January deadline's reminder
    assert "second@example.org" in sent and "first@example.org" not in sent


def test_set_email_refuses_a_bad_address_and_an_unknown_id(loaded):
    with pytest.raises(InputError, match="не адрес электронной почты"):
        directory.set_email(loaded, "uo", "sovet", "sovet@@example", by="uo", now=NOW)
    with pytest.raises(InputError, match="нет ни в справочнике, ни в ваших планах"):
        directory.set_email(loaded, "uo", "nobody", "a@example.org", by="uo", now=NOW)
    assert addresses(loaded)["sovet"] == (None, None)


def test_missing_lists_parties_without_address_with_their_open_obligations(loaded):
    rows, total = read.missing(loaded, "uo")
    got = {r.id: r.open for r in rows}
    # sovet: item 1 (January); each school: item 2 × 4 quarters; the group itself is not a party to mail
    assert got == {"sovet": 1, "sch-1": 4, "sch-2": 4} and total == 3
    assert [r.id for r in rows][:2] == ["sch-1", "sch-2"]  # most open first
    assert read.missing_count(loaded, "dir-plan") == 3
    directory.set_email(loaded, "uo", "sch-1", "s1@example.org", by="uo", now=NOW)
    rows, total = read.missing(loaded, "uo")
    assert {r.id for r in rows} == {"sovet", "sch-2"} and total == 2


def test_merge_keeps_one_records_the_others_name_and_repoints(loaded):
    engine = loaded
    directory.add(engine, "uo", EntryFields(name="МБОУ СОШ 2", email="two@example.org"), by="uo", now=NOW,
                  entry_id="sch-2")
    directory.add(engine, "uo", EntryFields(name="МБОУ «СОШ № 2»"), by="uo", now=NOW, entry_id="school-2-copy")
    kept = directory.merge(engine, "uo", "sch-2", "school-2-copy", by="uo", now=NOW)
    assert "МБОУ «СОШ № 2»" in kept.aliases and kept.email == "two@example.org"
    assert read.entry(engine, "uo", "school-2-copy") is None
    assert addresses(engine)["sch-2"] == ("two@example.org", "sch-2")
    # the next list import matches the merged name to the kept entry
    assert kept.id == "sch-2"


def _csv(tmp_path, text: str, encoding: str = "utf-8", name: str = "list.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_list_import_preview_then_apply_in_cp1251_with_semicolons(loaded, tmp_path):
    engine = loaded
    path = _csv(tmp_path, "Полное наименование;Краткое наименование;Адрес эл. почты;Тип ОО;ИНН\n"
                          "Муниципальное бюджетное общеобразовательное учреждение № 1;МБОУ «СОШ № 1»;s1@example.org;"
                          "Школы;5600000001\n"
                          "МБОУ «СОШ № 2»;;s2@example.org;Школы;5600000002\n"
                          "Детский сад № 3;;not-an-address;ДОУ;5600000003\n", "cp1251")
    shown = directory_import.preview(engine, "uo", path)
    assert [r.action for r in shown.rows] == ["new", "new", "error"]
    assert shown.rows[2].message == "«not-an-address» — не адрес электронной почты"
    assert "строка 4" in shown.rows[2].origin
    with pytest.raises(InputError) as refused:
        directory_import.apply(engine, "uo", path, by="uo", now=NOW)
    assert "строка 4" in str(refused.value) and "not-an-address" in str(refused.value)
    assert read.entries(engine, "uo")[1] == 0  # nothing written

    path.write_bytes(path.read_bytes().replace(b"not-an-address", b"sad3@example.org"))
    done = directory_import.apply(engine, "uo", path, by="uo", now=NOW)
    assert done.counts()["new"] == 3
    assert addresses(engine)["sch-1"][0] == "s1@example.org"  # by its short name
    assert addresses(engine)["sch-2"][0] == "s2@example.org"
    # the same list again: nothing to do; a changed address is an update of that row
    path.write_bytes(path.read_bytes().replace(b"s2@example.org", b"new2@example.org"))
    again = directory_import.preview(engine, "uo", path)
    assert [r.action for r in again.rows] == ["same", "update", "same"]
    assert "new2@example.org" in again.rows[1].message
    directory_import.apply(engine, "uo", path, by="uo", now=NOW)
    assert addresses(engine)["sch-2"][0] == "new2@example.org"


def test_list_import_duplicates_empty_and_headerless_files(loaded, tmp_path):
    dup = _csv(tmp_path, "Наименование,E-mail\nШкола 1,a@example.org\nшкола  1,b@example.org\n"
                         "Филиал школы 1,A@example.org\n")
    rows = directory_import.preview(loaded, "uo", dup).rows
    assert rows[1].action == "error" and "«школа 1» уже есть в файле выше (list.csv, строка 2)" in rows[1].message
    # one address for a school and its branch: allowed, and said
    assert rows[2].action == "new" and rows[2].message == "тот же адрес, что в строке «list.csv, строка 2»"
    with pytest.raises(InputError, match="файл пуст"):
        directory_import.preview(loaded, "uo", _csv(tmp_path, "", name="empty.csv"))
    with pytest.raises(InputError, match="не найдена строка заголовка"):
        directory_import.preview(loaded, "uo", _csv(tmp_path, "a,b\n1,2\n", name="nohead.csv"))
    with pytest.raises(InputError, match="нет ни одной строки"):
        directory_import.preview(loaded, "uo", _csv(tmp_path, "Наименование;Электронная почта\n", name="h.csv"))


def test_entries_search_pages_and_cyrillic_case(loaded):
    for i in range(60):
        directory.add(loaded, "uo", EntryFields(name=f"Школа № {i}", email=f"s{i}@example.org"), by="uo", now=NOW)
    page, total = read.entries(loaded, "uo", limit=50)
    assert len(page) == 50 and total == 60
    found, total = read.entries(loaded, "uo", query="ШКОЛА № 5")
    assert {e.name for e in found} == {"Школа № 5", *(f"Школа № {i}" for i in range(50, 60))} and total == 11
    assert read.entries(loaded, "uo", query="s7@")[1] == 1
    assert read.entries(loaded, "other")[1] == 0  # another coordinator's directory is their own


@pytest.mark.slow
def test_a_6000_row_list_is_previewed_and_applied_in_seconds(loaded, tmp_path):
    lines = ["Наименование;Краткое наименование;Электронная почта;Группа;ИНН"]
    lines += [f"Муниципальное учреждение номер {i};МУ {i};mu{i}@example.org;Школы;{5600000000 + i}"
              for i in range(6000)]
    path = _csv(tmp_path, "\n".join(lines) + "\n")
    start = time.perf_counter()
    shown = directory_import.preview(loaded, "uo", path)
    previewed = time.perf_counter() - start
    start = time.perf_counter()
    directory_import.apply(loaded, "uo", path, by="uo", now=NOW)
    applied = time.perf_counter() - start
    assert shown.counts()["new"] == 6000 and read.entries(loaded, "uo")[1] == 6000 + 1  # and the group «Школы»
    # The targets (≤ 5 s each) are measured by `python -m benchmarks`; a row-by-row path would
    # take minutes, which this bound catches on a loaded machine too.
    assert previewed < 30 and applied < 30, (previewed, applied)


def test_a_new_list_entry_takes_the_id_its_organisation_has_in_the_plans(loaded, tmp_path):
    path = _csv(tmp_path, "Наименование;E-mail\nМБОУ «СОШ № 2»;s2@example.org\nНовая школа;new@example.org\n")
    rows = directory_import.apply(loaded, "uo", path, by="uo", now=NOW).rows
    assert [r.entry_id for r in rows] == ["sch-2", "novaia-shkola"]
    assert addresses(loaded)["sch-2"] == ("s2@example.org", "sch-2")


def test_an_xlsx_list_with_the_header_below_a_title(loaded, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Школы"
    sheet.append(["Список образовательных организаций района"])
    sheet.append(["№", "Полное наименование", "E-mail", "ИНН"])
    sheet.append([1, "МБОУ «СОШ № 1»", "s1@example.org", 5600000001])
    sheet.append([2, "МБОУ «СОШ № 2»", "s2@@example.org", 5600000002])
    path = tmp_path / "школы.xlsx"
    book.save(path)
    rows = directory_import.preview(loaded, "uo", path).rows
    assert [(r.action, r.entry_id) for r in rows] == [("new", "sch-1"), ("error", "")]
    assert rows[1].origin == "школы.xlsx, лист «Школы», строка 4"
    assert rows[0].values["code"] == "5600000001"
