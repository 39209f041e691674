"""Atomic writing of user files: whole or not at all, never a stray temporary file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nok_workflow.files import write_atomically
from nok_workflow.problems import InputError


def test_unwritable_directory_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(InputError, match="нет прав на запись в каталог"):
        write_atomically(tmp_path / "new.yaml", "x\n")
    assert list(tmp_path.iterdir()) == []


def test_failed_replace_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    output = tmp_path / "new.yaml"
    output.write_text("старое\n", encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(InputError, match="не удалось записать файл: No space left on device"):
        write_atomically(output, "новое\n", force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["new.yaml"]
    assert output.read_text(encoding="utf-8") == "старое\n"


def test_forced_overwrite_keeps_the_file_mode(tmp_path: Path):
    output = tmp_path / "new.yaml"
    output.write_text("старое\n", encoding="utf-8")
    output.chmod(0o640)
    write_atomically(output, "новое\n", force=True)
    assert output.read_text(encoding="utf-8") == "новое\n"
    assert output.stat().st_mode & 0o777 == 0o640
