"""Parsing an untrusted file in a child process with bounded memory and time.

A crafted PDF, spreadsheet or OpenDocument file may inflate to gigabytes or make a parser
loop: the parse runs in a child with RLIMIT_AS and a wall-clock timeout, and its result
(picklable) or its InputError comes back over a pipe. Any limit hit → a Russian message
«разбор файла остановлен: …» naming the file, never a traceback.

The child is forked when this process has a single thread (the CLI: ~5 ms, nothing imported
again); with threads alive (a web server) forking is unsafe, so the forkserver is used.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
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
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
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


def _context() -> multiprocessing.context.BaseContext:
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return multiprocessing.get_context(method)


def run_limited(fn: Callable[..., T], *args: object, source: str,
                timeout: float | None = None, memory: int | None = None) -> T:
    """`fn(*args)` in a child under the limits; its result, or its InputError raised here.

    `fn` must be importable by name (forkserver pickles it) and its result picklable."""
    timeout = _timeout() if timeout is None else timeout
    memory = _memory() if memory is None else memory
    context = _context()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, memory, fn, args), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            raise _stopped(source, f"разбор занял больше {timeout:g} с — файл слишком сложен или повреждён")
        try:
            kind, value = receive.recv()
        except (EOFError, OSError):
            raise _stopped(source, "разбор прерван (файлу не хватило памяти или он повреждён)") from None
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        process.join()
    if kind == "ok":
        return value  # type: ignore[return-value]
    if kind == "input":
        raise InputError(value)
    if kind == "memory":
        raise _stopped(source, f"файлу нужно больше {memory // (1024 * 1024)} МБ памяти — "
                               "это не похоже на обычный план или таблицу")
    raise _stopped(source, f"файл повреждён или не читается ({value})")
