"""The report's progress chart: a stacked bar per section and one for the whole plan, the
same picture as SVG (for HTML) and PNG (for Word), drawn with matplotlib.

matplotlib's object API (Figure + the Agg canvas), not pyplot: no global state, so two
reports built at once in the web app do not draw into each other's figure.
"""

from __future__ import annotations

import io

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nok_workflow.reports.model import OUTCOME_WORDS, Report

# The colours officials expect: green done, amber late, red not done, blue open, grey cancelled.
COLOURS = {"on_time": "#2e7d32", "late": "#f9a825", "not_done": "#c62828", "in_progress": "#1565c0",
           "cancelled": "#9e9e9e"}


def _bars(report: Report) -> list[tuple[str, dict[str, int]]]:
    rows = [(f"Раздел {s.number}".strip() if s.number else s.title[:24], s.counts) for s in report.sections]
    if len(rows) != 1:
        rows.append(("Всего", report.totals))
    return [(label, {k: getattr(c, k) for k in OUTCOME_WORDS}) for label, c in rows]


def _figure(report: Report) -> Figure:
    bars = _bars(report)
    fig = Figure(figsize=(8, 1.2 + 0.45 * len(bars)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labels = [label for label, _ in bars][::-1]
    left = [0] * len(bars)
    for kind, word in OUTCOME_WORDS.items():
        values = [counts[kind] for _, counts in bars][::-1]
        totals = [max(1, sum(counts.values())) for _, counts in bars][::-1]
        shares = [100 * v / t for v, t in zip(values, totals)]
        t = report.totals
        ax.barh(labels, shares, left=left, color=COLOURS[kind], height=0.6,
                label=f"{word}: {getattr(t, kind)}")
        for y, (x0, share, value) in enumerate(zip(left, shares, values)):
            if share >= 7:
                ax.text(x0 + share / 2, y, str(value), ha="center", va="center", color="white", fontsize=9)
        left = [a + b for a, b in zip(left, shares)]
    ax.set_xlim(0, 100)
    ax.set_xlabel("% обязательств со сроком в периоде")
    ax.spines[["top", "right"]].set_visible(False)
    # Above the bars, at a fixed distance whatever the number of sections.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def chart_svg(report: Report) -> str:
    """Text kept as text (searchable, sharp), no date or random ids: the same report, the same SVG."""
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "nok-workflow"}):
        _figure(report).savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # without the XML prolog and DOCTYPE: it is inlined in HTML


def chart_png(report: Report) -> bytes:
    buffer = io.BytesIO()
    _figure(report).savefig(buffer, format="png", dpi=200, metadata={"Software": None}, bbox_inches="tight")
    return buffer.getvalue()
