"""How the intake words a refusal: one problem, placed at the file (or the store) it is about."""

from __future__ import annotations

from nok_workflow.problems import InputError, Problem


def fail(where: str, message: str) -> InputError:
    return InputError([Problem(where, 0, 0, message)])


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} байт"
    value = float(n)
    for unit in ("КБ", "МБ", "ГБ", "ТБ"):
        value /= 1024
        if value < 1024:
            break
    return f"{value:.1f} {unit} ({n} байт)".replace(".", ",")
