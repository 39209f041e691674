"""Zip containers (.docx, .xlsx, .ods, .odt) checked before a library opens them: readable,
and not a zip bomb (total unpacked size and ratio bounded)."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from nok_workflow.problems import InputError, Problem

MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 200
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError, OSError,
              EOFError)  # RuntimeError: an encrypted member


def fail(path: Path | str, message: str) -> InputError:
    return InputError([Problem(str(path), 0, 0, message)])


def check_size(path: Path, archive: zipfile.ZipFile) -> set[str]:
    """The names in the archive, once its unpacked size is known to be sane."""
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO:
        raise fail(path, f"документ распаковывается в {total // (1024 * 1024)} МБ — "
                         "слишком много для плана или таблицы; файл отклонён")
    return {i.filename for i in infos}


def open_checked(path: Path, what: str) -> set[str]:
    """Names of a readable, sane zip; `what` names the expected kind in the message («.xlsx»)."""
    if not zipfile.is_zipfile(path):
        raise fail(path, f"файл повреждён или это не {what}")
    try:
        with zipfile.ZipFile(path) as archive:
            return check_size(path, archive)
    except ZIP_ERRORS:
        raise fail(path, f"файл повреждён: архив {what} не читается") from None
