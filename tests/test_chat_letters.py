"""The digest as Telegram HTML and MAX markdown: the same content as the mail, escaped, split at
the messenger's limit between lines, the upload link as the button (pure functions)."""

from __future__ import annotations

import datetime as dt
import re

from nok_workflow.services.delivery.chat_letters import LIMITS, render, split
from nok_workflow.services.delivery.digest import Contact, Entry, digest_context

DAY = dt.date(2024, 10, 8)
LINK = "https://nok.example.org/u/plan-1/school-7/abc"


def entry(n: int, **fields) -> Entry:
    base = dict(kind="reminder", step=3, plan="План <НОКО> & «2024»", plan_id="plan-1", key=f"1.{n}",
                title=f"Анкета № {n} для *родителей* [проект] <b>не тег</b>", org="Школа № 7",
                documents="Отчёт_форма.docx", due=DAY + dt.timedelta(days=3), link=LINK)
    return Entry(**(base | fields))


def context(entries: list[Entry]) -> dict:
    return digest_context("Иванова И. И.", DAY, entries)


def test_telegram_html_names_the_items_escaped_with_only_supported_tags():
    text = render(context([entry(1), entry(2, kind="escalation", owner=False, due=DAY - dt.timedelta(days=6),
                                           late_owners=(Contact("Школа № 9", "s9@example.org"),))]), "telegram")
    assert len(text.parts) == 1
    body = text.parts[0]
    assert "Здравствуйте, Иванова И. И.!" in body
    assert "<b>План &lt;НОКО&gt; &amp; «2024»</b>" in body
    assert "Анкета № 1 для *родителей* [проект] &lt;b&gt;не тег&lt;/b&gt; (Школа № 7)" in body
    assert "<b>Эскалировано вам: исполнители не представили документы</b>" in body
    assert "<b>Скоро срок</b>" in body
    assert "Исполнитель: Школа № 9, s9@example.org" in body
    assert "Срок: 11 октября 2024\u202fг. — осталось 3 дня" in body
    assert set(re.findall(r"</?([a-z]+)", body)) <= {"b", "a"}  # Telegram's HTML: nothing it would refuse
    assert text.button == ("Загрузить документы", LINK)


def test_max_markdown_escapes_its_marks():
    body = render(context([entry(1)]), "max").parts[0]
    assert "**План <НОКО> & «2024»**" in body
    assert r"Анкета № 1 для \*родителей\* \[проект\] <b>не тег</b>" in body
    assert r"Отчёт\_форма.docx" in body


def test_a_long_digest_is_split_between_lines_under_each_limit_with_the_button_on_the_last():
    many = [entry(n, title=f"Пункт про анкетирование получателей услуг, вариант {n} " + "слово " * 20)
            for n in range(80)]
    for channel in ("telegram", "max"):
        text = render(context(many), channel)
        assert len(text.parts) >= 3
        assert all(len(p) <= LIMITS[channel] for p in text.parts)
        joined = "\n".join(text.parts)
        for n in range(80):
            assert f"вариант {n} " in joined  # nothing lost at a cut
        for part in text.parts:  # each part whole: every tag it opens it closes
            assert part.count("<b>") == part.count("</b>")
            assert part.count("**") % 2 == 0
        assert text.button == ("Загрузить документы", LINK)


def test_split_cuts_only_between_lines_and_a_too_long_line_between_words():
    lines = ["а" * 10, "", "б" * 10, "в" * 10]
    assert split(lines, 21) == ["а" * 10, "б" * 10 + "\n" + "в" * 10]
    assert split(["слово " * 10], 20) == ["слово слово слово", "слово слово слово", "слово слово слово",
                                          "слово "]


def test_several_plans_each_name_their_link_and_the_button_is_the_first():
    other = "https://nok.example.org/u/plan-2/school-7/def"
    text = render(context([entry(1), entry(2, plan="Второй план", plan_id="plan-2", link=other)]), "telegram")
    assert f'<a href="{other}">Загрузить документы</a>' in text.parts[0]
    assert text.button[1] in (LINK, other)
