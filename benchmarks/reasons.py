"""Why a target is missed, as found when it was investigated: the table prints it beside the
figure. A target is never relaxed; a figure missing without an entry here says so."""

from __future__ import annotations

REASONS: dict[str, str] = {  # the start of a figure's label → what we found
}


def reason_for(label: str) -> str:
    return next((why for start, why in REASONS.items() if label.startswith(start)), "")
