"""The evidence intake (`nok_workflow.evidence_files`): what it reads, refuses, stores and leaves behind.

Real files only: sparse files, a FIFO, symbolic links, a file written to during the copy, names
in raw bytes, zip bombs built with zipfile, Office files written by python-docx and openpyxl.
"""

from __future__ import annotations

import contextlib

import datetime as dt
import io
import os
import struct
import threading
import unicodedata
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from nok_workflow.evidence_files import (
    DOC,
    DOCX,
    ODS,
    ODT,
    PDF,
    TEXT,
    XLS,
    XLSX,
    PathSource,
    StreamSource,
    ZipLimits,
    display_name,
    path_of,
    printable,
    stage,
)
from nok_workflow.problems import InputError
from nok_workflow.services.commands import plans
from nok_workflow.services.commands.evidence import list_evidence, submit
from tests.support.documents import (
    MB,
    PDF_BYTES,
    bomb,
    docx_bytes,
    docx_package,
    odf_bytes,
    ole_bytes,
    xlsx_bytes,
    zip_bytes,
)
from tests.support.paths import PLANS


def message(info: pytest.ExceptionInfo[InputError]) -> str:
    return str(info.value)


def refused(root: Path, source, **kwargs) -> str:
    """The intake refuses `source` and leaves no file in the evidence folder."""
    with pytest.raises(InputError) as info:
        stage(root, source, max_bytes=kwargs.pop("max_bytes", 50 * MB), **kwargs)
    assert leftovers(root) == []
    return message(info)


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def store(root: Path, source, max_bytes: int = 50 * MB):
    with stage(root, source, max_bytes=max_bytes) as staged:
        return staged.place()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "evidence"


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


# --- size: known before reading, and never more than limit + 1 bytes read ------------------

def test_a_big_sparse_file_is_refused_from_its_size_without_reading(tmp_path, root):
    big = tmp_path / "big.pdf"
    with open(big, "wb") as handle:
        handle.truncate(2 * 1024 * MB)
    chunks: list[int] = []
    text_ = refused(root, PathSource(big), max_bytes=1024, progress=chunks.append)
    assert "файл больше допустимого: 2,0 ГБ (2147483648 байт) при пределе 1,0 КБ (1024 байт)" in text_
    assert chunks == []  # not one chunk was copied


