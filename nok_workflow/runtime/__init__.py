"""The runtime wing: where and how plan runs happen — Prefect's flows (`flows`), the one
place that decides where a run goes (`orchestrate`), `nok serve` (`serve`) with its
coalescing of runs (`plan_runs`), its Prefect API on a thread (`local_api`), its
one-instance lock (`lock`) and its memory tuning (`memory`). The work itself is the
services' (`services/jobs/plan_run.py`); nothing outside this package imports Prefect."""
