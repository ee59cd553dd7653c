"""Charts of the reports: matplotlib, drawn as SVG (sharp in print), in grays with hatching so that they
read the same on a black-and-white printer. Chinese labels use Debian's Noto Sans CJK; the glyphs are
drawn as paths, so the chart needs no font where it is shown."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
HATCHES = ("", "//", "..", "xx", "\\\\", "++")


@cache
def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    if CJK_FONT.exists():
        font_manager.fontManager.addfont(str(CJK_FONT))
        plt.rcParams["font.family"] = ["Noto Sans CJK JP", "DejaVu Sans"]
    plt.rcParams["svg.fonttype"] = "path"
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def score_bars_svg(names: Sequence[str], scores: Sequence[float | None], bands: Sequence[tuple[float, str]], title: str) -> str:
    """Horizontal bars of 0-100 scores (None: no bar, "–"), with dashed lines at the grade bands' lower
    limits labelled by grade; returns the SVG document."""
    plt = _pyplot()
    names = [name.replace("$", "\\$") for name in names]  # matplotlib reads $...$ as mathematics
    title = title.replace("$", "\\$")
    figure, axes = plt.subplots(figsize=(6.3, 0.45 * len(names) + 1.1))
    positions = list(range(len(names)))[::-1]
    for position, score, n in zip(positions, scores, range(len(names)), strict=True):
        if score is None:
            axes.text(1, position, "–", va="center")
            continue
        axes.barh(position, score, color="0.75", edgecolor="black", hatch=HATCHES[n % len(HATCHES)], height=0.6)
        axes.text(score + 1, position, f"{score:.1f}", va="center", fontsize=9)
    for limit, label in bands:
        if limit > 0:
            axes.axvline(limit, color="black", linestyle="--", linewidth=0.8)
            axes.text(limit, 1.01, label, transform=axes.get_xaxis_transform(), ha="center", va="bottom", fontsize=8)
    axes.set_yticks(positions, list(names), fontsize=9)
    axes.set_xlim(0, 105)
    axes.set_title(title, fontsize=10, pad=18)  # room for the grade labels above the plot
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    return buffer.getvalue()