class Endless(io.RawIOBase):
    """/dev/zero as a stream without a declared size (a web upload that never ends)."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        self.served += n
        return b"\0" * n


@pytest.mark.slow
def test_an_endless_stream_is_read_only_to_the_limit_plus_one_byte(root):
    endless = Endless()
    text_ = refused(root, StreamSource(endless, "zero.pdf"), max_bytes=3 * MB + 5)
    assert "больше предела 3,0 МБ (3145733 байт)" in text_
    assert endless.served == 3 * MB + 6


@pytest.mark.slow
def test_a_declared_size_over_the_limit_is_refused_before_reading(root):
    endless = Endless()
    assert "при пределе 1,0 КБ" in refused(root, StreamSource(endless, "a.pdf", size=5000), max_bytes=1024)
    assert endless.served == 0


def test_a_stream_shorter_than_declared_is_a_broken_upload(root):
    text_ = refused(root, StreamSource(io.BytesIO(PDF_BYTES), "a.pdf", size=len(PDF_BYTES) + 10))
    assert f"получено {len(PDF_BYTES)} байт, а заявлено {len(PDF_BYTES) + 10}" in text_


def test_empty_files_are_refused(tmp_path, root):
    assert refused(root, PathSource(write(tmp_path / "e.pdf", b""))).endswith("e.pdf: файл пуст")
    assert "файл пуст" in refused(root, StreamSource(io.BytesIO(b""), "e.pdf"))


# --- only regular files, never through a link ------------------------------------------------

def test_devices_fifos_directories_and_sockets_are_refused_before_opening(tmp_path, root):
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(refused(root, PathSource(fifo))), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the FIFO hung the intake"
    assert outcome == [f"{fifo}: это именованный канал (FIFO), а не обычный файл"]
    assert refused(root, PathSource("/dev/zero")) == "/dev/zero: это устройство, а не обычный файл"
    assert refused(root, PathSource(tmp_path)) == f"{tmp_path}: это каталог, а не файл"
    assert refused(root, PathSource(tmp_path / "nope.pdf")) == f"{tmp_path / 'nope.pdf'}: файл не найден"


def test_symbolic_links_are_refused_whatever_they_point_to(tmp_path, root):
    real = write(tmp_path / "real.pdf", PDF_BYTES)
    for target in ("/etc/passwd", str(real), str(tmp_path), str(tmp_path / "missing")):
        link = tmp_path / "link.pdf"
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        assert refused(root, PathSource(link)) == f"{link}: это символическая ссылка (на «{target}»): укажите сам файл"


# --- a file that changes while it is read ----------------------------------------------------

def test_a_file_appended_to_during_the_copy_is_refused(tmp_path, root):
    growing = write(tmp_path / "growing.pdf", PDF_BYTES + b"x" * (3 * MB))

    def append_once(copied: int) -> None:
        if copied == 1 * MB:  # after the first chunk, as a writer still at work would
            with open(growing, "ab") as handle:
                handle.write(b"more")

    text_ = refused(root, PathSource(growing), progress=append_once)
    size = len(PDF_BYTES) + 3 * MB
    assert f"файл изменился во время чтения (было {size} байт, прочитано {size + 4}, стало {size + 4})" in text_


def test_a_file_rewritten_in_place_during_the_copy_is_refused(tmp_path, root):
    rewritten = write(tmp_path / "same-size.pdf", PDF_BYTES + b"a" * (2 * MB))
    os.utime(rewritten, ns=(1_000_000_000, 1_000_000_000))  # an old mtime: any write changes it

    def overwrite(copied: int) -> None:
        if copied == 1 * MB:
            with open(rewritten, "r+b") as handle:
                handle.write(b"%PDF-1.7")  # same size, new bytes in the part already read

    assert "файл изменился во время чтения" in refused(root, PathSource(rewritten), progress=overwrite)


def test_an_unchanged_file_passes_and_progress_sees_every_chunk(tmp_path, root):
    content = PDF_BYTES + b"z" * (2 * MB + 7)
    seen: list[int] = []
    with stage(root, PathSource(write(tmp_path / "ok.pdf", content)), max_bytes=50 * MB,
               progress=seen.append) as staged:
        stored = staged.place()
    assert seen == [MB, 2 * MB, len(content)]
    assert path_of(root, stored.sha256).read_bytes() == content
    assert (stored.size, stored.media_type, stored.name) == (len(content), PDF, "ok.pdf")


# --- names -----------------------------------------------------------------------------------

def test_a_non_utf8_name_is_stored_with_replacement_characters(tmp_path, root):
    raw = os.fsencode(tmp_path) + b"/protokol-\xff\xfe.pdf"
    with open(raw, "wb") as handle:
        handle.write(PDF_BYTES)
    assert store(root, PathSource(raw)).name == "protokol-\ufffd\ufffd.pdf"
    # A name from argv carries the same bytes as surrogate escapes.
    assert store(root, PathSource(os.fsdecode(raw))).name == "protokol-\ufffd\ufffd.pdf"
    assert printable(raw).endswith("/protokol-\\xff\\xfe.pdf")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("evil\u202efdp.exe", "evilfdp.exe"),  # right-to-left override: would read "evilexe.pdf"
        ("\x1b[31mred\x1b[0m.pdf", "[31mred[0m.pdf"),  # terminal escapes lose their ESC
        ("tab\tnew\nline\r.pdf", "tabnewline.pdf"),
        ("zero\u200bwidth\u2066.pdf", "zerowidth.pdf"),
        ("a..b.pdf", "a..b.pdf"),  # harmless: only a name, never a path
        (unicodedata.normalize("NFD", "Протокол №1 — й.pdf"), "Протокол №1 — й.pdf"),  # NFC
        ("  spaced.pdf  ", "spaced.pdf"),
    ],
)
def test_names_are_stored_clean(root, raw, clean):
    stored = store(root, StreamSource(io.BytesIO(PDF_BYTES), raw))
    assert stored.name == clean and display_name(raw) == clean
    assert unicodedata.is_normalized("NFC", stored.name)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "недопустимое имя файла «../../etc/passwd»: нужно имя без пути"),
        ("C:\\Users\\a.pdf", "нужно имя без пути"),
        ("..", "недопустимое имя файла «..»: в нём нет видимых символов имени"),
        ("\x1b\u202e", "недопустимое имя файла «\\x1b\\u202e»: в нём нет видимых символов имени"),
        ("", "в нём нет видимых символов имени"),
        ("я" * 256 + ".pdf", "имя файла длиннее 255 символов (260)"),
    ],
)
def test_names_that_cannot_be_a_file_name_are_refused(root, raw, expected):
    assert expected in refused(root, StreamSource(io.BytesIO(PDF_BYTES), raw))


def test_messages_show_hidden_characters_as_escapes(tmp_path, root):
    exe = write(tmp_path / "evil\u202efdp\x1b.exe", b"MZ\x90\x00" + bytes(200))
    text_ = refused(root, PathSource(exe))
    assert "\u202e" not in text_ and "\x1b" not in text_
    assert "evil\\u202efdp\\x1b.exe: тип файла не подходит для документа" in text_


# --- type by content -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (PDF_BYTES, PDF),
        (b"\xef\xbb\xbf\n   %PDF-1.7\n", PDF),  # the header may follow a few bytes of junk
        (b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png"),
        (b"\xff\xd8\xff\xe0" + bytes(32), "image/jpeg"),
        (b"II*\x00" + bytes(32), "image/tiff"),
        (b"MM\x00*" + bytes(32), "image/tiff"),
        ("Протокол №1\tот 17.09.2024\r\n".encode(), TEXT),
        (ole_bytes("WordDocument"), DOC),
        (ole_bytes("Workbook"), XLS),
        (ole_bytes("Book"), XLS),  # Excel 5/95
    ],
)
def test_allowed_types_are_recognised_by_content(root, content, kind):
    assert store(root, StreamSource(io.BytesIO(content), "file.bin")).media_type == kind


def test_office_documents_written_by_office_libraries_are_accepted(root):
    assert store(root, StreamSource(io.BytesIO(docx_bytes()), "protokol.docx")).media_type == DOCX
    assert store(root, StreamSource(io.BytesIO(xlsx_bytes()), "perechen.xlsx")).media_type == XLSX
    assert store(root, StreamSource(io.BytesIO(odf_bytes(ODT)), "protokol.odt")).media_type == ODT
    assert store(root, StreamSource(io.BytesIO(odf_bytes(ODS)), "perechen.ods")).media_type == ODS


def test_a_zip_that_is_not_an_office_document_is_refused(root):
    plain = zip_bytes({"readme.txt": b"hello", "setup.exe": b"MZ"})
    assert "архив zip, но не документ Word, Excel или OpenDocument" in refused(
        root, StreamSource(io.BytesIO(plain), "protokol.docx"))
    # The names alone are not enough: the content types must declare a Word main part.
    fake = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    assert "архив zip, но не документ" in refused(root, StreamSource(io.BytesIO(fake), "fake.docx"))
    odf_lie = odf_bytes("application/vnd.oasis.opendocument.presentation")
    assert "архив zip, но не документ" in refused(root, StreamSource(io.BytesIO(odf_lie), "slides.odt"))


def test_a_zip_bomb_is_refused_from_its_directory(root):
    text_ = refused(root, StreamSource(io.BytesIO(bomb()), "bomb.docx"))
    assert "часть «word/document.xml» сжат" in text_ and "при пределе 200" in text_ and "zip-бомбу" in text_


def test_a_zip_whose_directory_claims_a_huge_size_is_refused(root):
    data = bytearray(zip_bytes(docx_package(), zipfile.ZIP_STORED))
    entry = data.index(b"PK\x01\x02")  # the first central-directory record
    data[entry + 24:entry + 28] = struct.pack("<I", 3 * 1024 * MB)  # "uncompressed size": 3 GB
    text_ = refused(root, StreamSource(io.BytesIO(bytes(data)), "forged.docx"))
    assert "документ распаковывается в 3,0 ГБ" in text_ and "при пределе 512,0 МБ" in text_


def test_zip_limits_total_and_entry_count(root):
    package = docx_package()
    total = sum(len(v) for v in package.values())
    text_ = refused(root, StreamSource(io.BytesIO(zip_bytes(package)), "a.docx"),
                    zip_limits=ZipLimits(total=total - 1))
    assert f"документ распаковывается в {total // 1024}," in text_
    many = package | {f"customXml/item{i}.xml": b"<x/>" for i in range(30)}
    text_ = refused(root, StreamSource(io.BytesIO(zip_bytes(many)), "a.docx"), zip_limits=ZipLimits(entries=20))
    assert f"в архиве документа {len(many)} частей при пределе 20" in text_


def test_encrypted_and_damaged_containers_are_refused(root):
    encrypted = bytearray(zip_bytes(docx_package(), zipfile.ZIP_STORED))
    first = encrypted.index(b"PK\x01\x02")
    encrypted[first + 8] |= 0x1  # the "encrypted" flag of the first entry
    assert "зашифрован паролем" in refused(root, StreamSource(io.BytesIO(bytes(encrypted)), "a.docx"))
    assert "зашифрован паролем" in refused(root, StreamSource(io.BytesIO(ole_bytes("EncryptedPackage")), "a.docx"))
    torn = zip_bytes(docx_package())[:2000]
    assert "файл повреждён: архив документа не читается" in refused(root, StreamSource(io.BytesIO(torn), "a.docx"))
    junk_ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600
    assert "контейнер OLE (.doc/.xls) не читается" in refused(root, StreamSource(io.BytesIO(junk_ole), "a.doc"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"MZ\x90\x00" + bytes(200), "(application/x-msdownload)"),
        (ole_bytes("MsiTable"), "(контейнер OLE без документа Word или Excel)"),
        ("Протокол в кодировке Windows".encode("cp1251"), "текст не в кодировке UTF-8"),
        (b"<!DOCTYPE html><script>alert(1)</script>", "(разметка HTML/XML, а не простой текст)"),
        (b"  <svg onload=alert(1)>", "(разметка HTML/XML"),
        (b"text\x00with a NUL", "(неизвестный двоичный формат)"),
        (b"\x1b[2J\x1b[31mred", "(неизвестный двоичный формат)"),
    ],
)
def test_other_types_are_refused_naming_what_they_are(root, content, expected):
    text_ = refused(root, StreamSource(io.BytesIO(content), "doc.pdf"))
    assert "тип файла не подходит для документа" in text_ and expected in text_


# --- placing: content-addressed, never overwritten, nothing left by a failure ----------------

def test_same_content_is_one_file_never_rewritten(root):
    first = store(root, StreamSource(io.BytesIO(PDF_BYTES), "a.pdf"))
    blob = path_of(root, first.sha256)
    os.utime(blob, ns=(1_000_000_000, 1_000_000_000))
    second = store(root, StreamSource(io.BytesIO(PDF_BYTES), "b.pdf"))
    assert (second.sha256, second.name) == (first.sha256, "b.pdf")
    assert blob.stat().st_mtime_ns == 1_000_000_000
    assert leftovers(root) == [first.sha256[:2], f"{first.sha256[:2]}/{first.sha256}"]


def test_a_failure_after_placing_removes_the_new_blob_but_keeps_an_old_one(root):
    with pytest.raises(RuntimeError), stage(root, StreamSource(io.BytesIO(PDF_BYTES), "a.pdf"),
                                            max_bytes=MB) as staged:
        staged.place()
        assert path_of(root, staged.file.sha256).exists()
        raise RuntimeError("the transaction failed")
    assert leftovers(root) == []
    kept = store(root, StreamSource(io.BytesIO(PDF_BYTES), "a.pdf"))
    with pytest.raises(RuntimeError), stage(root, StreamSource(io.BytesIO(PDF_BYTES), "b.pdf"),
                                            max_bytes=MB) as staged:
        staged.place()
        raise RuntimeError("the transaction failed")
    assert path_of(root, kept.sha256).read_bytes() == PDF_BYTES


def test_a_staged_file_that_is_never_placed_is_removed(root):
    with stage(root, StreamSource(io.BytesIO(PDF_BYTES), "a.pdf"), max_bytes=MB):
        assert len(leftovers(root)) == 1  # the staging file, under the evidence folder
    assert leftovers(root) == []


def test_placing_needs_the_folder_lock(root):
    staged = stage(root, StreamSource(io.BytesIO(PDF_BYTES), "a.pdf"), max_bytes=MB)
    with pytest.raises(RuntimeError, match="outside"):
        staged.place()
    with staged:
        pass
    assert leftovers(root) == []


# --- through the service: a transaction that fails after the file was placed -----------------

@contextlib.contextmanager
def _refuse_evidence_rows(engine):
    """A real database failure at the evidence insert, after every check has passed; the
    trigger goes when the block ends (a PostgreSQL store outlives the test: it is emptied)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER no_evidence BEFORE INSERT ON evidence "
                              "BEGIN SELECT RAISE(ABORT, 'no evidence today'); END"))
        else:
            conn.execute(text("CREATE FUNCTION no_evidence() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'no evidence today'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER no_evidence BEFORE INSERT ON evidence "
                              "FOR EACH ROW EXECUTE FUNCTION no_evidence()"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("DROP TRIGGER no_evidence"))
            else:
                conn.execute(text("DROP TRIGGER no_evidence ON evidence"))
                conn.execute(text("DROP FUNCTION no_evidence()"))


def test_a_failed_transaction_leaves_no_blob(engine, tmp_path):
    at = dt.datetime(2024, 9, 25, 12, tzinfo=dt.UTC)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at)
    root = tmp_path / "ev"
    pdf = write(tmp_path / "protokol.pdf", PDF_BYTES)
    with _refuse_evidence_rows(engine), pytest.raises(Exception, match="no evidence today"):
        submit(engine, root, plan_id="orenburg-raion-2024", item="I.1", by="sovet", now=at,
               upload=PathSource(pdf))
    assert leftovers(root) == [] and list_evidence(engine) == []


