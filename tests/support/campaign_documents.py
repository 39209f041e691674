"""Plan documents of a campaign's organisations, for the campaign tests: `school_plan` (an
ordinary Word plan of a school), `school_form` (the school's plan in the official №457 form, Word
or Excel, with the same measures and deadlines), and `zip_of`, which packs files as a
coordinator's archiver does."""

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


def school_name(n: int) -> str:
    return f"МБОУ «СОШ № {n}»"


def school_form(n: int, measures: int = 3, year: int = 2024, excel: bool = False) -> bytes:
    """The plan of `school_name(n)` for `year` in the №457 form: the measures of `school_plan`
    (same titles and deadlines), each under a criterion with its shortcoming."""
    import tempfile
    from pathlib import Path

    from tests.support.form457_documents import PEOPLE, form457_docx, form457_xlsx

    rows = [{"criterion": m, "shortcoming": f"Недостаток по критерию {m}",
             "title": f"Мероприятие {m} школы № {n}: обновить раздел сайта «Сведения» {m}",
             "deadline": f"до {m + 4} {('октября', 'ноября', 'декабря')[m % 3]} {year} г.",
             "owners": [PEOPLE[1]["name"]]} for m in range(1, measures + 1)]
    build = form457_xlsx if excel else form457_docx
    with tempfile.TemporaryDirectory(prefix="nok-form-") as folder:
        path = Path(folder) / ("plan.xlsx" if excel else "plan.docx")
        return build(path, org=school_name(n), year=year, measures=rows).read_bytes()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
