"""Plan documents of a campaign's organisations, for the campaign tests: `school_plan` is the one
place they are made (the №457 builders of tests/support/form457_documents.py replace it later),
and `zip_of` packs files as a coordinator's archiver does."""

from __future__ import annotations

import io
import zipfile


def school_plan(n: int, measures: int = 3, year: int = 2024) -> bytes:
    """A Word plan of «МБОУ СОШ № n» for `year`: `measures` rows, deadlines in October–December."""
    import docx

    document = docx.Document()
    document.add_paragraph(f"План мероприятий по устранению недостатков, выявленных в ходе независимой оценки "
                           f"качества условий осуществления образовательной деятельности, МБОУ СОШ № {n} на {year} год")
    table = document.add_table(rows=0, cols=5)
    rows = [("№ п/п", "Наименование мероприятия", "Срок исполнения", "Ответственные", "Результат")]
    for m in range(1, measures + 1):
        rows.append((str(m), f"Мероприятие {m} школы № {n}: обновить раздел сайта «Сведения» {m}",
                     f"до {m + 4} {('октября', 'ноября', 'декабря')[m % 3]} {year} г.", f"Директор МБОУ СОШ № {n}",
                     "Ссылка на страницу сайта"))
    for values in rows:
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
