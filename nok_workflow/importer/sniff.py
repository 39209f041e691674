"""What a file really is, judged by its content: the importer reads .docx, .odt, PDF with a
text layer, .xlsx, .ods, CSV and UTF-8 text (`kind` picks the reader).

A scan, an old .doc or .xls, a presentation must be named as such in the refusal — read as
text, each would only get «файл не в кодировке UTF-8», which sends the user the wrong way.
The recognition is shared with the evidence intake (`nok_workflow.filekinds`); what is kept
here is the importer's policy: what the file is called and what to do instead.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from nok_workflow import filekinds
from nok_workflow.filekinds import (DOC, DOCM, DOCX, DOTX, ENCRYPTED, EPUB, ODS, ODT, OLE_SIGNATURE, PPT, PPTX,
                                    XLS, XLSX)

HEAD_BYTES = 8192
ZIP_SIGNATURE = b"PK"  # any zip, even an empty one: `describe_zip` looks inside
_OLE_SCAN_BYTES = 8 * 1024 * 1024  # stream names sit in the directory sectors, near the start
ACCEPTED = "импорт понимает .docx, .odt, PDF с текстом, таблицы .xlsx, .ods, CSV и текст"
_SAVE_AS_DOCX = "откройте его в Word и сохраните как .docx («Файл → Сохранить как»)"
_SAVE_AS_XLSX = "откройте её в Excel или LibreOffice и сохраните как .xlsx («Файл → Сохранить как»)"
_COPY_TO_WORD = "скопируйте таблицу плана в документ Word и сохраните его как .docx"
_ORIGINAL = "нужен исходный документ плана (.docx, .odt, .xlsx или PDF, сохранённый из Word), а не снимок или скан"
_UNPACK = "распакуйте архив и укажите сам документ"


@dataclass(frozen=True)
class Foreign:
    """A file of a kind the importer does not read: what it is and what to do instead."""

    what: str  # «это PDF»
    advice: str


def describe(path: Path, head: bytes) -> Foreign | None:
    """The kind of a file that is neither a zip, PDF nor text, or None (a zip, a PDF, or maybe text).

    Zips (a .docx is one) are left to `describe_zip`, which looks inside."""
    if is_pdf(head):
        return None
    if head.startswith(OLE_SIGNATURE):
        return _describe_ole(path)
    if head.startswith(ZIP_SIGNATURE):
        return None
    if kind := filekinds.guess(head):
        return _by_filetype(kind.extension, kind.mime)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith((b"<!doctype html", b"<html")):
        return Foreign("это HTML-страница", "сохраните документ в Word как .docx, а не как веб-страницу")
    if _is_utf16(head):
        return Foreign("это текст в кодировке UTF-16", "пересохраните его в кодировке UTF-8")
    if _is_binary(head):
        return Foreign("это двоичный файл неизвестного формата", "нужен документ плана: .docx, .odt, PDF, .xlsx, .ods или текст")
    return None


def is_pdf(head: bytes) -> bool:
    """A PDF's header may follow up to 1 KB of junk (readers accept it)."""
    return b"%PDF-" in head[:1024]


def zip_kind(archive: zipfile.ZipFile) -> str | None:
    """XLSX, ODS or ODT for a zip the importer reads other than as Word; None otherwise
    (a .docx, or a foreign zip `describe_zip` names)."""
    names = set(archive.namelist())
    if filekinds.main_part(names) == XLSX:
        return XLSX
    if filekinds.MIMETYPE in names:
        mimetype = filekinds.declared_mimetype(archive, 100)
        if mimetype in (ODS, ODT):
            return mimetype
    return None


def describe_zip(archive: zipfile.ZipFile) -> Foreign | None:
    """The kind of a zip the importer does not read, or None for a .docx, .xlsx, .ods, .odt (or
    a damaged .docx that still has `word/` in it: the container check names what is missing)."""
    names = set(archive.namelist())
    main = filekinds.main_part(names)
    if main == DOCX:
        return _word_variant(archive)
    if main == XLSX:
        return None
    if main == PPTX:
        return Foreign("это презентация PowerPoint (.pptx)", _COPY_TO_WORD)
    if filekinds.MIMETYPE in names:
        # Read short (it is quoted in the message); str.strip() also drops \x1c-\x1f, as it always has here.
        return _open_document(filekinds.declared_mimetype(archive, 100).strip())
    if any(n.startswith("word/") for n in names):
        return None
    return Foreign("это zip-архив, а не документ .docx", _UNPACK)


