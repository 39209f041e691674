"""Where things are in the repository."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PLANS = ROOT / "plan_definitions"
SEEDS = ROOT / "tests" / "seeds"  # the real plans, kept in the repository
