"""The organisation a draft in the №457 form is for, added to the coordinator's directory when
the coordinator asks (the draft page's button): never silently. The draft then finds it — the
plan's `organisation`, its people's, and the plan id «nedostatki-<org>-<year>»."""

from __future__ import annotations

import copy
import datetime as dt

from sqlalchemy import Engine
from sqlmodel import Session

from nok_workflow.importer.form457_draft import find_organisation, settle_plan_id
from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import directory
from nok_workflow.services.read.drafts import DraftApplied, fetch, known
from nok_workflow.store.db import write_session


def add_organisation(engine: Engine, draft_id: str, *, owner: str, now: dt.datetime) -> str:
    """The id of the directory entry for the organisation the draft's title names (added now,
    or found there already)."""
    with Session(engine) as session:
        draft = fetch(session, draft_id, owner, now)
        if draft.state != "open":
            raise DraftApplied(draft.plan_id, draft.applied_version)
        name = draft.content["meta"].get("organisation_name")
        if not name:
            raise InputError([Problem(draft.source_name, 0, 0, "в заголовке плана не названа организация")])
        found = find_organisation(name, known(draft.content))
    if found is not None:
        return found["id"]
    entry = directory.add(engine, owner, directory.EntryFields(name=name, kind="organisation"), by=owner, now=now)
    with write_session(engine) as session:
        draft = fetch(session, draft_id, owner, now)
        content = copy.deepcopy(draft.content)  # a new object, so the JSON column is written
        content.setdefault("known", {}).setdefault("standalone", []).append({"id": entry.id, "name": entry.name})
        settle_plan_id(content, known(content))
        draft.content = content
    return entry.id
