"""Bad-input corpus: plan files and deadline wordings (issue 10, items 4, 5 and 9).

Each case writes a bad plan (built from MINIMAL_PLAN) and runs the real `nok plan validate`
and `nok plan load` on it, each in its own process, against a store that already holds a
plan: both must say what is wrong in Russian, at file:line:col where there is a place,
exit 1 without a traceback, and write nothing — not to the store, not beside the input.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

import pytest

from nok_workflow.plan.source import MAX_DEPTH, MAX_FILE_BYTES
from tests.support.badinput import assert_refused, nok, snapshot
from tests.support.plans import MINIMAL_PLAN

pytestmark = pytest.mark.slow  # every case runs the real `nok` in a process

FILE = "FILE"  # stands for the bad file's path in the expected messages


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes | None  # None: the path is a directory
    message: str  # every expected line, in order; FILE is the path


def edit(old: str, new: str, plan: str = MINIMAL_PLAN) -> str:
    assert old in plan, old
    return plan.replace(old, new)


def text(name: str, plan: str, message: str) -> Case:
    return Case(name, plan.encode("utf-8"), message)


def wording(name: str, deadline: str, message: str) -> Case:
    """MINIMAL_PLAN (period 2024) with the item's deadline (line 15, column 9) replaced."""
    plan = edit("deadline: Январь", "deadline: " + json.dumps(deadline, ensure_ascii=False))
    return text(name, plan, f"{FILE}:15:9: {message}")


def items(count: int) -> str:
    head, item = MINIMAL_PLAN.split("    items:\n")
    return head + "    items:\n" + "".join(item.replace('number: "1"', f'number: "{n}"')
                                          for n in range(1, count + 1))


ITEM_2 = """\
      - number: "2"
        title: Второй пункт
        deadline: Май
        owners: [otdel]
"""
CONTROL = "в YAML допустимы только печатные символы, табуляция и переводы строк — файл повреждён или это не текст"
DEEP = (f"слишком глубокая вложенность YAML: больше {MAX_DEPTH} уровней (в плане их около десяти) — "
        "проверьте скобки и отступы")
FAR = "вне периода плана (2024) больше чем на год: допустимы 2023–2025"
BOMB = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'] + [
    f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)
]

