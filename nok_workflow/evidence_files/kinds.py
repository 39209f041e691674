"""What a staged file is, by its content, against the intake's allowlist.

The recognition of Office formats is shared with the importer (`nok_workflow.filekinds`);
the policy is this module's: what is allowed, and what a zip may unpack to. Office zips are
judged from their directory and two small entries — never extracted.
"""

from __future__ import annotations

import codecs
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from nok_workflow import filekinds
from nok_workflow.evidence_files.messages import fail, human_size
from nok_workflow.evidence_files.names import printable
from nok_workflow.filekinds import DOC, DOCX, ENCRYPTED, ODS, ODT, XLS, XLSX
from nok_workflow.problems import InputError

HEAD = 64 * 1024  # enough for every signature we read
ACCEPTED = "принимаются PDF, Word, Excel, OpenDocument, PNG, JPEG, TIFF, текст UTF-8"

PDF = "application/pdf"
TEXT = "text/plain"
ALLOWED = frozenset({PDF, DOCX, XLSX, ODT, ODS, DOC, XLS, TEXT, "image/png", "image/jpeg", "image/tiff"})

_ODF = {ODT, ODS}
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
           (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"))
_ZIP = b"PK\x03\x04"
# Plain text: no C0 controls but tab, newlines, vertical tab and form feed.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"\A\ufeff?\s*<(?:!doctype|html|head|body|script|svg|iframe|\?xml)", re.IGNORECASE)


@dataclass(frozen=True)
class ZipLimits:
    """Office files are zips: what they may unpack to, judged from the directory alone."""

    total: int = 512 * 1024 * 1024  # bytes, all entries together
    ratio: int = 200  # uncompressed / compressed, per entry and overall
    ratio_floor: int = 1024 * 1024  # below this size a high ratio is just repetitive XML
    entries: int = 10_000


@dataclass
class Probe:
    """What typing needs to see of the content, gathered chunk by chunk while it is copied
    (a stream can be read only once)."""

    head: bytearray = field(default_factory=bytearray)
    utf8: bool = True
    controls: bool = False
    start: str = ""  # the first decoded characters, to tell markup from plain text
    _decoder: codecs.IncrementalDecoder = field(default_factory=codecs.getincrementaldecoder("utf-8"))

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if len(self.head) < HEAD:
            self.head += chunk[:HEAD - len(self.head)]
        self.controls = self.controls or bool(_CONTROL_BYTES.search(chunk))
        if not self.utf8:
            return
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self.utf8 = False
            return
        if len(self.start) < 256:
            self.start += text[:256]


def media_type(tmp: Path, probe: Probe, where: str, limits: ZipLimits) -> str:
    """The allowed media type of the staged file `tmp`; raise `InputError` if it has none."""
    head = bytes(probe.head)
    if b"%PDF-" in head[:1024]:
        return PDF
    for signature, kind in _IMAGES:
        if head.startswith(signature):
            return kind
    if head.startswith(filekinds.OLE_SIGNATURE):
        return _ole_kind(tmp, where)
    if head.startswith(_ZIP):
        return _office_kind(tmp, where, limits)
    if probe.utf8 and not probe.controls:
        if _MARKUP.match(probe.start):
            raise _unsupported(where, "разметка HTML/XML, а не простой текст")
        return TEXT
    if not probe.controls:
        raise _unsupported(where, "текст не в кодировке UTF-8, например Windows-1251; сохраните его в UTF-8")
    guess = filekinds.guess(head)
    raise _unsupported(where, guess.mime if guess is not None else "неизвестный двоичный формат")


def _ole_kind(tmp: Path, where: str) -> str:
    """A legacy .doc or .xls: an OLE container holding a Word or an Excel stream."""
    import olefile

    try:
        with olefile.OleFileIO(str(tmp)) as ole:
            kind = filekinds.ole_kind(ole.exists)
            if kind == ENCRYPTED:
                raise fail(where, "файл зашифрован паролем — загрузите его без пароля")
            if kind in (DOC, XLS):
                return kind
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - olefile raises many kinds on a damaged container
        raise fail(where, "файл повреждён: контейнер OLE (.doc/.xls) не читается") from None
    raise _unsupported(where, "контейнер OLE без документа Word или Excel")


def _office_kind(tmp: Path, where: str, limits: ZipLimits) -> str:
    """ODT/ODS by a declared mimetype, DOCX/XLSX by a main part its content types declare."""
    try:
        with zipfile.ZipFile(tmp) as archive:
            infos = archive.infolist()
            _check_bomb(infos, where, limits)
            names = {info.filename for info in infos}
            if filekinds.MIMETYPE in names and "content.xml" in names:
                declared = filekinds.declared_mimetype(archive, 256)
                if declared in _ODF:
                    return declared
            if filekinds.CONTENT_TYPES in names:
                types = filekinds.read_start(archive, filekinds.CONTENT_TYPES, 1024 * 1024)
                for kind in (DOCX, XLSX):
                    if filekinds.MAIN_PART[kind] in names and filekinds.declares(types, kind):
                        return kind
    except InputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, RuntimeError,
            NotImplementedError, ValueError):
        raise fail(where, "файл повреждён: архив документа не читается") from None
    raise _unsupported(where, "архив zip, но не документ Word, Excel или OpenDocument")


def _check_bomb(infos: list[zipfile.ZipInfo], where: str, limits: ZipLimits) -> None:
    if len(infos) > limits.entries:
        raise fail(where, f"в архиве документа {len(infos)} частей при пределе {limits.entries} — файл отклонён")
    if any(info.flag_bits & 0x1 for info in infos):
        raise fail(where, "файл зашифрован паролем — загрузите его без пароля")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if total > limits.total:
        raise fail(where, f"документ распаковывается в {human_size(total)} при пределе "
                          f"{human_size(limits.total)} — похоже на zip-бомбу, файл отклонён")
    for info in infos:
        _check_ratio(info.file_size, info.compress_size, f"часть «{printable(info.filename)}»", where, limits)
    _check_ratio(total, packed, "документ", where, limits)


def _check_ratio(size: int, packed: int, what: str, where: str, limits: ZipLimits) -> None:
    if size > limits.ratio_floor and size > limits.ratio * max(packed, 1):
        raise fail(where, f"{what} сжат в {size // max(packed, 1)} раз при пределе {limits.ratio} "
                          f"({human_size(size)} из {human_size(packed)}) — похоже на zip-бомбу, файл отклонён")


def _unsupported(where: str, what: str) -> InputError:
    return fail(where, f"тип файла не подходит для документа ({what}); {ACCEPTED}")
