"""Word documents: paragraphs before the first table are the preamble, table rows the plan.

A .docx is a zip of XML: it is checked before python-docx opens it, so that a corrupt one,
a zip bomb, or a zip that is another kind of file (.xlsx, .odt, a plain archive) gets a
clear message. Files that are not zips at all are named by `sniff` before this reader runs.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from nok_workflow.importer import sniff
from nok_workflow.importer.archive import ZIP_ERRORS, check_size
from nok_workflow.importer.archive import fail as _fail
from nok_workflow.importer.rows import RawDocument, Row


def check_container(path: Path) -> None:
    """A readable zip, small enough unpacked, that holds a Word document (not a macro one)."""
    if not zipfile.is_zipfile(path):
        raise _fail(path, "файл повреждён или это не документ .docx")
    try:
        with zipfile.ZipFile(path) as archive:
            names = check_size(path, archive)
            foreign = sniff.describe_zip(archive)
    except ZIP_ERRORS:
        raise _fail(path, "файл повреждён: архив .docx не читается") from None
    if foreign is not None:
        raise _fail(path, sniff.message(foreign))
    if "word/document.xml" not in names:
        raise _fail(path, "в архиве нет word/document.xml — это не документ Word")


def read_docx(path: Path) -> RawDocument:
    check_container(path)
    import docx  # python-docx; imported here to keep the CLI's start fast
    from docx.oxml.ns import qn

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises many kinds on a damaged package
        raise _fail(path, f"файл повреждён: {type(exc).__name__}") from None

    doc = RawDocument(str(path))
    body = document.element.body
    tables = iter(document.tables)
    table_no = 0
    for child in body.iterchildren():
        if child.tag == qn("w:p") and not table_no:
            text = "".join(t.text or "" for t in child.iter(qn("w:t")))
            if text.strip():
                doc.preamble.append(text)
        elif child.tag == qn("w:tbl"):
            table_no += 1
            _read_table(next(tables), table_no, doc)
    if not table_no:
        raise _fail(path, "в документе нет таблиц: план должен быть таблицей "
                          "(№, Мероприятие, Срок, Ответственные, Результат)")
    return doc


def _read_table(table, table_no: int, doc: RawDocument) -> None:
    for row_no, row in enumerate(table.rows, start=1):
        cells, seen = [], set()
        for cell in row.cells:
            # A merged cell comes back once per grid column: keep it once, in its first column.
            key = id(cell._tc)
            # Paragraphs of a Word cell are separate lines of the document: "\n\n", as a
            # blank line in the text layouts (one owner per paragraph).
            text = "\n\n".join(p.text for p in cell.paragraphs if p.text.strip())
            cells.append("" if key in seen else text)
            seen.add(key)
        bold = any(run.bold for cell in row.cells for p in cell.paragraphs for run in p.runs)
        doc.rows.append(Row(cells, f"таблица {table_no}, строка {row_no}", bold))
