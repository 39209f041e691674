"""Where an upload comes from, and opening a path without following or blocking on it."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import BinaryIO

from nok_workflow.evidence_files.messages import fail
from nok_workflow.evidence_files.names import printable


@dataclass(frozen=True)
class PathSource:
    """A file on this machine (the CLI); a symbolic link or anything but a regular file is refused."""

    path: str | bytes | os.PathLike[str] | os.PathLike[bytes]


@dataclass(frozen=True)
class StreamSource:
    """A binary stream (a web upload) with its declared name and, if known, its declared size."""

    stream: BinaryIO
    name: str | bytes
    size: int | None = None


Source = PathSource | StreamSource

_NOT_REGULAR = ((stat.S_ISDIR, "это каталог, а не файл"),
                (stat.S_ISFIFO, "это именованный канал (FIFO), а не обычный файл"),
                (stat.S_ISCHR, "это устройство, а не обычный файл"),
                (stat.S_ISBLK, "это устройство, а не обычный файл"),
                (stat.S_ISSOCK, "это сокет, а не обычный файл"))


def version(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What changes when a file is replaced or written to."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def lstat_regular(raw: bytes, where: str) -> os.stat_result:
    """Refuse what is not a regular file before opening it: opening a FIFO or a device may
    block or act, and a symbolic link may lead anywhere (/etc/passwd)."""
    try:
        seen = os.lstat(raw)
    except OSError as exc:
        raise fail(where, _open_error(exc)) from None
    if stat.S_ISLNK(seen.st_mode):
        try:
            target = f" (на «{printable(os.readlink(raw))}»)"
        except OSError:
            target = ""
        raise fail(where, f"это символическая ссылка{target}: укажите сам файл")
    for test, message in _NOT_REGULAR:
        if test(seen.st_mode):
            raise fail(where, message)
    if not stat.S_ISREG(seen.st_mode):
        raise fail(where, "это не обычный файл")
    return seen


def open_no_follow(raw: bytes, where: str) -> int:
    # O_NONBLOCK: a FIFO swapped in after lstat must not hang the open.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        return os.open(raw, flags)
    except OSError as exc:
        raise fail(where, _open_error(exc)) from None


def _open_error(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return "файл не найден"
    if isinstance(exc, PermissionError):
        return "нет прав на чтение файла"
    if exc.errno == errno.ELOOP:
        return "это символическая ссылка: укажите сам файл"
    return f"файл не открывается: {exc.strerror or exc}"
