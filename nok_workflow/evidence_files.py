"""Evidence files, stored content-addressed (sha256), written once, never overwritten."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import filetype

from nok_workflow.problems import InputError, Problem

# Documents people actually upload as evidence: protocols, orders, contracts, reports, scans.
ALLOWED = {
    "application/pdf", "image/png", "image/jpeg", "image/tiff",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/msword", "application/vnd.ms-excel", "application/x-ole-storage",
    "application/zip", "text/plain",
}
_BAD_NAME = re.compile(r"[/\\\x00]|^\.\.?$|\.\.")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    name: str


def check_name(name: str, where: str) -> str:
    if not name or _BAD_NAME.search(name) or len(name) > 255:
        raise InputError([Problem(where, 0, 0, f"недопустимое имя файла «{name}»: нужно имя без пути")])
    return name


def media_type(content: bytes) -> str | None:
    kind = filetype.guess(content[:8192])
    if kind is not None:
        return kind.mime
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain"


def store(root: Path, content: bytes, name: str, *, max_bytes: int, where: str) -> StoredFile:
    check_name(name, where)
    if not content:
        raise InputError([Problem(where, 0, 0, "файл пуст")])
    if len(content) > max_bytes:
        raise InputError([Problem(where, 0, 0, f"файл больше допустимого ({len(content)} > {max_bytes} байт)")])
    kind = media_type(content)
    if kind not in ALLOWED:
        raise InputError([Problem(where, 0, 0, f"тип файла не подходит для документа ({kind or 'неизвестен'}); "
                                               "принимаются PDF, Word, Excel, OpenDocument, изображения, текст")])
    digest = hashlib.sha256(content).hexdigest()
    path = root / digest[:2] / digest
    if not path.exists():  # same content is the same file: never rewritten
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{digest}.{secrets.token_hex(4)}.tmp"
        with open(tmp, "xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    return StoredFile(digest, len(content), kind, name)


def path_of(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256
