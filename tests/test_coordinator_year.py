"""Issue 23 end to end through the services the pages call: a coordinator's list of 30 schools
(Excel) and their Word plan naming «Образовательные учреждения» and two people without
addresses become a plan whose every owner is reminded — the schools by the list's addresses, the
two people once their addresses are filled in, without reloading the plan."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils

from sqlmodel import Session, select

from nok_workflow.services.commands import accounts, directory, directory_import, drafts
from nok_workflow.services.read import directory as read_directory
from nok_workflow.services.read import drafts as review
from nok_workflow.store.models import Party
from tests.support.plan_documents import GROUP, SCHOOLS, schools_xlsx, word_plan

MOMENT = dt.datetime(2024, 10, 1, 9, tzinfo=dt.UTC)


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
    assert first.owners[0].reach == f"организаций: {SCHOOLS}" and not first.owners[0].unreached
    assert sorted(shown.unreached) == sorted(people)  # the page's «Без адреса почты» list

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
