"""The store a flow run works on: from NOK_DATABASE_URL / NOK_HOME, one engine per process."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from nok_workflow.settings import Settings
from nok_workflow.store.db import connect


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    return connect(url)


def store_engine() -> Engine:
    return _engine(Settings().store_url())
