"""The bad-input corpus of `nok plan import`: files that are not a plan the importer can read.

Each case runs the real CLI in its own process: a Russian message naming the file and what it
is, exit code 1, no traceback, and nothing written — neither the output file nor a temporary
one beside it or beside the input. The inputs are built here, byte by byte; several carry a
misleading name, because the kind is judged by content.
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from tests.support.badinput import assert_refused, nok, snapshot

pytestmark = pytest.mark.slow  # every case runs the real `nok` in a process

ACCEPTED = "импорт понимает .docx и текст"
OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
WORD_TEMPLATE = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"


def _pdf() -> bytes:
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1×1, greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
            + chunk(b"IEND", b""))


def _jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def _ole(stream: str | None) -> bytes:
    """An OLE container's header and, in its directory sector, one stream name (UTF-16)."""
    body = bytearray(OLE_HEADER + b"\x00" * 504 + b"\x00" * 512)
    if stream is not None:
        body[512:512 + 2 * len(stream)] = stream.encode("utf-16-le")
    return bytes(body)


def _zip(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _docx(build: Callable[[docx.document.Document], object]) -> bytes:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _word_as(content_type: str) -> bytes:
    """A Word document whose body has another content type: saved with macros, or a template."""
    source = zipfile.ZipFile(io.BytesIO(_docx(lambda d: d.add_table(rows=1, cols=2))))
    members: dict[str, bytes | str] = {n: source.read(n) for n in source.namelist()}
    types = source.read("[Content_Types].xml").decode("utf-8")
    members["[Content_Types].xml"] = types.replace(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", content_type)
    return _zip(members)


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (120 * 1024 * 1024))
    return buffer.getvalue()


def _noise() -> bytes:
    return random.Random(10).randbytes(4096)


PLAN_TEXT = "План на 2025 год\n№\tМероприятие\tСрок\tОтветственные\n1\tДоговор\tМай\tОтдел образования\n"

# name → (content, what stderr must say); names lie on purpose where the kind is by content.
CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "plan.pdf": (_pdf, f"это PDF: {ACCEPTED}"),
    "pdf-named-as-word.docx": (_pdf, f"это PDF: {ACCEPTED}"),
    "scan.png": (_png, f"это изображение (PNG): {ACCEPTED}"),
    "photo.txt": (_jpeg, f"это изображение (JPG): {ACCEPTED}"),
    "old.doc": (lambda: _ole("WordDocument"), f"это документ Word старого формата (.doc): {ACCEPTED}"),
    "locked.docx": (lambda: _ole("EncryptedPackage"), "документ зашифрован паролем: " + ACCEPTED),
    "old.xls": (lambda: _ole("Workbook"), f"это таблица Excel старого формата (.xls): {ACCEPTED}"),
    "unknown-ole.docx": (lambda: _ole(None), "файл зашифрован паролем или это старый формат .doc"),
    "archive.zip": (lambda: _zip({"readme.txt": "план внутри"}), f"это zip-архив, а не документ .docx: {ACCEPTED}"),
    "table.xlsx": (lambda: _zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}),
                   f"это таблица Excel (.xlsx): {ACCEPTED}"),
    "plan.odt": (lambda: _zip({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"}),
                 f"это документ OpenDocument (.odt): {ACCEPTED}"),
    "macros.docx": (lambda: _word_as("application/vnd.ms-word.document.macroEnabled.main+xml"),
                    f"это документ Word с макросами (.docm): {ACCEPTED}"),
    "template.docx": (lambda: _word_as(WORD_TEMPLATE), f"это шаблон Word (.dotx): {ACCEPTED}"),
    "plan.rtf": (lambda: b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} \\f0 \\u1055?\\u1083?\\u1072?\\u1085?}",
                 f"это документ RTF: {ACCEPTED}"),
    "saved-as-web-page.txt": (lambda: "<!DOCTYPE html>\n<html><body><table><tr><td>№</td></tr></table>".encode(),
                              f"это HTML-страница: {ACCEPTED}"),
    "unicode.txt": (lambda: PLAN_TEXT.encode("utf-16"), f"это текст в кодировке UTF-16: {ACCEPTED}"),
    "unicode-no-bom.txt": (lambda: PLAN_TEXT.encode("utf-16-le"), f"это текст в кодировке UTF-16: {ACCEPTED}"),
    "plans.tar.gz": (lambda: gzip.compress(PLAN_TEXT.encode()), f"это архив (GZ): {ACCEPTED}"),
    "noise.bin": (_noise, f"это двоичный файл неизвестного формата: {ACCEPTED}"),
    "empty.docx": (lambda: b"", "файл пуст"),
    "cp1251.txt": (lambda: PLAN_TEXT.encode("cp1251"), "не в кодировке UTF-8 (байт 0xcf); похоже на Windows-1251"),
    "no-tables.docx": (lambda: _docx(lambda d: d.add_paragraph("План без таблицы")), "в документе нет таблиц"),
    "no-header.docx": (lambda: _docx(lambda d: d.add_table(rows=2, cols=2)), "не найдена строка заголовков таблицы"),
    "corrupt.docx": (lambda: _docx(lambda d: d.add_table(rows=1, cols=1))[:700], "файл повреждён"),
    "bomb.docx": (_zip_bomb, "слишком много для плана"),
    "no-header.txt": (lambda: "Просто текст\nбез таблицы\n".encode(), "не найдена строка заголовков таблицы"),
    "no-year.txt": (lambda: PLAN_TEXT.replace("План на 2025 год", "План мероприятий").encode(),
                    "в документе не указан год плана: задайте его, например --year 2025"),
}


