"""Documents made in memory for the evidence intake's tests: PDF bytes, Word and Excel files
written by their libraries, zip archives (a zip bomb too), OpenDocument shells and minimal OLE
compound files (legacy .doc/.xls)."""

from __future__ import annotations

import io
import struct
import zipfile

PDF_BYTES = b"%PDF-1.4\n% protocol\n"
MB = 1024 * 1024



def docx_bytes() -> bytes:
    import docx

    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Протокол заседания общественного совета")
    document.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    import openpyxl

    out = io.BytesIO()
    book = openpyxl.Workbook()
    book.active["A1"] = "Перечень организаций"
    book.save(out)
    return out.getvalue()


def zip_bytes(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def odf_bytes(kind: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", kind, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
    return out.getvalue()


FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def ole_bytes(stream: str, size: int = 4096) -> bytes:
    """A minimal OLE compound file (v3, 512-byte sectors) holding one stream of `size` >= 4096
    bytes, so it lives in regular sectors: sector 0 is the FAT, 1 the directory, 2.. the stream."""
    sectors = size // 512
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + bytes(6) + struct.pack("<9I", 0, 1, 1, 0, 4096, END, 0, END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREE) * 108)
    fat = [FAT_SECTOR, END] + [3 + i for i in range(sectors - 1)] + [END]
    fat_sector = struct.pack(f"<{len(fat)}I", *fat) + struct.pack("<I", FREE) * (128 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, length: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", NO_STREAM, NO_STREAM, child) + bytes(36) + struct.pack("<III", start, length, 0))

    directory = (entry("Root Entry", 5, 1, END, 0) + entry(stream, 2, NO_STREAM, 2, size)
                 + entry("", 0, NO_STREAM, 0, 0) * 2)
    return header + fat_sector + directory + b"x" * size


def bomb(size: int = 20 * MB) -> bytes:
    """A .docx-shaped zip whose document part is `size` zero bytes: ~1000:1."""
    ooxml = docx_package()
    ooxml["word/document.xml"] = bytes(size)
    return zip_bytes(ooxml)


def docx_package() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}

