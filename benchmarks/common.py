"""Helpers the benchmark scripts share."""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on now, for a server the benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, tries: int = 150) -> None:
    """Until the web app at `base` answers /health (it starts in a process of its own)."""
    import time

    import httpx

    for _ in range(tries):
        try:
            httpx.get(base + "/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)


def postgres_database(admin_url: str) -> tuple[object, str] | None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any reason the server is not there
        print(f"PostgreSQL ({admin_url.split('@')[-1]}) недоступен: {type(exc).__name__} — только SQLite",
              file=sys.stderr)
        return None
    name = f"nok_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, admin_url.rsplit("/", 1)[0] + "/" + name


def drop(admin, url: str) -> None:
    from sqlalchemy import text

    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def region_stores(name: str, schools: int, postgres_url: str, no_postgres: bool
                  ) -> Iterator[tuple[Path, Path, list[tuple[str, str]]]]:
    """A work folder with the synthetic region plan of `schools` and the stores to measure:
    SQLite there, and a new PostgreSQL database when the server answers (both removed after).
    → (work folder, plan file, [(backend, url)])."""
    from benchmarks.region import region_plan

    workdir = Path(tempfile.mkdtemp(prefix=f"nok-bench-{name}-"))
    plan_path = workdir / "region.yaml"
    plan_path.write_text(region_plan(schools), encoding="utf-8")
    stores = [("SQLite", f"sqlite:///{workdir / 'nok.db'}", None)]
    if not no_postgres and (pg := postgres_database(postgres_url)) is not None:
        stores.append(("PostgreSQL", pg[1], pg[0]))
    try:
        yield workdir, plan_path, [(backend, url) for backend, url, _ in stores]
    finally:
        for _, url, admin in stores:
            if admin is not None:
                drop(admin, url)
        shutil.rmtree(workdir, ignore_errors=True)
