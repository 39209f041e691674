"""Parsing an untrusted file in a child process with bounded memory and time.

A crafted PDF, spreadsheet or OpenDocument file may inflate to gigabytes or make a parser
loop: the parse runs in a child with RLIMIT_AS (1 GiB over what the child starts with) and a
wall-clock timeout, and its result
(picklable) or its InputError comes back over a pipe. Any limit hit → a Russian message
«разбор файла остановлен: …» naming the file, never a traceback.

The child is forked when this process has a single thread (the CLI); with threads alive (a web
server) forking is unsafe, so the forkserver is used. Measured per call on a small CSV (2 shared
cores): fork 18 ms, forkserver 59 ms (211 ms the first, starting the server), spawn 174 ms; the
parser's own import (odfdo, pdfplumber) is paid in the child either way.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import TypeVar

from nok_workflow.problems import InputError, Problem

T = TypeVar("T")

MEMORY_BYTES = 1024 * 1024 * 1024
TIMEOUT_SECONDS = 30.0
TIMEOUT_ENV = "NOK_PARSE_TIMEOUT"  # seconds; tests set it low
MEMORY_ENV = "NOK_PARSE_MEMORY_MB"


def _timeout() -> float:
    try:
        return float(os.environ.get(TIMEOUT_ENV, TIMEOUT_SECONDS))
    except ValueError:
        return TIMEOUT_SECONDS


def _memory() -> int:
    try:
        return int(os.environ[MEMORY_ENV]) * 1024 * 1024
    except (KeyError, ValueError):
        return MEMORY_BYTES


def _stopped(source: str, why: str) -> InputError:
    return InputError([Problem(source, 0, 0, f"разбор файла остановлен: {why}")])


def _child(conn, memory: int, fn: Callable[..., object], args: tuple) -> None:
    import resource

    try:
        limit = _mapped() + memory  # what the parse may add to what the fork inherited
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            result = ("ok", fn(*args))
        except InputError as exc:
            result = ("input", exc.problems)
        except MemoryError:
            result = ("memory", None)
        except RecursionError:
            result = ("crash", "слишком глубокая вложенность структуры файла")
        except Exception as exc:  # a parser's own failure on a damaged file
            result = ("crash", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(result)
        except MemoryError:
            conn.send(("memory", None))
    except BaseException:  # nothing may escape a child: the parent reports it
        traceback.print_exc()
    finally:
        conn.close()
        os._exit(0)


def _mapped() -> int:
    """This process's virtual size: a fork inherits the parent's mappings (a web server's may
    pass 1 GiB alone), so the limit is counted on top of them."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _context() -> multiprocessing.context.BaseContext:
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return multiprocessing.get_context(method)


def run_limited(fn: Callable[..., T], *args: object, source: str,
                timeout: float | None = None, memory: int | None = None) -> T:
    """`fn(*args)` in a child under the limits; its result, or its InputError raised here.

    `fn` must be importable by name (forkserver pickles it) and its result picklable."""
    return run_limited_all([(fn, args)], source=source, timeout=timeout, memory=memory)[0]


def run_limited_all(calls: list[tuple[Callable[..., T], tuple]], *, source: str,
                    timeout: float | None = None, memory: int | None = None) -> list[T]:
    """Several parses of one file at once, a child each (the pages of a long PDF on two cores):
    the results in order. The limits hold for them together: one deadline, the memory shared."""
    timeout = _timeout() if timeout is None else timeout
    memory = _memory() if memory is None else memory
    context = _context()
    children = []
    try:
        for fn, args in calls:
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(send, memory // len(calls), fn, args), daemon=True)
            process.start()
            send.close()
            children.append((receive, process))
        deadline = time.monotonic() + timeout
        answers = []
        for receive, _ in children:
            if not receive.poll(max(0.0, deadline - time.monotonic())):
                raise _stopped(source, f"разбор занял больше {timeout:g} с — файл слишком сложен или повреждён")
            try:
                answers.append(receive.recv())
            except (EOFError, OSError):
                raise _stopped(source, "разбор прерван (файлу не хватило памяти или он повреждён)") from None
    finally:
        for receive, process in children:
            receive.close()
            if process.is_alive():
                process.kill()
            process.join()
    return [_result(kind, value, source, memory) for kind, value in answers]


def _result(kind: str, value: object, source: str, memory: int) -> object:
    if kind == "ok":
        return value
    if kind == "input":
        raise InputError(value)  # type: ignore[arg-type]
    if kind == "memory":
        raise _stopped(source, f"файлу нужно больше {memory // (1024 * 1024)} МБ памяти — "
                               "это не похоже на обычный план или таблицу")
    raise _stopped(source, f"файл повреждён или не читается ({value})")
