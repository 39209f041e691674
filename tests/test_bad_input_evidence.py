"""Bad input to `nok evidence submit`, each case the real CLI in its own process: the Russian
message naming the file and the value, exit code 1, no traceback, no terminal control
characters echoed, and nothing written — not to the store, not to the evidence folder, not
beside the input. A few harmless inputs close the module: accepted and shown clean.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.badinput import assert_refused, nok, snapshot
from tests.support.documents import PDF_BYTES, bomb, docx_bytes, docx_package, ole_bytes, zip_bytes
from tests.support.paths import PLANS

pytestmark = pytest.mark.slow  # every case runs the real `nok` in a process

PLAN = "orenburg-raion-2024"
MB = 1024 * 1024

Maker = Callable[[Path], list[str]]  # builds the inputs in a folder, returns the arguments


@dataclass(frozen=True)
class Case:
    id: str
    make: Maker
    message: str  # "{d}" stands for the input folder
    env: dict[str, str] = field(default_factory=dict)


def submit(*extra: str, plan: str = PLAN, item: str = "I.1", by: str = "sovet") -> list[str]:
    return ["evidence", "submit", "--plan", plan, "--item", item, "--by", by, "--now", "2024-09-25", *extra]


def with_file(name: str, content: bytes, *extra: str, **who: str) -> Maker:
    def make(d: Path) -> list[str]:
        path = os.path.join(os.fsencode(d), os.fsencode(name))
        with open(path, "wb") as handle:
            handle.write(content)
        return submit("--file", os.fsdecode(path), *extra, **who)

    return make


def pdf(*extra: str, **who: str) -> Maker:
    return with_file("protokol.pdf", PDF_BYTES, *extra, **who)


def special(build: Callable[[Path], Path | str]) -> Maker:
    return lambda d: submit("--file", str(build(d)))


def fifo(d: Path) -> Path:
    os.mkfifo(d / "pipe.pdf")
    return d / "pipe.pdf"


def folder(d: Path) -> Path:
    (d / "folder.pdf").mkdir()
    return d / "folder.pdf"


def link(target: str, real: bool = False) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        if real:
            (d / "real.pdf").write_bytes(PDF_BYTES)
        (d / "link.pdf").symlink_to(target.format(d=d))
        return d / "link.pdf"

    return build


def sparse(size: int) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        with open(d / "big.pdf", "wb") as handle:
            handle.truncate(size)
        return d / "big.pdf"

    return build


def forged_zip() -> bytes:
    data = bytearray(zip_bytes(docx_package(), zipfile.ZIP_STORED))
    entry = data.index(b"PK\x01\x02")
    data[entry + 24:entry + 28] = struct.pack("<I", 3 * 1024 * MB)  # "uncompressed size": 3 GB
    return bytes(data)


def encrypted_zip() -> bytes:
    data = bytearray(zip_bytes(docx_package(), zipfile.ZIP_STORED))
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    return bytes(data)


def gzip_bytes() -> bytes:
    import gzip

    return gzip.compress(b"protocol" * 100)


TYPE = "тип файла не подходит для документа"
EXE = b"MZ\x90\x00" + bytes(200)

CASES = [
    # --- what is not a regular file, or cannot be read as one
    Case("missing", lambda d: submit("--file", str(d / "nope.pdf")), "{d}/nope.pdf: файл не найден"),
    Case("directory", special(folder), "{d}/folder.pdf: это каталог, а не файл"),
    Case("fifo", special(fifo), "{d}/pipe.pdf: это именованный канал (FIFO), а не обычный файл"),
    Case("dev-zero", special(lambda d: "/dev/zero"), "/dev/zero: это устройство, а не обычный файл"),
    Case("dev-null", special(lambda d: "/dev/null"), "/dev/null: это устройство, а не обычный файл"),
    Case("symlink-passwd", special(link("/etc/passwd")),
         "{d}/link.pdf: это символическая ссылка (на «/etc/passwd»): укажите сам файл"),
    Case("symlink-dangling", special(link("{d}/gone.pdf")), "это символическая ссылка (на «{d}/gone.pdf»)"),
    Case("symlink-to-a-good-pdf", special(link("{d}/real.pdf", real=True)),
         "{d}/link.pdf: это символическая ссылка (на «{d}/real.pdf»)"),
    Case("symlink-to-a-directory", special(link("/etc")), "это символическая ссылка (на «/etc»)"),
    Case("empty", with_file("empty.pdf", b""), "{d}/empty.pdf: файл пуст"),
    # --- size, known before reading
    Case("2gb-sparse-over-1kb", special(sparse(2 * 1024 * MB)),
         "{d}/big.pdf: файл больше допустимого: 2,0 ГБ (2147483648 байт) при пределе 1,0 КБ (1024 байт) "
         "(NOK_EVIDENCE_MAX_BYTES)", {"NOK_EVIDENCE_MAX_BYTES": "1024"}),
    Case("one-byte-over-50mb", special(sparse(50 * MB + 1)),
         "файл больше допустимого: 50,0 МБ (52428801 байт) при пределе 50,0 МБ (52428800 байт)"),
    # --- type by content
    Case("exe-named-pdf", with_file("virus.pdf", EXE), f"{{d}}/virus.pdf: {TYPE} (application/x-msdownload)"),
    Case("gzip", with_file("protokol.pdf.gz", gzip_bytes()), f"{TYPE} (application/gzip)"),
    Case("plain-zip-as-docx", with_file("protokol.docx", zip_bytes({"readme.txt": b"hi", "a.exe": EXE})),
         f"{{d}}/protokol.docx: {TYPE} (архив zip, но не документ Word, Excel или OpenDocument)"),
    Case("zip-bomb", with_file("bomb.docx", bomb()),
         "{d}/bomb.docx: часть «word/document.xml» сжат в"),
    Case("zip-forged-size", with_file("forged.docx", forged_zip()),
         "{d}/forged.docx: документ распаковывается в 3,0 ГБ (32"),
    Case("zip-forged-size-limit", with_file("forged.xlsx", forged_zip()),
         "при пределе 512,0 МБ (536870912 байт) — похоже на zip-бомбу, файл отклонён"),
    Case("zip-encrypted", with_file("secret.docx", encrypted_zip()),
         "{d}/secret.docx: файл зашифрован паролем — загрузите его без пароля"),
    Case("zip-torn", with_file("torn.docx", zip_bytes(docx_package())[:3000]),
         "{d}/torn.docx: файл повреждён: архив документа не читается"),
    Case("ole-installer", with_file("setup.doc", ole_bytes("MsiTable")),
         f"{{d}}/setup.doc: {TYPE} (контейнер OLE без документа Word или Excel)"),
    Case("ole-encrypted-office", with_file("secret.xlsx", ole_bytes("EncryptedPackage")),
         "{d}/secret.xlsx: файл зашифрован паролем"),
    Case("ole-damaged", with_file("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600),
         "{d}/old.doc: файл повреждён: контейнер OLE (.doc/.xls) не читается"),
    Case("text-cp1251", with_file("protokol.txt", "Протокол заседания совета".encode("cp1251")),
         f"{{d}}/protokol.txt: {TYPE} (текст не в кодировке UTF-8, например Windows-1251"),
    Case("html", with_file("page.txt", b"<!DOCTYPE html><html><script>alert(1)</script>"),
         f"{TYPE} (разметка HTML/XML, а не простой текст)"),
    Case("svg", with_file("image.txt", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
         "(разметка HTML/XML"),
    Case("binary-with-nul", with_file("data.txt", b"abc\x00\x01\x02def"), f"{TYPE} (неизвестный двоичный формат)"),
    Case("terminal-escapes-in-text", with_file("log.txt", b"\x1b[2J\x1b]0;owned\x07"), TYPE),
    # --- names: shown escaped in messages, never raw
    Case("escape-name", with_file("\x1b[31mred.pdf", EXE), f"{{d}}/\\x1b[31mred.pdf: {TYPE}"),
    Case("bidi-name", with_file("evil\u202efdp.exe", EXE), f"{{d}}/evil\\u202efdp.exe: {TYPE}"),
    Case("non-utf8-name", with_file(os.fsdecode(b"bad-\xff\xfe.pdf"), EXE), f"{{d}}/bad-\\xff\\xfe.pdf: {TYPE}"),
    Case("only-hidden-characters", with_file("\x1b\x07\u202e", PDF_BYTES),
         "недопустимое имя файла «\\x1b\\x07\\u202e»: в нём нет видимых символов имени"),
    # --- document dates
    Case("date-1900", pdf("--document-date", "1900-01-01"),
         "evidence: дата документа 01.01.1900 раньше 01.01.2000 — проверьте год"),
    Case("date-year-1", pdf("--document-date", "0001-01-01"), "дата документа 01.01.0001 раньше 01.01.2000"),
    Case("date-1999", pdf("--document-date", "31.12.1999"), "дата документа 31.12.1999 раньше 01.01.2000"),
    Case("date-future", pdf("--document-date", "2024-12-01"),
         "evidence: дата документа 01.12.2024 ещё не наступила (сегодня 25.09.2024)"),
    Case("date-before-window", pdf("--document-date", "30.06.2024"),
         "evidence: дата документа 30.06.2024 раньше открытия пункта I.1 (2024-Q3) 01.07.2024; такой документ "
         "может принять координатор плана (uo) с --allow-early «причина»"),
    Case("today-before-window", pdf(item="I.2"),
         "дата документа 25.09.2024 (сегодня) раньше открытия пункта I.2 (2024-Q4) 01.10.2024"),
    Case("allow-early-not-coordinator", pdf("--allow-early", "подписан заранее", item="I.2"),
         "evidence: --allow-early может указать только координатор плана (uo), не «sovet»"),
    Case("allow-early-without-reason", pdf("--allow-early", "  ", item="I.2", by="uo"),
         "evidence: --allow-early требует причины"),
    Case("date-not-a-date", pdf("--document-date", "31.02.2024"),
         "--document-date: «31.02.2024» — не дата (ГГГГ-ММ-ДД или ДД.ММ.ГГГГ)"),
    # --- links and the rest of the command
    Case("url-ftp", lambda d: submit("--url", "ftp://example.org/x"),
         "evidence: ссылка «ftp://example.org/x» должна начинаться с http:// или https://"),
    Case("url-bidi", lambda d: submit("--url", "https://example.org/\u202etxt.exe"),
         "ссылка «https://example.org/\\u202etxt.exe» содержит пробелы или управляющие символы"),
    Case("nothing-to-submit", lambda d: submit(), "evidence: нужен файл или ссылка (--file или --url)"),
    Case("stranger", pdf(by="stranger"), "evidence: «stranger» нет в справочнике плана «orenburg-raion-2024»"),
    Case("not-the-owner", pdf(by="operator"), "evidence: «operator» не отвечает за пункт I.1"),
    Case("unknown-plan", pdf(plan="nope"), "evidence: план «nope» не загружен"),
    Case("unknown-item", pdf(item="9.9"), "evidence: в плане «orenburg-raion-2024» нет пункта «9.9»"),
    Case("unknown-period", pdf("--period", "2031-Q1"), "evidence: у пункта I.1 нет периода «2031-Q1»"),
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    """The bundled plan loaded once; each case works on its own copy."""
    home = tmp_path_factory.mktemp("loaded") / "home"
    result = nok("plan", "load", str(PLANS / f"{PLAN}.yaml"), "--now", "2024-09-17", home=home)
    assert result.returncode == 0, result.stderr.decode()
    return home


@pytest.fixture
def home(loaded: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(loaded, tmp_path / "home"))


def listing(folder: Path) -> list[str]:
    return sorted(os.fsdecode(p) for p in os.listdir(os.fsencode(folder)))


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 35 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_evidence_is_refused(case: Case, home: Path, tmp_path: Path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    args = case.make(inputs)
    before, beside = snapshot(home), listing(inputs)
    result = nok(*args, home=home, env=case.env)
    err = assert_refused(result, case.message.format(d=inputs), before=before, after=snapshot(home))
    assert listing(inputs) == beside
    assert not (home / "evidence").exists() or not any((home / "evidence").rglob("*"))
    assert "\x1b" not in err and "\u202e" not in err and "\x07" not in err  # nothing for the terminal to obey


# --- harmless inputs: accepted and shown clean ------------------------------------------------

def accepted(home: Path, *args: str) -> str:
    result = nok(*args, home=home)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return out


def listed(home: Path) -> list[dict]:
    return json.loads(nok("evidence", "list", "--json", home=home).stdout)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a..b.pdf", "a..b.pdf"),
        (unicodedata.normalize("NFD", "Протокол заседания №1 (й).pdf"), "Протокол заседания №1 (й).pdf"),
        ("evil\u202efdp\x1b[31m.pdf", "evilfdp[31m.pdf"),
        (os.fsdecode(b"bad-\xff\xfe.pdf"), "bad-\ufffd\ufffd.pdf"),  # not UTF-8: replaced, no traceback
        ("[bold]markup[red].pdf", "[bold]markup[red].pdf"),  # Rich markup shown, not obeyed
    ],
)
def test_harmless_names_are_accepted_and_shown_clean(home: Path, tmp_path: Path, name: str, shown: str):
    path = tmp_path / name
    path.write_bytes(PDF_BYTES)
    out = accepted(home, *submit("--file", str(path)))
    assert f"принят к учёту: {shown}, дата документа 25.09.2024" in out
    assert "\x1b" not in out and "\u202e" not in out
    [row] = listed(home)
    assert (row["file"], row["media_type"]) == (shown, "application/pdf")
    assert [p.name for p in (home / "evidence").rglob("*") if p.is_file()] == [row["sha256"]]


def test_the_coordinator_may_accept_an_early_document_with_a_reason(home: Path, tmp_path: Path):
    path = tmp_path / "dogovor.docx"
    path.write_bytes(docx_bytes())
    out = accepted(home, *submit("--file", str(path), "--document-date", "20.09.2024", "--allow-early",
                                 "договор подписан до начала квартала", item="I.2", by="uo"))
    assert "принят к учёту: dogovor.docx, дата документа 20.09.2024" in out
    [row] = listed(home)
    assert row["media_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    audit = json.loads(nok("audit", "--json", home=home).stdout)
    details = next(a["details"] for a in audit if a["action"] == "evidence.submit")
    assert details["allow_early"] == "договор подписан до начала квартала" and details["opens"] == "2024-10-01"
    assert details["file"] == "dogovor.docx"

