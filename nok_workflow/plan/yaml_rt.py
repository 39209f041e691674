"""A plan's YAML rewritten in place: ruamel.yaml in round-trip mode keeps comments, key order,
quoting, folded lines, indentation and the `# yaml-language-server` head line. Rollover and
the coordinator's edits in the browser both write plans through here."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString, ScalarString
from ruamel.yaml.tokens import CommentToken

from nok_workflow.problems import InputError, Problem

# A document-start marker with only comments before it: ruamel would drop those comments.
_HEAD = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n)*---[ \t]*(?:#[^\n]*)?\n")
# Indentation styles tried on the unchanged plan; the one that reproduces the file is used.
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0))


@dataclass
class RoundTrip:
    """A plan's text as ruamel data (``data``, edited in place) that dumps back in its own style."""

    head: str
    yaml: YAML
    data: Any

    @classmethod
    def load(cls, text: str, file: str, what: str = "не удалось перечитать план") -> RoundTrip:
        head, body = _split_head(text)
        yaml = _yaml()
        try:
            data = yaml.load(body)
        except YAMLError as exc:  # PyYAML read it, ruamel did not: say so rather than crash
            raise InputError([Problem(file, 0, 0, f"{what}: {exc}")]) from None
        _choose_indent(yaml, data, body)
        return cls(head, yaml, data)

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return self.head + out.getvalue()


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1_000_000  # never re-wrap the document's lines
    yaml.allow_unicode = True
    return yaml


def _split_head(text: str) -> tuple[str, str]:
    m = _HEAD.match(text)
    return (m[0], text[m.end():]) if m else ("", text)


def _choose_indent(yaml: YAML, data: Any, body: str) -> None:
    """Keep the file's own indentation: take the style whose dump reproduces it best."""
    original = body.splitlines()

    def mismatch(indent: tuple[int, int, int]) -> int:
        yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
        out = io.StringIO()
        yaml.dump(data, out)
        dumped = out.getvalue().splitlines()
        return sum(a != b for a, b in zip(original, dumped)) + abs(len(original) - len(dumped))

    best = min(_INDENTS, key=mismatch)  # min keeps the first of equals: (2, 4, 2) by default
    yaml.indent(mapping=best[0], sequence=best[1], offset=best[2])


def like(old: Any, new: Any) -> Any:
    """``new`` in the scalar style of ``old`` (quoted, folded, …)."""
    if isinstance(old, ScalarString) and isinstance(new, str):
        styled = type(old)(new)
        if isinstance(old, (FoldedScalarString, LiteralScalarString)):
            # Year shifts keep the length, so the folds still fall between the same words.
            if len(new) == len(old) and getattr(old, "fold_pos", None) is not None:
                styled.fold_pos = list(old.fold_pos)  # type: ignore[attr-defined]
            if getattr(old, "comment", None) is not None:
                styled.comment = old.comment  # type: ignore[attr-defined]
        return styled
    if isinstance(old, int) and not isinstance(old, bool) and isinstance(new, int):
        return type(old)(new)
    return new


def delete_key(mapping: CommentedMap, key: str) -> None:
    """Delete ``key`` but keep the comment lines that follow its value.

    ruamel stores those lines with the deleted key (after its end-of-line comment); they
    belong to what follows, so they move in front of the next key.
    """
    keys = list(mapping)
    value = mapping[key]
    token = (mapping.ca.items.get(key) or [None, None, None])[2]
    del mapping[key]
    mapping.ca.items.pop(key, None)
    following = keys[keys.index(key) + 1:]
    if not isinstance(token, CommentToken) or not following:
        return
    lines = token.value
    if not isinstance(value, (FoldedScalarString, LiteralScalarString)):
        # A one-line value: the token starts with the rest of its line (comment or newline).
        lines = lines.split("\n", 1)[1] if "\n" in lines else ""
    if not lines.strip():
        return
    entry = mapping.ca.items.setdefault(following[0], [None, None, None, None])
    before = [CommentToken(line + "\n", CommentMark(0)) for line in lines.rstrip("\n").split("\n")]
    entry[1] = before + (entry[1] or [])


