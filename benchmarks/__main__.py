"""Every benchmark in one command, on a deterministic synthetic region:

    .venv/bin/python -m benchmarks                 # W-region and W-1M; rewrites docs/benchmarks.md
    .venv/bin/python -m benchmarks --size small    # what CI runs: every benchmark, tiny, no docs

Prints each figure beside its baseline measured in the same run and its target (issue 15);
a missed target is marked and says why. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figures import Section, markdown, table, write_into
from benchmarks.reasons import reason_for

RUNS = {  # which synthetic sizes each benchmark uses (benchmarks/region.py)
    "full": {"region": "region", "big": "1m", "hundred": "100k", "flow_schools": 3000, "mail_schools": 3000,
             "ical_schools": 147, "report_schools": 6000, "repeats": 3, "import_rows": 200,
             "directory_orgs": 6000, "rollup_plans": 60, "campaign_orgs": 60, "chat_messages": 1000},
    "small": {"region": "small", "big": "small-x5", "hundred": "small", "flow_schools": 20, "mail_schools": 30,
              "ical_schools": 10, "report_schools": 30, "repeats": 1, "import_rows": 20,
              "directory_orgs": 60, "rollup_plans": 6, "campaign_orgs": 3, "chat_messages": 60},
}
ALL = ("store", "sweep", "flow", "cli", "mail", "ical", "report", "web", "import", "directory", "rollup", "campaign", "chat")
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(RUNS), default="full")
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated, of: {', '.join(ALL)}")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, help="write the Markdown here (default: docs/benchmarks.md "
                        "for the full size — the sections measured replace theirs; nowhere for small)")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(only) - set(ALL):
        parser.error(f"unknown benchmark: {', '.join(sorted(unknown))}")
    sizes = RUNS[args.size]
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    backends = ["SQLite"] + ([] if args.no_postgres else ["PostgreSQL"])
    started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="nok-benchmarks-"))
    out = args.out or (DOC if args.size == "full" else None)
    try:
        for name in only:
            print(f"… {name}", file=sys.stderr, flush=True)
            made = _run(name, sizes, work / name, backends, args.postgres)
            for section in made:
                for figure in (f for f in section.figures if f.met is False and not f.why):
                    figure.why = reason_for(section.title, figure.label)
            print(table(made), flush=True)
            if out is not None:  # as each is measured: a later failure loses none of it
                write_into(out, markdown(made, args.size, started, time.perf_counter() - clock))
                print(f"written: {out} ({name})", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _run(name: str, sizes: dict, work: Path, backends: list[str], postgres_url: str) -> list[Section]:
    work.mkdir(parents=True)
    if name == "store":
        from benchmarks import scale_store

        return scale_store.measure(sizes, work, backends, postgres_url)
    if name == "sweep":
        from benchmarks import scale_sweep

        return scale_sweep.measure(sizes, work, backends, postgres_url, sizes["repeats"])
    if name == "flow":
        from benchmarks import scale_flow

        return scale_flow.sections(sizes["flow_schools"], work)
    if name == "cli":
        from benchmarks import scale_cli

        return scale_cli.sections(sizes["region"], work, sizes["repeats"])
    if name == "import":
        from benchmarks import bench_import

        return bench_import.sections(sizes["import_rows"], sizes["repeats"], work)
    no_postgres = "PostgreSQL" not in backends
    if name == "mail":
        from benchmarks import scale_mail

        return scale_mail.sections(sizes["mail_schools"], 8)
    if name == "ical":
        from benchmarks import bench_ical

        return bench_ical.sections(sizes["ical_schools"], 7 if sizes["repeats"] > 1 else 2,
                                   200 if sizes["repeats"] > 1 else 20, postgres_url, no_postgres)
    if name == "report":
        from benchmarks import bench_report

        return bench_report.sections(sizes["report_schools"], sizes["repeats"], postgres_url, no_postgres)
    if name == "web":
        from benchmarks import bench_web

        return bench_web.sections(sizes["report_schools"], 50 if sizes["repeats"] > 1 else 4,
                                  15 if sizes["repeats"] > 1 else 2, postgres_url, no_postgres)
    if name == "directory":
        from benchmarks import bench_directory

        return bench_directory.sections(sizes["directory_orgs"], sizes["repeats"], postgres_url, no_postgres)
    if name == "rollup":
        from benchmarks import bench_rollup

        return bench_rollup.sections(sizes["rollup_plans"], sizes["repeats"], postgres_url, no_postgres, work)
    if name == "campaign":
        from benchmarks import bench_campaign

        return bench_campaign.sections(sizes["campaign_orgs"], 50 if sizes["repeats"] > 1 else 4,
                                       15 if sizes["repeats"] > 1 else 2, postgres_url, no_postgres)
    if name == "chat":
        from benchmarks import bench_chat

        return bench_chat.sections(sizes["chat_messages"], sizes["repeats"])
    raise NotImplementedError(name)


if __name__ == "__main__":
    sys.exit(main())
