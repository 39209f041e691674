"""Two schools' shortcomings plans in one campaign, with evidence whose comment and file name name
people: what the public pages are tested on (tests/test_public_progress.py, tests/test_web_public.py).
Also every personal datum of the store, to look for in what the pages show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.commands import evidence, plans
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.store.models import Account, Campaign, Evidence, Party, Plan
from tests.support.paths import PLANS

SOSH5 = "shortcomings-sosh5-2025"
SOSH7 = "shortcomings-sosh7-2025"
CAMPAIGN = "nok-2024"
EXAMPLE = PLANS / "shortcomings-sosh5-2025.yaml"
# 10 June 2025, 09:00 in Moscow: I.1 done in February, IV.6 (by 30 April) late, III.4 (III quarter) not yet.
NOW = dt.datetime(2025, 6, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# The second school: its own people (one without a position), names and addresses.
_SOSH7 = [(SOSH5, SOSH7), ("sosh-5", "sosh-7"), ("СОШ № 5", "СОШ № 7"), ("sosh5", "sosh7"),
          ("Петров Иван Игоревич", "Кузнецов Олег Викторович"), ("Иванова Мария Петровна", "Смирнова Анна Сергеевна"),
          ("Сидоров Алексей Андреевич", "Волков Дмитрий Павлович"), ("    position: заместитель директора по АХЧ\n", "")]

# What people wrote with their documents: names in the comment and in the file name.
COMMENT = "Табло установил Сидоров Алексей Андреевич, акт подписала Иванова М. П."
FILE_NAME = "Акт Сидоров А.А. и Петров И.И. — табло.pdf"
LATE_COMMENT = "Семинар провела Смирнова Анна Сергеевна (протокол у Кузнецова)"
LATE_FILE = "Протокол_Смирнова_семинар.pdf"


def second_school(folder: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in _SOSH7:
        assert old in text, old
        text = text.replace(old, new)
    path = folder / f"{SOSH7}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def two_schools(engine, folder: Path, *, public_campaign: bool = False) -> Path:
    """Both plans loaded in the campaign (closed unless `public_campaign`), evidence submitted:
    sosh-5 III.5 on time, sosh-7 IV.6 late. The evidence folder is returned."""
    plans.load(engine, EXAMPLE, actor=None, now=NOW - dt.timedelta(days=120))
    plans.load(engine, second_school(folder), actor=None, now=NOW - dt.timedelta(days=120))
    with Session(engine) as session:
        session.add(Campaign(id=CAMPAIGN, owner="uo", title="НОК-2024: школы Заречного района", year=2025,
                             created_at=NOW - dt.timedelta(days=130), public=public_campaign))
        for plan_id in (SOSH5, SOSH7):
            session.get(Plan, plan_id).campaign_id = CAMPAIGN
        session.commit()
    files = folder / "evidence"
    evidence.submit(engine, files, plan_id=SOSH5, item="III.5", by="sidorov-aa", now=NOW,
                    upload=evidence.Upload(PDF, FILE_NAME), comment=COMMENT)
    evidence.submit(engine, files, plan_id=SOSH7, item="IV.6", by="ivanova-mp", now=NOW,
                    document_date=dt.date(2025, 5, 20), upload=evidence.Upload(PDF, LATE_FILE), comment=LATE_COMMENT)
    return files


def personal_data(engine) -> list[str]:
    """Every person's full name and surname alone (the plans' directories and the party table),
    every e-mail address, every person's id, and what people wrote with their documents."""
    found: set[str] = set()
    with Session(engine) as session:
        for party in session.execute(select(Party)).scalars():
            if party.kind == "person":
                found |= {party.name, party.name.split()[0], party.id}
            if party.email:
                found.add(party.email)
        for e in session.execute(select(Evidence)).scalars():
            found |= {t for t in (e.file_name, e.comment) if t}
        for account in session.execute(select(Account)).scalars():
            found |= {a for a in (account.email,) if a}
        plan_ids = list(session.execute(select(Plan.id)).scalars())
    for plan_id in plan_ids:
        for entry in current_plan(engine, plan_id).loaded.plan.directory:
            if entry.kind == "person":
                found |= {entry.name, entry.name.split()[0], entry.id}
            if entry.email:
                found.add(entry.email)
    assert {"Петров Иван Игоревич", "Петров", "Смирнова", "Волков", "petrov@sosh5.example.org", "sidorov-aa",
            COMMENT, FILE_NAME} <= found
    return sorted(found)