def test_the_service_takes_a_path_or_a_stream(engine, tmp_path):
    at = dt.datetime(2024, 9, 25, 12, tzinfo=dt.UTC)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at)
    root = tmp_path / "ev"
    by_path = submit(engine, root, plan_id="orenburg-raion-2024", item="I.1", by="sovet", now=at,
                     upload=PathSource(write(tmp_path / "a..b.pdf", PDF_BYTES)))
    by_stream = submit(engine, root, plan_id="orenburg-raion-2024", item="III.3", by="operator", now=at,
                       upload=StreamSource(io.BytesIO(docx_bytes()), "Протокол\u202e.docx"))
    assert (by_path.file_name, by_path.media_type) == ("a..b.pdf", PDF)
    assert (by_stream.file_name, by_stream.media_type) == ("Протокол.docx", DOCX)
    assert path_of(root, by_stream.sha256).exists()


# --- document dates, on both databases -------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"document_date": dt.date(1900, 1, 1)}, "дата документа 01.01.1900 раньше 01.01.2000 — проверьте год"),
        ({"document_date": dt.date(1, 1, 1)}, "дата документа 01.01.0001 раньше 01.01.2000"),
        ({"document_date": dt.date(2024, 6, 30)},
         "дата документа 30.06.2024 раньше открытия пункта I.1 (2024-Q3) 01.07.2024; такой документ может "
         "принять координатор плана (uo) с --allow-early «причина»"),
        ({"item": "I.2"}, "дата документа 25.09.2024 (сегодня) раньше открытия пункта I.2 (2024-Q4) 01.10.2024"),
        ({"item": "I.2", "allow_early": "подписан заранее"},
         "--allow-early может указать только координатор плана (uo), не «sovet»"),
        ({"item": "I.2", "by": "uo", "allow_early": " "}, "--allow-early требует причины"),
    ],
)
def test_document_dates_outside_their_bounds_are_refused(engine, tmp_path, kwargs, expected):
    at = dt.datetime(2024, 9, 25, 12, tzinfo=dt.UTC)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at)
    args = {"plan_id": "orenburg-raion-2024", "item": "I.1", "by": "sovet", "now": at,
            "upload": PathSource(write(tmp_path / "p.pdf", PDF_BYTES))} | kwargs
    with pytest.raises(InputError) as info:
        submit(engine, tmp_path / "ev", **args)
    assert expected in message(info)
    assert list_evidence(engine) == [] and leftovers(tmp_path / "ev") == []


