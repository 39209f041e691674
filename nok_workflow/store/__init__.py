"""The store: the tables (models), engines and sessions (db), schema migrations."""

from sqlalchemy import Engine as Engine  # the store's handle, as pages and services name it
