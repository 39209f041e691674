"""The store a flow run works on: from NOK_DATABASE_URL / NOK_HOME, one engine per process."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from nok_workflow.settings import Settings
from nok_workflow.store.db import connect


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    return connect(url)


class StoreNotConfigured(RuntimeError):
    pass


def store_engine() -> Engine:
    """The store of this process. A run from a deployment (a worker, scale-out) must be told
    where the store is: without NOK_DATABASE_URL it would quietly open a new empty SQLite
    file wherever the worker happens to run, and report success having done nothing."""
    settings = Settings()
    if settings.embedded:
        from prefect.runtime import deployment

        if deployment.id is not None:
            raise StoreNotConfigured(
                "NOK_DATABASE_URL не задан в окружении рабочего Prefect: поток из развёртывания "
                f"«{deployment.name}» не знает, где хранилище. Задайте NOK_DATABASE_URL (и NOK_SMTP_*) "
                "там, где запущен `prefect worker start`, и перезапустите рабочего")
    return _engine(settings.store_url())
