"""A page never tells a coordinator to type a command: no template of the coordinator's or the
executor's pages names a `nok` command (the API's documentation, for scripts, may)."""

from __future__ import annotations

import re

from tests.support.paths import ROOT

TEMPLATES = ROOT / "nok_workflow" / "web" / "templates"
FOR_SCRIPTS = {"api_docs.html"}


def test_no_page_for_people_names_a_nok_command():
    named = {
        path.name: match.group(0)
        for path in sorted(TEMPLATES.glob("*.html")) if path.name not in FOR_SCRIPTS
        for match in [re.search(r"\bnok (?:plan|sweep|serve|status|outbox|feed|report|user|token|directory|evidence)\b",
                                path.read_text(encoding="utf-8"))] if match
    }
    assert named == {}