CASES = [
    # --- characters YAML forbids ---------------------------------------------------------
    text("NUL", edit("title: Тестовый план", "title: Тестовый\0план"),
         f"{FILE}:2:16: недопустимый управляющий символ U+0000 (NUL): {CONTROL}"),
    text("BEL in an item", edit("title: Формирование перечня", "title: Формирование\x07перечня"),
         f"{FILE}:14:28: недопустимый управляющий символ U+0007: {CONTROL}"),
    text("ESC", edit("name: Отдел образования", "name: \x1b[1mОтдел"),
         f"{FILE}:7:11: недопустимый управляющий символ U+001B: {CONTROL}"),
    text("DEL", edit("results: [Перечень учреждений]", "results: [Перечень\x7f]"),
         f"{FILE}:17:27: недопустимый управляющий символ U+007F: {CONTROL}"),
    text("C1 control", edit("title: Подготовка", "title: Под\x9bготовка"),
         f"{FILE}:11:15: недопустимый управляющий символ U+009B: {CONTROL}"),
    text("non-character", edit("title: Подготовка", "title: \ufffe"), f"{FILE}:11:12: недопустимый символ U+FFFE: {CONTROL}"),
    Case("binary file", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", f"{FILE}:1:1: файл не в кодировке UTF-8 (байт 0x89); похоже, это не текстовый файл"),
    Case("Windows-1251", MINIMAL_PLAN.encode("cp1251"),
         f"{FILE}:2:8: файл не в кодировке UTF-8 (байт 0xd2); похоже на Windows-1251 — пересохраните файл в UTF-8"),
    # --- nesting depth, size, aliases (checked before anything is composed) ----------------
    text("depth 60 in brackets", MINIMAL_PLAN + "note: " + "[" * 60 + "]" * 60 + "\n", f"{FILE}:18:56: {DEEP}"),
    text("depth 500 in braces", MINIMAL_PLAN + "note: " + "{a: " * 500 + "1" + "}" * 500 + "\n",
         f"{FILE}:18:203: {DEEP}"),
    text("depth 20,000 as dashes", MINIMAL_PLAN + "notes:\n" + "- " * 20_000 + "x\n", f"{FILE}:19:99: {DEEP}"),
    text("depth 50,000 (100 KB, crashed libyaml)", MINIMAL_PLAN + "note: " + "[" * 50_000 + "]" * 50_000 + "\n",
         f"{FILE}:18:56: {DEEP}"),
    text("depth by indentation", MINIMAL_PLAN + "".join("  " * i + "n:\n" for i in range(60)) + "  " * 60 + "x\n",
         f"{FILE}:68:101: {DEEP}"),
    text("depth through aliases",
         "\n".join(["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 60)]) + "\n",
         f"{FILE}:50:12: слишком глубокая вложенность YAML через ссылки (алиасы): больше {MAX_DEPTH} уровней"),
    text("50,000 items", items(50_000),
         f"{FILE}:76926:9: план слишком большой: больше 200\u00a0000 значений YAML (ключей, строк, списков) — "
         "разделите его на несколько планов"),
    text("alias bomb", "\n".join(BOMB) + "\n",
         f"{FILE}:5:38: слишком много раскрываемых ссылок YAML (алиасов): больше 100\u00a0000 узлов"),
    text("recursive alias", "a: &a [*a]\n", f"{FILE}:1:8: рекурсивная ссылка YAML (алиас на себя)"),
    text("alias to nothing", edit("owners: [otdel]", "owners: *owners"),
         f"{FILE}:16:17: ссылка YAML «*owners» на якорь «&owners», которого выше нет"),
    text("anchor twice", edit("owners: [otdel]", "owners: &o [otdel]\n        results: &o [x]"),
         f"{FILE}:17:18: якорь YAML «&o» уже определён (строка 16)"),
    Case("file over 20 MB", b"#" * (MAX_FILE_BYTES + 1),
         f"{FILE}: файл слишком большой: 20\u00a0971\u00a0521 байт, предел — 20 МБ"),
    # --- YAML syntax -------------------------------------------------------------------------
    text("unclosed bracket", edit("owners: [otdel]", "owners: [otdel"),
         f"{FILE}:17:16: ошибка синтаксиса YAML: не закрыта скобка «[»: ожидается «,» или «]»"),
    text("unclosed quote", edit("title: Тестовый план", "title: 'Тестовый план"),
         f"{FILE}:2:8: ошибка синтаксиса YAML: кавычка или скобка не закрыта до конца файла"),
    text("tab indent", edit("        owners: [otdel]", "\towners: [otdel]"),
         f"{FILE}:16:1: ошибка синтаксиса YAML: табуляция в отступе: отступы в YAML делаются пробелами"),
    text("colon in a value", edit("title: Тестовый план", "title: План: проверка: 2024"),
         f"{FILE}:2:12: ошибка синтаксиса YAML: двоеточие здесь недопустимо — значение с «: » возьмите в кавычки"),
    text("bad indentation", edit("    name: Отдел образования", "   name: Отдел образования"),
         f"{FILE}:7:4: ошибка синтаксиса YAML: ожидается элемент списка «- » — проверьте отступы"),
    text("two documents", MINIMAL_PLAN + "---\nid: other\n",
         f"{FILE}:18:1: в файле больше одного документа YAML (---): план должен быть одним документом"),
    text("duplicate key", edit("period: 2024\n", "period: 2024\nperiod: 2025\n"), f"{FILE}:4:1: ключ «period» повторяется"),
    text("python tag", edit("id: test-plan", "id: !!python/object/apply:os.system ['echo pwned']"),
         f"{FILE}:1:5: неподдерживаемый тег YAML «tag:yaml.org,2002:python/object/apply:os.system»"),
    text("!!bool nonsense", edit("period: 2024", "period: 2024\nreview_required: !!bool может быть"),
         f"{FILE}:4:18: недопустимое значение «может быть»: не подходит к тегу YAML «tag:yaml.org,2002:bool»"),
    text("empty file", "", f"{FILE}: файл пуст"),
    text("only comments", "# yaml-language-server: $schema=plan.schema.json\n# план будет\n", f"{FILE}: файл пуст"),
    text("a list, not a plan", "- id: test-plan\n", f"{FILE}:1:1: ожидается описание плана (ключи id, title, period, …)"),
    Case("a directory", None, f"{FILE}: это каталог, а не файл"),
    # --- schema and cross-references together, in file order (item 9) ----------------------
    text("README example: typo, unknown owner, 31.02",
         edit("deadline: Январь", "deadline: до 31.02.2024", edit("owners: [otdel]", "owners: [otdel, imc]",
              edit("        results:", "        resluts:"))),
         f"{FILE}:15:9: невозможная дата в сроке «до 31.02.2024»: 31.02.2024\n"
         f"{FILE}:16:25: исполнитель «imc» не найден в справочнике (directory)\n"
         f"{FILE}:17:9: неизвестный ключ «resluts» (sections[1].items[1].resluts); проверьте написание"),
    text("bad email and unknown coordinator", edit("coordinator: otdel", "coordinator: uo",
                                                   edit("email: otdel@example.org", "email: otdel")),
         f"{FILE}:4:1: координатор «uo» не найден в справочнике (directory)\n"
         f"{FILE}:8:5: directory[1].email: недопустимое значение «otdel»: ожидается адрес электронной почты"),
    text("unknown timezone and a far year", edit("deadline: Январь", "deadline: Декабрь 2030 г.",
                                                 edit("period: 2024", "period: 2024\ntimezone: Europe/Orenburg")),
         f"{FILE}:4:1: timezone: неизвестный часовой пояс «Europe/Orenburg» (пример: Asia/Sakhalin)\n"
         f"{FILE}:16:9: год 2030 в сроке «Декабрь 2030 г.» {FAR}"),
    text("typo at the top and a cycle",
         edit("coordinator: otdel", "coordinator: otdel\nfoo: 1",
              edit("results: [Перечень учреждений]", "results: [Перечень]\n        depends_on: ['1.2']")
              + ITEM_2 + "        depends_on: ['1.1']\n"),
         f"{FILE}:5:1: неизвестный ключ «foo» (foo); проверьте написание\n"
         f"{FILE}:19:9: циклическая зависимость пунктов: 1.1 → 1.2 → 1.1"),
    text("missing title and an unknown dependency",
         edit("        title: Формирование перечня\n", "") + ITEM_2 + "        depends_on: ['1.1', '9.9']\n",
         f"{FILE}:13:9: не хватает обязательного ключа «title» (sections[1].items[1].title)\n"
         f"{FILE}:21:29: depends_on: пункта «9.9» нет в плане"),
    text("duplicate item number", MINIMAL_PLAN + ITEM_2.replace('"2"', '"1."'),
         f"{FILE}:18:9: номер пункта «1.» повторяется (пункт 1.1 уже есть)"),
    text("escalation cycle", edit("    email: otdel@example.org\n", "    email: otdel@example.org\n"
                                  "    escalates_to: imc\n  - id: imc\n    name: МКУ «ИМЦ»\n    escalates_to: otdel\n"),
         f"{FILE}:9:5: цикл в escalates_to: otdel → imc → otdel"),
    text("reversed period", edit("period: 2024", "period: {start: 2024-12-31, end: 2024-01-01}"),
         f"{FILE}:3:1: period: start (2024-12-31) позже end (2024-01-01)"),
    text("period in year 0001", edit("period: 2024", "period: {start: 0001-01-01, end: 0001-12-31}"),
         f"{FILE}:3:1: period: период плана 0001–0001 вне 1900–2200 годов"),
    text("structured due in year 0001", edit("deadline: Январь", "deadline: {due: 0001-01-01}"),
         f"{FILE}:15:9: год 0001 в сроке «due: 0001-01-01» {FAR}"),
    text("structured due 31 February", edit("deadline: Январь", "deadline: {due: 2024-02-31}"),
         f"{FILE}:15:25: недопустимое значение «2024-02-31»: такой даты не существует"),
    text("structured opens after due", edit("deadline: Январь", "deadline: {opens: 2024-05-01, due: 2024-04-01}"),
         f"{FILE}:15:9: sections[1].items[1].deadline: opens (2024-05-01) позже due (2024-04-01)"),
    # --- deadline wordings (item 5) --------------------------------------------------------
    wording("year 0001", "до 01.01.0001", f"год 0001 в сроке «до 01.01.0001» {FAR}"),
    wording("year 9999", "не позднее 31.12.9999", f"год 9999 в сроке «не позднее 31.12.9999» {FAR}"),
    wording("two-digit 74", "до 7.12.74", f"год 1974 в сроке «до 7.12.74» {FAR}"),
    wording("explicit year in a yearly wording", "ежегодно до 1 апреля 2099",
            f"год 2099 в сроке «ежегодно до 1 апреля 2099» {FAR}"),
    wording("reversed dates", "с 15.10.2024 по 01.10.2024",
            "начало позже окончания в сроке «с 15.10.2024 по 01.10.2024»: 15.10.2024 позже 01.10.2024"),
    wording("reversed months", "октябрь 2024 – март 2024",
            "начало позже окончания в сроке «октябрь 2024 – март 2024»: 01.10.2024 позже 31.03.2024"),
    wording("31 February", "до 31.02.2024", "невозможная дата в сроке «до 31.02.2024»: 31.02.2024"),
    wording("29 February of a common year", "до 29.02.2023", "невозможная дата в сроке «до 29.02.2023»: 29.02.2023"),
    wording("day 40 of each quarter", "ежеквартально до 40 числа",
            "невозможное число месяца в сроке «ежеквартально до 40 числа»: 40"),
    wording("30 February every year", "ежегодно до 30 февраля", "невозможная дата в сроке «ежегодно до 30 февраля»"),
    wording("a month in 2030", "Декабрь 2030 г.", f"год 2030 в сроке «Декабрь 2030 г.» {FAR}"),
    wording("a quarter in 2019", "3 квартал 2019 г.", f"год 2019 в сроке «3 квартал 2019 г.» {FAR}"),
    wording("ten years back, then ongoing", "2014 год, далее-постоянно",
            f"год 2014 в сроке «2014 год, далее-постоянно» {FAR}"),
    wording("during 2099", "в течение 2099 года", f"год 2099 в сроке «в течение 2099 года» {FAR}"),
    wording("range ending in 2026", "с 01.10.2024 по 15.10.2026", f"год 2026 в сроке «с 01.10.2024 по 15.10.2026» {FAR}"),
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A store that already holds a plan (made once, copied per case)."""
    root = tmp_path_factory.mktemp("loaded")
    plan = root / "plan.yaml"
    plan.write_text(MINIMAL_PLAN.replace("id: test-plan", "id: loaded-plan"), encoding="utf-8")
    home = root / ".nok"
    assert nok("plan", "load", str(plan), "--now", "2024-01-10", home=home).returncode == 0
    return home


def test_the_corpus_is_large_enough_and_names_are_unique():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refused(loaded, tmp_path, case):
    home = tmp_path / ".nok"
    shutil.copytree(loaded, home)
    path = tmp_path / "input" / "plan.yaml"
    path.parent.mkdir()
    if case.content is None:
        path.mkdir()
    else:
        path.write_bytes(case.content)
    message = case.message.replace(FILE, str(path))
    before = snapshot(tmp_path)
    for command in ("validate", "load"):
        result = nok("plan", command, str(path), home=home)
        err = assert_refused(result, message, before=before, after=snapshot(tmp_path))
        problems = [line for line in err.splitlines() if line.startswith(str(path))]
        assert problems == message.splitlines(), (command, err)  # these errors and no others


def test_the_store_still_holds_only_the_loaded_plan(loaded, tmp_path):
    """What the copies start from: refusals are compared against a store with content."""
    home = tmp_path / ".nok"
    shutil.copytree(loaded, home)
    listed = nok("plan", "list", "--json", home=home)
    assert [p["id"] for p in json.loads(listed.stdout)] == ["loaded-plan"]


DEADLINE_CASES = [
    ("до 01.01.0001", f"ошибка: год 0001 в сроке «до 01.01.0001» {FAR}"),
    ("до 7.12.74", f"ошибка: год 1974 в сроке «до 7.12.74» {FAR}"),
    ("ежегодно до 1 апреля 2099", f"ошибка: год 2099 в сроке «ежегодно до 1 апреля 2099» {FAR}"),
    ("с 15.10.2024 по 01.10.2024",
     "ошибка: начало позже окончания в сроке «с 15.10.2024 по 01.10.2024»: 15.10.2024 позже 01.10.2024"),
    ("до 31.02.2024", "ошибка: невозможная дата в сроке «до 31.02.2024»: 31.02.2024"),
    ("ежеквартально до 40 числа", "ошибка: невозможное число месяца в сроке «ежеквартально до 40 числа»: 40"),
]


@pytest.mark.parametrize(("deadline", "message"), DEADLINE_CASES, ids=[c[0] for c in DEADLINE_CASES])
def test_deadline_command_refuses_what_a_plan_would_be_refused_for(tmp_path, deadline, message):
    home = tmp_path / ".nok"
    before = snapshot(tmp_path)
    result = nok("deadline", deadline, "--year", "2024", home=home)
    assert_refused(result, message, before=before, after=snapshot(tmp_path))
    as_json = nok("deadline", deadline, "--year", "2024", "--json", home=home)
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert (data["kind"], data["occurrences"]) == ("unscheduled", [])
    assert data["errors"] == [message.removeprefix("ошибка: ")]
