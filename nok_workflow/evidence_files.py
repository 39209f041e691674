"""Evidence intake: the one gate every uploaded file passes (the CLI's path now, a web stream next).

A file is copied into a staging file under the evidence folder — its size known before the
first byte is read, the copy stopped at the limit + 1 byte, sha256 computed on the way — and
typed by its content against an allowlist. Only when every check, the caller's database checks
included, has passed does `Staged.place()` move it to its content-addressed place (same content
= same file, never overwritten); a failure before the caller's commit removes what was staged
or placed, so no failure leaves a blob behind.
"""

from __future__ import annotations

import codecs
import errno
import fcntl
import hashlib
import os
import re
import secrets
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

from nok_workflow.problems import InputError, Problem

CHUNK = 1024 * 1024
HEAD = 64 * 1024  # enough for every signature we read
MAX_NAME = 255
ACCEPTED = "принимаются PDF, Word, Excel, OpenDocument, PNG, JPEG, TIFF, текст UTF-8"

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
TEXT = "text/plain"
ALLOWED = frozenset({PDF, DOCX, XLSX, ODT, ODS, DOC, XLS, TEXT, "image/png", "image/jpeg", "image/tiff"})

# OOXML: the main part and the content type [Content_Types].xml must give it.
_OOXML = (("word/document.xml", "wordprocessingml.document.main+xml", DOCX),
          ("xl/workbook.xml", "spreadsheetml.sheet.main+xml", XLSX))
_ODF = {ODT, ODS}
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
           (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"))
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
# Plain text: no C0 controls but tab, newlines, vertical tab and form feed.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"\A\ufeff?\s*<(?:!doctype|html|head|body|script|svg|iframe|\?xml)", re.IGNORECASE)
# Unicode categories never shown in a name: controls, format (bidi, zero-width), separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SURROGATE = re.compile("[\ud800-\udfff]")
T = TypeVar("T")


@dataclass(frozen=True)
class ZipLimits:
    """Office files are zips: what they may unpack to, judged from the directory alone."""

    total: int = 512 * 1024 * 1024  # bytes, all entries together
    ratio: int = 200  # uncompressed / compressed, per entry and overall
    ratio_floor: int = 1024 * 1024  # below this size a high ratio is just repetitive XML
    entries: int = 10_000


@dataclass(frozen=True)
class PathSource:
    """A file on this machine (the CLI); a symbolic link or anything but a regular file is refused."""

    path: str | bytes | os.PathLike[str] | os.PathLike[bytes]


@dataclass(frozen=True)
class StreamSource:
    """A binary stream (a web upload) with its declared name and, if known, its declared size."""

    stream: BinaryIO
    name: str | bytes
    size: int | None = None


Source = PathSource | StreamSource


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    name: str


# --- names -----------------------------------------------------------------------------------

def _as_text(raw: str | bytes) -> str:
    """Text for a name: invalid UTF-8 bytes (as bytes or as surrogate escapes) become U+FFFD."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return _SURROGATE.sub("\ufffd", raw)


def printable(raw: str | bytes) -> str:
    """A name or path safe to print: hidden characters and undecodable bytes shown as escapes."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8", "surrogateescape")  # a name from argv: back to its bytes
        except UnicodeEncodeError:
            raw = _SURROGATE.sub("\ufffd", raw).encode("utf-8")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in _HIDDEN else ch
                   for ch in text)


def display_name(raw: str | bytes) -> str:
    """The name shown and stored: NFC, without control, bidi or zero-width characters."""
    text = unicodedata.normalize("NFC", _as_text(raw))
    return "".join(ch for ch in text if unicodedata.category(ch) not in _HIDDEN).strip()


def check_name(raw: str | bytes, where: str) -> str:
    """A declared name: one file name, not a path; returns it cleaned."""
    name = display_name(raw)
    shown = printable(raw)
    if "/" in name or "\\" in name:
        raise _fail(where, f"недопустимое имя файла «{shown}»: нужно имя без пути")
    if name in ("", ".", ".."):
        raise _fail(where, f"недопустимое имя файла «{shown}»: в нём нет видимых символов имени")
    if len(name) > MAX_NAME:
        raise _fail(where, f"имя файла длиннее {MAX_NAME} символов ({len(name)})")
    return name


# --- intake ----------------------------------------------------------------------------------