def name_zip(head: bytes) -> Foreign:
    """A zip named without opening it, where any zip is wrong (a directory must be YAML)."""
    kind = filekinds.guess(head)
    if kind is not None and kind.extension == "docx":
        return Foreign("это документ Word (.docx)", "")
    return Foreign(f"это zip-архив или документ Office (.{kind.extension if kind else 'zip'})", "")


def message(foreign: Foreign, accepted: str = ACCEPTED) -> str:
    return f"{foreign.what}: {accepted} — {foreign.advice}"


def _word_variant(archive: zipfile.ZipFile) -> Foreign | None:
    """A .docm or .dotx has word/document.xml too, but python-docx refuses its content type."""
    try:
        types = filekinds.read_start(archive, filekinds.CONTENT_TYPES, 65536)
    except KeyError:
        return None
    if filekinds.declares(types, DOCM):
        return Foreign("это документ Word с макросами (.docm)", "сохраните его в Word как обычный .docx")
    if filekinds.declares(types, DOTX):
        return Foreign("это шаблон Word (.dotx)", "создайте по нему документ и сохраните его как .docx")
    return None


def _open_document(mimetype: str) -> Foreign | None:
    if mimetype in (ODT, ODS):
        return None
    if mimetype.endswith("opendocument.text-template"):
        return Foreign("это шаблон OpenDocument (.ott)", "создайте по нему документ и сохраните его как .odt")
    if mimetype.endswith("opendocument.presentation"):
        return Foreign("это презентация OpenDocument (.odp)", _COPY_TO_WORD)
    if mimetype == EPUB:
        return Foreign("это электронная книга (EPUB)", "нужен исходный документ плана (.docx)")
    return Foreign(f"это архив ({mimetype or 'zip'}), а не документ .docx", _UNPACK)


def _describe_ole(path: Path) -> Foreign:
    """Old Office files and password-protected .docx share the OLE container; the names of
    its streams (UTF-16 in the directory) tell them apart."""
    with path.open("rb") as handle:
        data = handle.read(_OLE_SCAN_BYTES)
    kind = filekinds.ole_kind(lambda stream: stream.encode("utf-16-le") in data)
    if kind == ENCRYPTED:
        return Foreign("документ зашифрован паролем", "снимите пароль в Word и сохраните документ как .docx")
    if kind == DOC:
        return Foreign("это документ Word старого формата (.doc)", _SAVE_AS_DOCX)
    if kind == XLS:
        return Foreign("это таблица Excel старого формата (.xls)", _SAVE_AS_XLSX)
    if kind == PPT:
        return Foreign("это презентация PowerPoint старого формата (.ppt)", _COPY_TO_WORD)
    return Foreign("файл зашифрован паролем или это старый формат .doc",
                   "сохраните его в Word как .docx без пароля")


def _by_filetype(extension: str, mime: str) -> Foreign:
    if extension == "rtf":
        return Foreign("это документ RTF", _SAVE_AS_DOCX)
    if mime.startswith("image/"):
        return Foreign(f"это изображение ({extension.upper()})", _ORIGINAL)
    if mime.startswith(("audio/", "video/")):
        return Foreign(f"это аудио или видео ({extension.upper()})", "нужен документ плана (.docx)")
    if extension in ("rar", "7z", "gz", "bz2", "xz", "tar", "zst", "lz", "lz4", "Z", "cab", "br"):
        return Foreign(f"это архив ({extension.upper()})", _UNPACK)
    return Foreign(f"это файл формата {extension.upper()} ({mime})",
                   "нужен документ плана: .docx, .odt, PDF, .xlsx, .ods или текст")


def _is_utf16(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    # Without a BOM: every other byte is a character's high byte — 0x00 for ASCII (spaces,
    # digits, line ends), 0x04 for Cyrillic — while the bytes between are almost never zero.
    sample = head[: len(head) - len(head) % 2][:1024]
    for high, low in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
        if (len(high) >= 8 and 0 in high and sum(b in (0, 4) for b in high) > 0.9 * len(high)
                and sum(b != 0 for b in low) > 0.9 * len(low)):
            return True
    return False


def _is_binary(head: bytes) -> bool:
    """Text has no NUL and almost no control characters (tab, line ends and form feed aside)."""
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if (b < 0x20 and b not in b"\t\n\r\x0b\x0c") or b == 0x7F)
    return control > max(2, len(head) // 50)
