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


def _svg(figure) -> str:  # type: ignore[no-untyped-def]
    plt = _pyplot()
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    return buffer.getvalue()


def trend_svg(
    months: Sequence[str],
    values: Sequence[float | None],
    last_year: Sequence[float | None],
    partial: Sequence[bool],
    partial_last_year: Sequence[bool],
    labels: tuple[str, str],
    title: str,
    unit: str,
) -> str:
    """Monthly bars (plain: the months, hatched: the same months a year before); a month without data has no
    bar, a month with fewer days of data than it has is marked * above its bar (in either series)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.3, 2.6))
    x = list(range(len(months)))
    width = 0.4
    for offset, series, hatch, color in ((-width / 2, last_year, "//", "white"), (width / 2, values, "", "0.55")):
        shown = [(i, v) for i, v in zip(x, series, strict=True) if v is not None]
        axes.bar([i + offset for i, _ in shown], [v for _, v in shown], width, color=color, edgecolor="black", hatch=hatch)
    top = max([v for v in (*values, *last_year) if v is not None], default=1.0)
    for offset, series, shorts in ((-width / 2, last_year, partial_last_year), (width / 2, values, partial)):
        for i, (v, short) in enumerate(zip(series, shorts, strict=True)):
            if v is not None and short:
                axes.text(i + offset, v + 0.02 * top, "*", ha="center", fontsize=9)
    axes.set_xticks(x, [m[2:] for m in months], fontsize=7)
    axes.set_ylabel(unit, fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    handles = [
        plt.Rectangle((0, 0), 1, 1, facecolor="0.55", edgecolor="black"),
        plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch="//"),
    ]
    axes.legend(handles, [label.replace("$", "\\$") for label in labels], fontsize=7, frameon=False)  # drawn even for a series without bars
    axes.set_title(title.replace("$", "\\$"), fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def share_bars_svg(names: Sequence[str], shares: Sequence[Sequence[float | None]], parts: Sequence[str], title: str) -> str:
    """One horizontal bar per building, split into the shares (0..1) of ``parts``; a building without shares has
    no bar ("–")."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.3, 0.42 * len(names) + 1.3))
    positions = list(range(len(names)))[::-1]
    grays = ("0.9", "0.7", "0.5", "0.3", "white")
    for position, row in zip(positions, shares, strict=True):
        if not row:
            axes.text(0.01, position, "–", va="center")
            continue
        left = 0.0
        for n, share in enumerate(row):
            if share:
                axes.barh(
                    position, share, left=left, color=grays[n % len(grays)], edgecolor="black", hatch=HATCHES[n % len(HATCHES)], height=0.6
                )
                left += share
    handles = [
        plt.Rectangle((0, 0), 1, 1, facecolor=grays[n % len(grays)], edgecolor="black", hatch=HATCHES[n % len(HATCHES)])
        for n in range(len(parts))
    ]
    axes.legend(
        handles,
        [p.replace("$", "\\$") for p in parts],
        fontsize=7,
        ncol=len(parts),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        frameon=False,
    )
    axes.set_yticks(positions, [n.replace("$", "\\$") for n in names], fontsize=8)
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{100 * value:.0f} %")
    axes.tick_params(axis="x", labelsize=7)
    axes.set_title(title.replace("$", "\\$"), fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def heat_map_svg(
    days: Sequence[str], kwh: Sequence[Sequence[float | None]], partial: Sequence[Sequence[bool]], title: str, unit: str, no_data: str
) -> str:
    """Hours (columns) by days (rows) in grays, darker = more energy; an hour without data is white with a
    cross-hatch and an hour some meters missed carries a dot, so missing never reads as a low load."""
    import numpy as np

    plt = _pyplot()
    values = np.array([[np.nan if v is None else v for v in row] for row in kwh], dtype=float)
    figure, axes = plt.subplots(figsize=(6.3, min(9.0, 1.4 + 0.11 * len(days))))
    cmap = plt.get_cmap("Greys").copy()
    cmap.set_bad("white")
    image = axes.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap, interpolation="nearest")
    for d, h in np.argwhere(np.array(partial, dtype=bool)):  # an hour some main meters missed: a dot, it reads low
        axes.plot(h, d, marker=".", markersize=2.5, color="white", markeredgecolor="black", markeredgewidth=0.3)
    missing = np.argwhere(~np.isfinite(values))
    for d, h in missing:
        axes.add_patch(plt.Rectangle((h - 0.5, d - 0.5), 1, 1, fill=False, hatch="xx", edgecolor="0.6", linewidth=0))
    step = max(1, len(days) // 15)
    axes.set_yticks(range(0, len(days), step), [days[i][5:] for i in range(0, len(days), step)], fontsize=6)
    axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)], fontsize=6)
    bar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
    bar.set_label(unit, fontsize=7)
    bar.ax.tick_params(labelsize=6)
    axes.set_title(title.replace("$", "\\$") + (f" · {no_data}" if missing.size or np.any(partial) else ""), fontsize=10)
    return _svg(figure)