def stage(root: Path, source: Source, *, max_bytes: int, progress: Callable[[int], None] | None = None,
          zip_limits: ZipLimits = ZipLimits()) -> Staged:
    """Read and check a file into the evidence folder's staging area; raise `InputError` if it
    cannot be evidence. `progress` gets the bytes copied so far after each chunk."""
    if isinstance(source, PathSource):
        return _stage_path(root, source, max_bytes, progress, zip_limits)
    return _stage_stream(root, source, max_bytes, progress, zip_limits)


def _stage_path(root: Path, source: PathSource, max_bytes: int, progress: Callable[[int], None] | None,
                zip_limits: ZipLimits) -> Staged:
    raw = os.fsencode(source.path)
    where = printable(raw)
    seen = _lstat_regular(raw, where)
    name = check_name(os.path.basename(raw), where)
    fd = _open_no_follow(raw, where)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode) or (before.st_dev, before.st_ino) != (seen.st_dev, seen.st_ino):
            raise _fail(where, "файл подменён во время загрузки — повторите загрузку")
        _check_size(before.st_size, max_bytes, where)

        def unchanged(copied: int) -> None:
            after = os.fstat(fd)
            if copied != before.st_size or _version(after) != _version(before):
                raise _fail(where, f"файл изменился во время чтения (было {before.st_size} байт, прочитано "
                                   f"{copied}, стало {after.st_size}) — дождитесь, пока его допишут, и повторите")

        return _stage(root, lambda n: os.read(fd, n), name, where, max_bytes, progress, unchanged, zip_limits)
    finally:
        os.close(fd)


def _stage_stream(root: Path, source: StreamSource, max_bytes: int, progress: Callable[[int], None] | None,
                  zip_limits: ZipLimits) -> Staged:
    where = printable(source.name)
    name = check_name(source.name, where)
    if source.size is not None:
        _check_size(source.size, max_bytes, where)

    def complete(copied: int) -> None:
        if source.size is not None and copied != source.size:
            raise _fail(where, f"получено {copied} байт, а заявлено {source.size} — загрузка оборвалась, повторите")

    return _stage(root, lambda n: source.stream.read(n) or b"", name, where, max_bytes, progress, complete,
                  zip_limits)


def _version(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


_KINDS = ((stat.S_ISDIR, "это каталог, а не файл"), (stat.S_ISFIFO, "это именованный канал (FIFO), а не обычный файл"),
          (stat.S_ISCHR, "это устройство, а не обычный файл"), (stat.S_ISBLK, "это устройство, а не обычный файл"),
          (stat.S_ISSOCK, "это сокет, а не обычный файл"))


def _lstat_regular(raw: bytes, where: str) -> os.stat_result:
    """Refuse what is not a regular file before opening it: opening a FIFO or a device may
    block or act, and a symbolic link may lead anywhere (/etc/passwd)."""
    try:
        seen = os.lstat(raw)
    except OSError as exc:
        raise _fail(where, _open_error(exc)) from None
    if stat.S_ISLNK(seen.st_mode):
        try:
            target = f" (на «{printable(os.readlink(raw))}»)"
        except OSError:
            target = ""
        raise _fail(where, f"это символическая ссылка{target}: укажите сам файл")
    for test, message in _KINDS:
        if test(seen.st_mode):
            raise _fail(where, message)
    if not stat.S_ISREG(seen.st_mode):
        raise _fail(where, "это не обычный файл")
    return seen


def _open_no_follow(raw: bytes, where: str) -> int:
    # O_NONBLOCK: a FIFO swapped in after lstat must not hang the open.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        return os.open(raw, flags)
    except OSError as exc:
        raise _fail(where, _open_error(exc)) from None


def _open_error(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return "файл не найден"
    if isinstance(exc, PermissionError):
        return "нет прав на чтение файла"
    if exc.errno == errno.ELOOP:
        return "это символическая ссылка: укажите сам файл"
    return f"файл не открывается: {exc.strerror or exc}"


def _check_size(size: int, max_bytes: int, where: str) -> None:
    if size == 0:
        raise _fail(where, "файл пуст")
    if size > max_bytes:
        raise _fail(where, f"файл больше допустимого: {human_size(size)} при пределе {human_size(max_bytes)} "
                           "(NOK_EVIDENCE_MAX_BYTES)")


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} байт"
    value = float(n)
    for unit in ("КБ", "МБ", "ГБ", "ТБ"):
        value /= 1024
        if value < 1024:
            break
    return f"{value:.1f} {unit} ({n} байт)".replace(".", ",")


@dataclass
class _Copied:
    size: int = 0
    sha256: str = ""
    head: bytearray = field(default_factory=bytearray)
    utf8: bool = True
    controls: bool = False
    start: str = ""  # the first decoded characters, to tell markup from plain text


def _stage(root: Path, read: Callable[[int], bytes], name: str, where: str, max_bytes: int,
           progress: Callable[[int], None] | None, verify: Callable[[int], None], zip_limits: ZipLimits) -> Staged:
    tmp, fd = _staging_file(root)
    try:
        with os.fdopen(fd, "wb") as out:
            copied = _copy(read, lambda chunk: _storage_io(lambda: out.write(chunk), root), max_bytes, where,
                           progress)
            _storage_io(lambda: (out.flush(), os.fsync(out.fileno())), root)
        verify(copied.size)
        if copied.size == 0:
            raise _fail(where, "файл пуст")
        kind = _media_type(tmp, copied, where, zip_limits)
        return Staged(root, tmp, StoredFile(copied.sha256, copied.size, kind, name))
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _staging_file(root: Path) -> tuple[Path, int]:
    """A new staging file, open for writing, in the evidence folder itself (same file system:
    the final move is a rename; a dot name: never taken for a blob)."""
    def create() -> tuple[Path, int]:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".incoming-{secrets.token_hex(8)}.tmp"
        return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)

    return _storage_io(create, root)


