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

ACCEPTED = "импорт понимает .docx, .odt, PDF с текстом, таблицы .xlsx, .ods, CSV и текст"
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


def _pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1, the first the catalog), with a correct xref."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def _pdf_with_content(content: bytes, flate: bool = False) -> bytes:
    """One A4 page drawing `content` (Helvetica as /F1)."""
    filters = b" /Filter /FlateDecode" if flate else b""
    return _pdf_file([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d%s >>\nstream\n" % (len(content), filters) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def _deflate_bomb() -> bytes:
    """~1.6 GB of zeros in ~1.6 MB: one 16 MB block compressed after a full flush repeats
    byte for byte (the checksum at the end is wrong, and is never reached)."""
    packer = zlib.compressobj(9)
    block = b"\0" * (16 << 20)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * 100 + packer.flush()


def _blank_pdf(pages: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_with_content(b"BT /F1 12 Tf 72 720 Td (1) Tj ET"))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _scan_pdf() -> bytes:
    """A page photographed: a PNG of a ruled table with text, wrapped into a PDF by img2pdf —
    lines and letters as pixels, no text layer."""
    import img2pdf
    from PIL import Image, ImageDraw

    image = Image.new("L", (1240, 877), 255)
    draw = ImageDraw.Draw(image)
    for y in range(100, 700, 60):
        draw.line((60, y, 1180, y), fill=0, width=2)
    for x in (60, 160, 700, 900, 1180):
        draw.line((x, 100, x, 640), fill=0, width=2)
    draw.text((70, 110), "N  Meropriyatie  Srok  Otvetstvennye", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return img2pdf.convert(buffer.getvalue())


def _xlsx(rows: list[list[str]]) -> bytes:
    """A workbook as openpyxl writes it: formulas kept, no values calculated."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Лист"
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


PLAN_TEXT = "План на 2025 год\n№\tМероприятие\tСрок\tОтветственные\n1\tДоговор\tМай\tОтдел образования\n"

# name → (content, what stderr must say); names lie on purpose where the kind is by content.
CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "plan.pdf": (_pdf, "файл повреждён: в PDF нет ни одной страницы"),
    "pdf-named-as-word.docx": (_pdf, "файл повреждён: в PDF нет ни одной страницы"),
    "blank.pdf": (lambda: _blank_pdf(2), "в PDF нет текста: страницы пусты"),
    "scan.pdf": (lambda: _scan_pdf(), "это PDF без текстового слоя (скан или картинки страниц)"),
    "locked.pdf": (lambda: _encrypted_pdf(), "PDF защищён паролем"),
    "thousand-pages.pdf": (lambda: _blank_pdf(1000), "в PDF 1000 страниц — больше 300, это не план"),
    "no-table.pdf": (lambda: _pdf_with_content(b"BT /F1 12 Tf 72 720 Td (Plan 2025) Tj ET"),
                     "в PDF не найдено таблиц с линиями"),
    "bomb.pdf": (lambda: _pdf_with_content(_deflate_bomb(), flate=True),
                 "разбор файла остановлен: файлу нужно больше 1024 МБ памяти"),
    "slide.odp": (lambda: _zip({"mimetype": "application/vnd.oasis.opendocument.presentation"}),
                  f"это презентация OpenDocument (.odp): {ACCEPTED}"),
    "no-header.xlsx": (lambda: _xlsx([["Школа", "Адрес"], ["СОШ № 1", "ул. Мира, 1"]]),
                       "ни на одном листе («Лист») не найдена строка заголовков плана"),
    "formulas.xlsx": (lambda: _xlsx([["№", "Мероприятие", "Срок"], ["1", "Договор", "=TEXT(TODAY(),\"dd.mm\")"]]),
                      "лист «Лист», ячейка C2: формула без вычисленного значения (=TEXT(TODAY(),\"dd.mm\")) — "
                      "откройте файл в Excel или LibreOffice, пересчитайте и сохраните"),
    "list-cp1251.csv": (lambda: "Школа;Адрес\nСОШ № 1;ул. Мира, 1\nГимназия;пр. Ленина, 2\n".encode("cp1251"),
                        "в таблице не найдена строка заголовков плана"),
    "scan.png": (_png, f"это изображение (PNG): {ACCEPTED}"),
    "photo.txt": (_jpeg, f"это изображение (JPG): {ACCEPTED}"),
    "old.doc": (lambda: _ole("WordDocument"), f"это документ Word старого формата (.doc): {ACCEPTED}"),
    "locked.docx": (lambda: _ole("EncryptedPackage"), "документ зашифрован паролем: " + ACCEPTED),
    "old.xls": (lambda: _ole("Workbook"), f"это таблица Excel старого формата (.xls): {ACCEPTED}"),
    "unknown-ole.docx": (lambda: _ole(None), "файл зашифрован паролем или это старый формат .doc"),
    "archive.zip": (lambda: _zip({"readme.txt": "план внутри"}), f"это zip-архив, а не документ .docx: {ACCEPTED}"),
    "table.xlsx": (lambda: _zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}),
                   "файл повреждён"),
    "plan.odt": (lambda: _zip({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"}),
                 "файл повреждён"),
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


def test_parse_over_its_time_is_stopped(tmp_path):
    """The limit comes from NOK_PARSE_TIMEOUT (30 s by default): a parse over it is stopped."""
    (tmp_path / "in").mkdir()
    document = tmp_path / "in" / "plan.pdf"
    document.write_bytes(_pdf_with_content(b"BT /F1 12 Tf 72 720 Td (Plan 2025) Tj ET"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = snapshot(document.parent, out_dir)
    result = nok("plan", "import", str(document), "-o", str(out_dir / "plan.yaml"), home=tmp_path / "home",
                 env={"NOK_PARSE_TIMEOUT": "0.01"})
    assert_refused(result, f"{document}: разбор файла остановлен: разбор занял больше 0.01 с",
                   before=before, after=snapshot(document.parent, out_dir))


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
