"""The evidence folder: a staged file's move to its content-addressed path, undone on failure.

Same content = same path, so an existing blob is never rewritten; a blob placed for a
transaction that then fails is removed, so no failure leaves a blob behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from nok_workflow.evidence_files.messages import fail

T = TypeVar("T")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    name: str


class Staged:
    """A checked file waiting in the evidence folder for the caller's own checks.

    Used as a context manager around the caller's transaction: entering takes the folder's
    lock (so "did this blob exist before me?" has one answer), `place()` moves the file to its
    content-addressed path, and leaving with an exception removes the staged file and any blob
    `place()` created. Take the lock before the database's locks (enter this first), so two
    uploads never wait for each other crosswise.
    """

    def __init__(self, root: Path, tmp: Path, file: StoredFile) -> None:
        self.root, self.tmp, self.file = root, tmp, file
        self._lock: int | None = None
        self._created: Path | None = None
        self._made_dir = False

    def __enter__(self) -> Staged:
        try:
            self._lock = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            if exc_type is not None:
                self._undo_place()
        finally:
            with suppress(OSError):
                os.unlink(self.tmp)
            self._release()

    def place(self) -> StoredFile:
        """Move the file to its content-addressed path; an existing blob is the same content
        and is kept as it is, never rewritten."""
        if self._lock is None:
            raise RuntimeError("Staged.place() outside its `with` block")
        final = path_of(self.root, self.file.sha256)
        if final.exists():
            return self.file
        self._made_dir = not final.parent.exists()

        def move() -> None:
            final.parent.mkdir(exist_ok=True)
            os.replace(self.tmp, final)
            self._created = final
            _fsync_dir(final.parent)

        storage_io(move, self.root)
        return self.file

    def _undo_place(self) -> None:
        if self._created is None:
            return
        with suppress(OSError):
            os.unlink(self._created)
            if self._made_dir:
                os.rmdir(self._created.parent)
        self._created = None

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing drops the flock
            self._lock = None


def storage_io(action: Callable[[], T], root: Path) -> T:
    """The evidence folder's own failures (disk full, no rights) as a clear message."""
    try:
        return action()
    except OSError as exc:
        raise fail(str(root), f"не удалось записать в хранилище документов: {exc.strerror or exc}") from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def path_of(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256
