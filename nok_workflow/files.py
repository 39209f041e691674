"""Writing user files so that an error never leaves a half-written or clobbered file."""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from pathlib import Path

from nok_workflow.problems import InputError, Problem


def write_atomically(path: Path, text: str | bytes, *, force: bool = False) -> None:
    """Write ``text`` (UTF-8) or bytes to ``path`` whole or not at all (temporary file + os.replace)."""
    file = str(path)
    if path.is_dir():
        raise InputError([Problem(file, 0, 0, "это каталог, а не файл")])
    if path.exists() and not force:
        raise InputError([Problem(file, 0, 0, "файл уже существует; добавьте --force, чтобы перезаписать")])
    directory = path.parent
    # Same directory, so that os.replace is a rename within one file system.
    tmp = directory / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        mode = path.stat().st_mode & 0o7777 if path.exists() else None
        # Opened by hand rather than by tempfile: tempfile's 0600 would not follow the umask.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise InputError([Problem(file, 0, 0, _write_error(exc, directory))]) from None
    try:
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise InputError([Problem(file, 0, 0, _write_error(exc, directory))]) from None
        raise


def _write_error(exc: OSError, directory: Path) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"каталог «{directory}» не существует"
    if isinstance(exc, NotADirectoryError):
        return f"«{directory}» — не каталог"
    if isinstance(exc, PermissionError):
        return f"нет прав на запись в каталог «{directory}»"
    return f"не удалось записать файл: {exc.strerror or exc}"