def test_the_coordinator_lets_an_early_document_in_and_the_audit_says_why(engine, tmp_path):
    from nok_workflow.services.commands.audit import events
    from nok_workflow.services.read.obligations import list_obligations

    at = dt.datetime(2024, 9, 25, 12, tzinfo=dt.UTC)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at)
    submit(engine, tmp_path / "ev", plan_id="orenburg-raion-2024", item="I.2", by="uo", now=at,
           url="https://example.org/dogovor", document_date=dt.date(2024, 9, 20),
           allow_early="договор подписан до начала квартала")
    details = [e.details for e in events(engine, plan_id="orenburg-raion-2024") if e.action == "evidence.submit"]
    assert details[0]["allow_early"] == "договор подписан до начала квартала"
    assert details[0]["opens"] == "2024-10-01" and details[0]["completed_on"] == "2024-09-20"
    # An in-window document needs no reason, and none is recorded.
    submit(engine, tmp_path / "ev", plan_id="orenburg-raion-2024", item="I.1", by="uo", now=at,
           url="https://example.org/protokol", allow_early="на всякий случай")
    details = [e.details for e in events(engine, plan_id="orenburg-raion-2024") if e.action == "evidence.submit"]
    assert "allow_early" not in details[1]
    done = {r["item"]: r["status"] for r in list_obligations(engine, now=at, plan_id="orenburg-raion-2024")}
    assert done["I.2"] == "done" and done["I.1"] == "done"
