"""Plan validation: schema errors and cross-references, each at its place in the file.

The public entry points; the work is done in :mod:`~nok_workflow.plan.schema_errors`
(pydantic errors in Russian), :mod:`~nok_workflow.plan.schema_repair` (checking the rest
of a plan with schema errors) and :mod:`~nok_workflow.plan.crossref`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nok_workflow.plan import source
from nok_workflow.plan.compiled import CompiledPlan
from nok_workflow.plan.crossref import compile_plan
from nok_workflow.plan.schema import Plan
from nok_workflow.plan.schema_errors import schema_problems
from nok_workflow.plan.schema_repair import check_schema
from nok_workflow.problems import InputError, Problem

__all__ = ["LoadedPlan", "load_plan", "schema_problems", "validate_document"]


@dataclass(frozen=True)
class LoadedPlan:
    file: str
    compiled: CompiledPlan
    warnings: tuple[Problem, ...]
    document: source.SourceDocument

    @property
    def plan(self) -> Plan:
        return self.compiled.plan


def load_plan(path: Path | str) -> LoadedPlan:
    """Read, validate and compile a plan file; InputError lists every error at once."""
    path = Path(path)
    return validate_document(source.load(path))


def validate_document(doc: source.SourceDocument) -> LoadedPlan:
    """Schema errors and cross-reference errors together, in file order; warnings if none."""
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "ожидается описание плана (ключи id, title, period, …)")])
    checked = check_schema(doc)
    problems = list(checked.problems)
    if checked.plan is not None:
        compiled, found = compile_plan(doc, checked.plan, checked.lost, checked.original)
        problems += found
    problems.sort(key=lambda p: (p.line, p.column))  # in file order, as an editor lists them
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    return LoadedPlan(doc.file, compiled, tuple(p for p in problems if p.severity == "warning"), doc)