def _run(tmp_path: Path, document: Path, *extra: str) -> tuple[object, dict, dict]:
    """Run the import with the input and the output in their own folders; snapshot both."""
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    watched = (document.parent, out_dir)
    before = snapshot(*watched)
    result = nok("plan", "import", str(document), "-o", str(out_dir / "plan.yaml"), *extra, home=tmp_path / "home")
    return result, before, snapshot(*watched)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_document_is_refused(tmp_path, name):
    make, message = CASES[name]
    (tmp_path / "in").mkdir()
    document = tmp_path / "in" / name
    document.write_bytes(make())
    extra = () if name == "no-year.txt" else ("--year", "2025")
    result, before, after = _run(tmp_path, document, *extra)
    err = assert_refused(result, message, before=before, after=after)
    assert err.startswith(f"{document}:")  # the message names the file
    assert not (tmp_path / "out" / "plan.yaml").exists()


def test_missing_document(tmp_path):
    result, before, after = _run(tmp_path, tmp_path / "in" / "nowhere.docx")
    assert_refused(result, "nowhere.docx: файл не найден", before=before, after=after)


def test_folder_instead_of_document(tmp_path):
    (tmp_path / "in" / "plan.docx").mkdir(parents=True)
    result, before, after = _run(tmp_path, tmp_path / "in" / "plan.docx")
    assert_refused(result, "plan.docx: это каталог, а не файл", before=before, after=after)


def test_directory_that_is_a_pdf(tmp_path):
    (tmp_path / "in").mkdir()
    document = tmp_path / "in" / "plan.txt"
    document.write_text(PLAN_TEXT, encoding="utf-8")
    people = tmp_path / "in" / "people.yaml"
    people.write_bytes(_pdf())
    result, before, after = _run(tmp_path, document, "--directory", str(people))
    assert_refused(result, f"{people}: это PDF: справочник — это YAML-файл", before=before, after=after)


def test_directory_that_is_the_word_document(tmp_path):
    """Arguments swapped: the plan document given as the directory."""
    (tmp_path / "in").mkdir()
    document = tmp_path / "in" / "plan.txt"
    document.write_text(PLAN_TEXT, encoding="utf-8")
    people = tmp_path / "in" / "people.yaml"
    people.write_bytes(_docx(lambda d: d.add_paragraph("План")))
    result, before, after = _run(tmp_path, document, "--directory", str(people))
    assert_refused(result, f"{people}: это документ Word (.docx): справочник — это YAML-файл",
                   before=before, after=after)


def test_the_corpus_plan_itself_imports(tmp_path):
    """The text the bad cases spoil is a good plan: the refusals come from the spoiling."""
    (tmp_path / "in").mkdir()
    document = tmp_path / "in" / "plan.txt"
    document.write_text(PLAN_TEXT, encoding="utf-8")
    result, _, _ = _run(tmp_path, document)
    assert result.returncode == 0, result.stderr.decode()
    assert (tmp_path / "out" / "plan.yaml").exists()
