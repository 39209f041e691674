"""What a file is by its content: the recognition the evidence intake and the plan importer share.

Each caller keeps its own policy and words — the intake accepts an allowlist, the importer
names what it got and advises — so this module only answers questions about the bytes and the
open zip it is given, in the order the caller asks them (a damaged zip fails on the entry read,
so reading order is the caller's). It opens no file itself.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Collection
from typing import NamedTuple

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCM = "application/vnd.ms-word.document.macroEnabled.12"
DOTX = "application/vnd.openxmlformats-officedocument.wordprocessingml.template"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
EPUB = "application/epub+zip"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
ENCRYPTED = "encrypted"  # not a media type: an Office file under a password, OOXML inside OLE

CONTENT_TYPES = "[Content_Types].xml"
MIMETYPE = "mimetype"  # ODF and EPUB: the first entry, the media type in plain ASCII
# OOXML: each kind's main part, checked in this order (Word first).
MAIN_PART = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml", PPTX: "ppt/presentation.xml"}
# What [Content_Types].xml says of a kind, found as bytes: the XML is never parsed (it may be crafted).
_DECLARED = {DOCX: b"wordprocessingml.document.main+xml", XLSX: b"spreadsheetml.sheet.main+xml",
             DOCM: b"macroEnabled", DOTX: b"wordprocessingml.template.main"}


class Guess(NamedTuple):
    extension: str
    mime: str


def guess(head: bytes) -> Guess | None:
    """`filetype`'s guess, for the long tail of formats neither caller lists itself."""
    import filetype  # only a refused file gets here; keeps the CLI's start fast

    kind = filetype.guess(head)
    return Guess(kind.extension, kind.mime) if kind is not None else None


def ole_kind(has: Callable[[str], bool]) -> str | None:
    """ENCRYPTED, DOC, XLS or PPT by the streams an OLE container holds, or None (an .msi
    installer or a .msg letter is OLE too). `has(stream)` comes from the caller: olefile,
    or a scan of the raw bytes."""
    if has("EncryptedPackage"):
        return ENCRYPTED
    if has("WordDocument"):
        return DOC
    if has("Workbook") or has("Book"):
        return XLS
    if has("PowerPoint Document"):
        return PPT
    return None


def main_part(names: Collection[str]) -> str | None:
    """DOCX, XLSX or PPTX by the main part a zip holds, whatever its content types say."""
    return next((kind for kind, part in MAIN_PART.items() if part in names), None)


def declares(content_types: bytes, kind: str) -> bool:
    """Whether [Content_Types].xml names DOCX, XLSX, DOCM or DOTX."""
    return _DECLARED[kind] in content_types


def declared_mimetype(archive: zipfile.ZipFile, limit: int) -> str:
    """The media type in an ODF or EPUB zip's `mimetype` entry (which must exist)."""
    return read_start(archive, MIMETYPE, limit).strip().decode("ascii", "replace")


def read_start(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """At most `limit` bytes of an entry: a crafted archive may inflate any of them."""
    with archive.open(name) as entry:
        return entry.read(limit)