def _storage_io(action: Callable[[], T], root: Path) -> T:
    """The evidence folder's own failures (disk full, no rights) as a clear message."""
    try:
        return action()
    except OSError as exc:
        raise _fail(str(root), f"не удалось записать в хранилище документов: {exc.strerror or exc}") from None


def _copy(read: Callable[[int], bytes], write: Callable[[bytes], object], max_bytes: int, where: str,
          progress: Callable[[int], None] | None) -> _Copied:
    """Copy at most max_bytes + 1 bytes (one more proves the file too big), hashing on the way."""
    copied, digest = _Copied(), hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    while True:
        try:
            chunk = read(min(CHUNK, max_bytes + 1 - copied.size))
        except OSError as exc:
            raise _fail(where, f"файл не читается: {exc.strerror or exc}") from None
        if not chunk:
            break
        copied.size += len(chunk)
        if copied.size > max_bytes:
            raise _fail(where, f"файл больше допустимого: больше предела {human_size(max_bytes)} "
                               "(NOK_EVIDENCE_MAX_BYTES)")
        digest.update(chunk)
        _probe_text(copied, decoder, chunk)
        if len(copied.head) < HEAD:
            copied.head += chunk[:HEAD - len(copied.head)]
        write(chunk)
        if progress is not None:
            progress(copied.size)
    _probe_text(copied, decoder, b"", final=True)
    copied.sha256 = digest.hexdigest()
    return copied


def _probe_text(copied: _Copied, decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool = False) -> None:
    copied.controls = copied.controls or bool(_CONTROL_BYTES.search(chunk))
    if not copied.utf8:
        return
    try:
        text = decoder.decode(chunk, final)
    except UnicodeDecodeError:
        copied.utf8 = False
        return
    if len(copied.start) < 256:
        copied.start += text[:256]


# --- type by content -------------------------------------------------------------------------

def _media_type(tmp: Path, copied: _Copied, where: str, limits: ZipLimits) -> str:
    head = bytes(copied.head)
    if b"%PDF-" in head[:1024]:
        return PDF
    for signature, kind in _IMAGES:
        if head.startswith(signature):
            return kind
    if head.startswith(_OLE):
        return _ole_kind(tmp, where)
    if head.startswith(_ZIP):
        return _office_kind(tmp, where, limits)
    if copied.utf8 and not copied.controls:
        if _MARKUP.match(copied.start):
            raise _unsupported(where, "разметка HTML/XML, а не простой текст")
        return TEXT
    if not copied.controls:
        raise _unsupported(where, "текст не в кодировке UTF-8, например Windows-1251; сохраните его в UTF-8")
    raise _unsupported(where, _guess(head))


def _guess(head: bytes) -> str:
    import filetype

    kind = filetype.guess(head)
    return kind.mime if kind is not None else "неизвестный двоичный формат"


def _ole_kind(tmp: Path, where: str) -> str:
    """A legacy .doc or .xls: an OLE container holding a Word or an Excel stream (an .msi
    installer or a .msg letter is OLE too)."""
    import olefile

    try:
        with olefile.OleFileIO(str(tmp)) as ole:
            if ole.exists("EncryptedPackage"):
                raise _fail(where, "файл зашифрован паролем — загрузите его без пароля")
            if ole.exists("WordDocument"):
                return DOC
            if ole.exists("Workbook") or ole.exists("Book"):
                return XLS
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - olefile raises many kinds on a damaged container
        raise _fail(where, "файл повреждён: контейнер OLE (.doc/.xls) не читается") from None
    raise _unsupported(where, "контейнер OLE без документа Word или Excel")


