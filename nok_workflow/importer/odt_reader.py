"""OpenDocument text (.odt, odfdo): paragraphs before the first table are the preamble, table
rows the plan — as a Word document's (merged cells once, in their first column)."""

from __future__ import annotations

from pathlib import Path

from nok_workflow.importer import limits
from nok_workflow.importer.archive import fail, open_checked
from nok_workflow.importer.rows import RawDocument, Row

MAX_ROWS = 20_000
_BODY = "text:p|text:h|table:table|text:section/text:p|text:section/text:h|text:section/table:table"


def read_odt(path: Path) -> RawDocument:
    return limits.run_limited(read_odt_here, Path(path), source=str(path))


def read_odt_here(path: Path) -> RawDocument:
    open_checked(path, ".odt")
    import odfdo

    from nok_workflow.importer.odf_tables import rows

    try:
        document = odfdo.Document(str(path))
        body = document.body
    except Exception as exc:  # odfdo/lxml raise many kinds on a damaged package
        raise fail(path, f"файл повреждён: {type(exc).__name__}") from None
    doc = RawDocument(str(path))
    table_no = 0
    for element in body.get_elements(_BODY):
        if element.tag == "table:table":
            table_no += 1
            where = f"таблица {table_no}"
            for number, cells in rows(element, "\n\n", str(path), MAX_ROWS, where):
                doc.rows.append(Row(cells, f"{where}, строка {number}"))
        elif not table_no and (text := str(element).strip()):
            doc.preamble.append(text)
    if not table_no:
        raise fail(path, "в документе нет таблиц: план должен быть таблицей "
                         "(№, Мероприятие, Срок, Ответственные, Результат)")
    return doc
