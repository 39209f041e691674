"""Staging: a file copied into the evidence folder, checked on the way, typed once complete.

Its size is known before the first byte is read, the copy stops at the limit + 1 byte, and
sha256 is computed as it goes; whatever fails removes the staging file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from nok_workflow.evidence_files.kinds import Probe, ZipLimits, media_type
from nok_workflow.evidence_files.messages import fail, human_size
from nok_workflow.evidence_files.names import check_name, printable
from nok_workflow.evidence_files.placing import Staged, StoredFile, storage_io
from nok_workflow.evidence_files.sources import (
    PathSource,
    Source,
    StreamSource,
    lstat_regular,
    open_no_follow,
    version,
)

CHUNK = 1024 * 1024


def stage(root: Path, source: Source, *, max_bytes: int, progress: Callable[[int], None] | None = None,
          zip_limits: ZipLimits = ZipLimits()) -> Staged:
    """Read and check a file into the evidence folder's staging area; raise `InputError` if it
    cannot be evidence. `progress` gets the bytes copied so far after each chunk."""
    if isinstance(source, PathSource):
        return _stage_path(root, source, max_bytes, progress, zip_limits)
    return _stage_stream(root, source, max_bytes, progress, zip_limits)


def _stage_path(root: Path, source: PathSource, max_bytes: int, progress: Callable[[int], None] | None,
                zip_limits: ZipLimits) -> Staged:
    raw = os.fsencode(source.path)
    where = printable(raw)
    seen = lstat_regular(raw, where)
    name = check_name(os.path.basename(raw), where)
    fd = open_no_follow(raw, where)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode) or (before.st_dev, before.st_ino) != (seen.st_dev, seen.st_ino):
            raise fail(where, "файл подменён во время загрузки — повторите загрузку")
        _check_size(before.st_size, max_bytes, where)

        def unchanged(copied: int) -> None:
            after = os.fstat(fd)
            if copied != before.st_size or version(after) != version(before):
                raise fail(where, f"файл изменился во время чтения (было {before.st_size} байт, прочитано "
                                  f"{copied}, стало {after.st_size}) — дождитесь, пока его допишут, и повторите")

        return _stage(root, lambda n: os.read(fd, n), name, where, max_bytes, progress, unchanged, zip_limits)
    finally:
        os.close(fd)


def _stage_stream(root: Path, source: StreamSource, max_bytes: int, progress: Callable[[int], None] | None,
                  zip_limits: ZipLimits) -> Staged:
    where = printable(source.name)
    name = check_name(source.name, where)
    if source.size is not None:
        _check_size(source.size, max_bytes, where)

    def complete(copied: int) -> None:
        if source.size is not None and copied != source.size:
            raise fail(where, f"получено {copied} байт, а заявлено {source.size} — загрузка оборвалась, повторите")

    return _stage(root, lambda n: source.stream.read(n) or b"", name, where, max_bytes, progress, complete,
                  zip_limits)


def _check_size(size: int, max_bytes: int, where: str) -> None:
    if size == 0:
        raise fail(where, "файл пуст")
    if size > max_bytes:
        raise fail(where, f"файл больше допустимого: {human_size(size)} при пределе {human_size(max_bytes)} "
                          "(NOK_EVIDENCE_MAX_BYTES)")


def _stage(root: Path, read: Callable[[int], bytes], name: str, where: str, max_bytes: int,
           progress: Callable[[int], None] | None, verify: Callable[[int], None], zip_limits: ZipLimits) -> Staged:
    tmp, fd = _staging_file(root)
    try:
        with os.fdopen(fd, "wb") as out:
            size, sha256, probe = _copy(read, lambda chunk: storage_io(lambda: out.write(chunk), root), max_bytes,
                                        where, progress)
            storage_io(lambda: (out.flush(), os.fsync(out.fileno())), root)
        verify(size)
        if size == 0:
            raise fail(where, "файл пуст")
        kind = media_type(tmp, probe, where, zip_limits)
        return Staged(root, tmp, StoredFile(sha256, size, kind, name))
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _staging_file(root: Path) -> tuple[Path, int]:
    """A new staging file, open for writing, in the evidence folder itself (same file system:
    the final move is a rename; a dot name: never taken for a blob)."""
    def create() -> tuple[Path, int]:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".incoming-{secrets.token_hex(8)}.tmp"
        return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)

    return storage_io(create, root)


def _copy(read: Callable[[int], bytes], write: Callable[[bytes], object], max_bytes: int, where: str,
          progress: Callable[[int], None] | None) -> tuple[int, str, Probe]:
    """Copy at most max_bytes + 1 bytes (one more proves the file too big): its size, sha256
    and what typing needs to see of it."""
    size, digest, probe = 0, hashlib.sha256(), Probe()
    while True:
        try:
            chunk = read(min(CHUNK, max_bytes + 1 - size))
        except OSError as exc:
            raise fail(where, f"файл не читается: {exc.strerror or exc}") from None
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise fail(where, f"файл больше допустимого: больше предела {human_size(max_bytes)} "
                              "(NOK_EVIDENCE_MAX_BYTES)")
        digest.update(chunk)
        probe.feed(chunk)
        write(chunk)
        if progress is not None:
            progress(size)
    probe.feed(b"", final=True)
    return size, digest.hexdigest(), probe