def _office_kind(tmp: Path, where: str, limits: ZipLimits) -> str:
    """OOXML or ODF, judged from the zip's directory and two small entries — never extracted."""
    try:
        with zipfile.ZipFile(tmp) as archive:
            infos = archive.infolist()
            _check_bomb(infos, where, limits)
            names = {info.filename for info in infos}
            if "mimetype" in names and "content.xml" in names:
                declared = _small_entry(archive, "mimetype", 256).strip().decode("ascii", "replace")
                if declared in _ODF:
                    return declared
            if "[Content_Types].xml" in names:
                types = _small_entry(archive, "[Content_Types].xml", 1024 * 1024)
                for part, content_type, kind in _OOXML:
                    if part in names and content_type.encode() in types:
                        return kind
    except InputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, RuntimeError,
            NotImplementedError, ValueError):
        raise _fail(where, "файл повреждён: архив документа не читается") from None
    raise _unsupported(where, "архив zip, но не документ Word, Excel или OpenDocument")


def _small_entry(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with archive.open(name) as entry:
        return entry.read(limit)


def _check_bomb(infos: list[zipfile.ZipInfo], where: str, limits: ZipLimits) -> None:
    if len(infos) > limits.entries:
        raise _fail(where, f"в архиве документа {len(infos)} частей при пределе {limits.entries} — файл отклонён")
    if any(info.flag_bits & 0x1 for info in infos):
        raise _fail(where, "файл зашифрован паролем — загрузите его без пароля")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if total > limits.total:
        raise _fail(where, f"документ распаковывается в {human_size(total)} при пределе "
                           f"{human_size(limits.total)} — похоже на zip-бомбу, файл отклонён")
    for info in infos:
        _check_ratio(info.file_size, info.compress_size, f"часть «{printable(info.filename)}»", where, limits)
    _check_ratio(total, packed, "документ", where, limits)


def _check_ratio(size: int, packed: int, what: str, where: str, limits: ZipLimits) -> None:
    if size > limits.ratio_floor and size > limits.ratio * max(packed, 1):
        raise _fail(where, f"{what} сжат в {size // max(packed, 1)} раз при пределе {limits.ratio} "
                           f"({human_size(size)} из {human_size(packed)}) — похоже на zip-бомбу, файл отклонён")


def _unsupported(where: str, what: str) -> InputError:
    return _fail(where, f"тип файла не подходит для документа ({what}); {ACCEPTED}")


def _fail(where: str, message: str) -> InputError:
    return InputError([Problem(where, 0, 0, message)])


# --- placing ---------------------------------------------------------------------------------

class Staged:
    """A checked file waiting in the evidence folder for the caller's own checks.

    Used as a context manager around the caller's transaction: entering takes the folder's
    lock (so "did this blob exist before me?" has one answer), `place()` moves the file to its
    content-addressed path, and leaving with an exception removes the staged file and any blob
    `place()` created. Take the lock before the database's locks (enter this first), so two
    uploads never wait for each other crosswise.
    """

    def __init__(self, root: Path, tmp: Path, file: StoredFile) -> None:
        self.root, self.tmp, self.file = root, tmp, file
        self._lock: int | None = None
        self._created: Path | None = None
        self._made_dir = False

    def __enter__(self) -> Staged:
        try:
            self._lock = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            if exc_type is not None:
                self._undo_place()
        finally:
            with suppress(OSError):
                os.unlink(self.tmp)
            self._release()

    def place(self) -> StoredFile:
        """Move the file to its content-addressed path; an existing blob is the same content
        and is kept as it is, never rewritten."""
        if self._lock is None:
            raise RuntimeError("Staged.place() outside its `with` block")
        final = path_of(self.root, self.file.sha256)
        if final.exists():
            return self.file
        self._made_dir = not final.parent.exists()

        def move() -> None:
            final.parent.mkdir(exist_ok=True)
            os.replace(self.tmp, final)
            self._created = final
            _fsync_dir(final.parent)

        _storage_io(move, self.root)
        return self.file

    def _undo_place(self) -> None:
        if self._created is None:
            return
        with suppress(OSError):
            os.unlink(self._created)
            if self._made_dir:
                os.rmdir(self._created.parent)
        self._created = None

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing drops the flock
            self._lock = None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def path_of(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256
