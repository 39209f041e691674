"""Debian's Chromium, driven by Playwright: the page tests share one browser per worker (the
`browser` fixture in conftest.py), each test in contexts of its own."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
