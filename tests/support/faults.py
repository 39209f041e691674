"""Fault trials' shared settings: how many kills per database (`NOK_FAULT_TRIALS`; CI: 2, the
tables of docs/faults.md: 10) and where each trial's outcome is appended as a JSON line
(`NOK_FAULT_REPORT`), for the mail and the messenger trials alike."""

from __future__ import annotations

import json
import os

TRIALS = int(os.environ.get("NOK_FAULT_TRIALS", "2"))


def report(**fields) -> None:
    if path := os.environ.get("NOK_FAULT_REPORT"):
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(fields, ensure_ascii=False) + "\n")
