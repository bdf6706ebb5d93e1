"""--plot: a run's benchmark rows as two PNGs, throughput against the swept length and a roofline.

The first picture has one panel per shape (a level's dtype and every shape parameter except the
length it sweeps: D and causal for attention), each implementation in the same colour in every
panel, and faint guides at each tier's fraction of PyTorch. The second places every row that counts
FLOPs and bytes under the roofs of its GPU: the figures measured on it (card_rates.py), else its
datasheet's (card.py), else none.

The pure parts (panels, colours, roofline points) need no matplotlib, so the tests run them
everywhere; matplotlib is imported only to draw.
"""

from __future__ import annotations

import math
import textwrap
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .bench import TIERS, YOURS
from .card import Card, Measured, card_for

# The length a benchmark sweeps, by the first of these names its params have. The names in FOLLOWERS
# shrink or grow with it (B = 16k tokens / S, M = 2^26 / N, matmul's M = N = K), so they name no panel.
SWEPT = ("S", "N", "n")
FOLLOWERS = frozenset({"B", "M", "K"})
ALWAYS_TITLED = ("D", "causal")  # the reading of an attention panel: say them even when constant
AXIS_LABELS = {"S": "sequence length S (tokens)", "N": "N (elements per row; matmul: M = N = K)", "n": "elements n"}
# Below this many FLOP per byte on every shape, a level is bound by memory on any GPU the quest targets
# (the ridge is about 235 on an H200, 330 on an H100): its panels show GB/s, not TFLOP/s.
COMPUTE_BOUND_FROM = 50.0

# Fixed colours (Okabe-Ito, readable with the common colour-vision deficiencies), so an implementation
# looks the same in every panel, in both pictures and in every run. Yours is the warm one.
COLOURS = {
    YOURS: "#D55E00",
    "sdpa": "#0072B2",
    "sdpa-flash": "#009E73",
    "torch": "#56B4E9",
    "cublas": "#CC79A7",
    "gather+sdpa": "#000000",
}
SPARE_COLOURS = ("#E69F00", "#999999", "#8C510A", "#5D3A9B")  # a pack's own baseline names
LABELS = {
    YOURS: "yours",
    "sdpa": "PyTorch SDPA (default backend)",
    "sdpa-flash": "PyTorch SDPA (flash backend)",
    "torch": "PyTorch",
    "cublas": "PyTorch matmul (cuBLAS)",
    "gather+sdpa": "PyTorch gather + SDPA",
}
MARKERS = {YOURS: "o", "sdpa": "s", "sdpa-flash": "^", "torch": "D", "cublas": "v", "gather+sdpa": "P"}
SHAPE_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
GUIDE_TIERS = tuple((threshold, name) for threshold, name in TIERS if threshold < 1.0)  # 1.0x is the baseline itself


def colour(name: str) -> str:
    """An implementation's colour: fixed for the known rows, a stable pick (crc32, not hash(), which
    changes between runs) for a pack's own baseline names."""
    return COLOURS.get(name) or SPARE_COLOURS[zlib.crc32(name.encode()) % len(SPARE_COLOURS)]


def label(name: str) -> str:
    return LABELS.get(name, name)


def swept_parameter(params: dict[str, Any]) -> str | None:
    """The parameter on the x axis, or None when a level's shapes sweep no length (then one tick per case)."""
    return next((name for name in SWEPT if isinstance(params.get(name), int)), None)


def _shape_items(row: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The params that name a row's panel: all but the swept length, its followers and non-scalars."""
    params = row["params"]
    swept = swept_parameter(params)
    if swept is None:
        return ()  # no sweep: the level's cases share one panel, a tick each
    return tuple(
        (name, value) for name, value in params.items()
        if name != swept and name not in FOLLOWERS and isinstance(value, (bool, int, float, str))
    )


def unit_of(rows: list[dict[str, Any]]) -> str:
    """TFLOP/s for a level whose work is mostly arithmetic, GB/s for one bound by memory."""
    intensities = [row["flops"] / row["bytes"] for row in rows if row.get("flops") and row.get("bytes")]
    if any(row.get("flops") and not row.get("bytes") for row in rows) or any(i >= COMPUTE_BOUND_FROM for i in intensities):
        return "TFLOP/s"
    return "GB/s"


def throughput(row: dict[str, Any], unit: str) -> float | None:
    """The row's rate in `unit`, from its minimum work and its median (not the rounded extra_info)."""
    work, scale = (row.get("flops"), 1e12) if unit == "TFLOP/s" else (row.get("bytes"), 1e9)
    return work / row["median_s"] / scale if work else None


@dataclass
class Panel:
    """One subplot: the rows of one level, dtype and shape, drawn against the swept length."""

    level: int
    dtype: str
    shape: tuple[tuple[str, Any], ...]
    swept: str | None
    unit: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    titled: tuple[str, ...] = ()  # the shape params the title names

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.level, self.dtype, self.shape)

    def title(self) -> str:
        parts = [f"level {self.level}", self.dtype]
        for name, value in self.shape:
            if name not in self.titled:
                continue
            if name == "causal":
                parts.append("causal" if value else "full (not causal)")
            else:
                parts.append(f"{name}={value}")
        return ", ".join(parts)

    def x_of(self, row: dict[str, Any]) -> float:
        if self.swept is not None:
            return float(row["params"][self.swept])
        return float(self.cases().index(row["case"]))

    def cases(self) -> list[str]:
        return list(dict.fromkeys(row["case"] for row in self.rows))

    def series(self) -> dict[str, list[tuple[float, float]]]:
        """(x, throughput) of each implementation, yours first, then the baselines in the run's order."""
        found: dict[str, list[tuple[float, float]]] = {}
        for row in self.rows:
            value = throughput(row, self.unit)
            if value is not None:
                found.setdefault(row["row"], []).append((self.x_of(row), value))
        ordered = sorted(found, key=lambda name: name != YOURS)
        return {name: sorted(found[name]) for name in ordered}

    def tier_guides(self) -> list[tuple[str, float, list[tuple[float, float]]]]:
        """(tier, threshold, points): the rate yours needs for each tier, shape by shape, against the
        baseline that speedups are measured against. Where legend is less than 1.0x at this panel's
        shapes (Level.legend_by_head_dim), every tier is that fraction lower and legend gets a guide."""
        baseline = next((row.get("baseline") for row in self.rows if row.get("baseline")), None)
        points = self.series().get(baseline or "", [])
        if not points:
            return []
        legend = min((float(row.get("legend", 1.0)) for row in self.rows), default=1.0)
        tiers = [(threshold * legend, name) for threshold, name in TIERS if threshold * legend < 1.0]
        return [(name, threshold, [(x, threshold * y) for x, y in points]) for threshold, name in tiers]

    def log2_axis(self) -> bool:
        """A log2 x axis when the swept lengths are powers of two, as the quest's shapes are."""
        xs = {int(x) for x, _ in (point for points in self.series().values() for point in points)}
        return self.swept is not None and len(xs) > 1 and all(x > 0 and x & (x - 1) == 0 for x in xs)


def panels(rows: list[dict[str, Any]]) -> list[Panel]:
    """The rows grouped into panels, by level, then in the order the level lists its shapes."""
    units = {level: unit_of([row for row in rows if row["level"] == level]) for level in {row["level"] for row in rows}}
    found: dict[tuple[Any, ...], Panel] = {}
    for row in rows:
        shape = _shape_items(row)
        key = (row["level"], row.get("dtype", ""), shape)
        if key not in found:
            found[key] = Panel(row["level"], row.get("dtype", ""), shape, swept_parameter(row["params"]), units[row["level"]])
        found[key].rows.append(row)
    result = sorted(found.values(), key=lambda panel: panel.level)  # stable: the shapes' order stays
    for panel in result:
        # Name in the title what tells this level's panels apart, and always D and causal.
        same_level = [other for other in result if other.level == panel.level]
        varying = {name for name, value in panel.shape if any(dict(other.shape).get(name) != value for other in same_level)}
        panel.titled = tuple(name for name, _ in panel.shape if name in varying or name in ALWAYS_TITLED)
    return result


def tier_legend(rows: list[dict[str, Any]]) -> str:
    """The legend line of the tier guides, naming the baseline they are fractions of when the run has one."""
    tiers = ", ".join(f"{name} {threshold:g}x" for threshold, name in GUIDE_TIERS)
    baselines = {row.get("baseline") for row in rows} - {None}
    of = label(baselines.pop()) if len(baselines) == 1 else "each level's first PyTorch row"
    if any(float(row.get("legend", 1.0)) < 1.0 for row in rows):
        return f"tiers per shape: {tiers} of legend ({of}, or our solution where it is slower)"
    return f"tiers per shape: {tiers} of {of}"


def implementations(rows: list[dict[str, Any]]) -> list[str]:
    """Every row name, yours first: the order of the shared legend."""
    names = list(dict.fromkeys(row["row"] for row in rows))
    return sorted(names, key=lambda name: name != YOURS)


def length_text(value: float) -> str:
    """A tick label: 1k, 16k, 2^27."""
    number = int(value)
    if number >= 1 << 20 and number & (number - 1) == 0:
        return f"2^{number.bit_length() - 1}"
    if number >= 1024 and number % 1024 == 0:
        return f"{number // 1024}k"
    return str(number)


# ----- the roofline ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoofPoint:
    row: str  # yours or a baseline's name
    level: int
    panel: str  # the panel title of its shape
    case: str
    intensity: float  # FLOP per byte of the level's minimum work
    tflops: float


def roofline_points(rows: list[dict[str, Any]]) -> list[RoofPoint]:
    """Each row that counts both FLOPs and bytes, at the arithmetic intensity of its minimum work.

    A kernel that moves more than the minimum (re-reads a tile, spills) sits at a lower true
    intensity than shown; the picture compares kernels on the same work, which is what matters here.
    """
    titles = {id(row): panel.title() for panel in panels(rows) for row in panel.rows}
    return [
        RoofPoint(row["row"], row["level"], titles[id(row)], row["case"], row["flops"] / row["bytes"], row["flops"] / row["median_s"] / 1e12)
        for row in rows
        if row.get("flops") and row.get("bytes")
    ]


def marker_groups(points: list[RoofPoint]) -> dict[str, str]:
    """The legend entry of each panel title on the roofline: itself while every shape can have a marker
    of its own, else its level (a whole run has 30 shapes, and repeated markers would be misread)."""
    titles = list(dict.fromkeys(point.panel for point in points))
    if len(titles) <= len(SHAPE_MARKERS):
        return {title: title for title in titles}
    levels = {point.panel: f"level {point.level}" for point in points}
    return {title: levels[title] for title in titles}


def run_gpu(rows: list[dict[str, Any]]) -> str | None:
    """The one GPU every row was timed on, or None (no name recorded, or several)."""
    names = {row.get("gpu") for row in rows}
    return names.pop() if len(names) == 1 else None


def roof_note(rows: list[dict[str, Any]], measured: Mapping[str, Measured] | None = None) -> tuple[Card | None, str]:
    """The card whose roofs fit these rows (its measured figures where `measured` has them, else its
    datasheet's), and a line saying which, or why none is drawn."""
    gpu = run_gpu(rows)
    if gpu is None:
        return None, "no roof drawn: the rows name no single GPU"
    card = card_for(gpu, (measured or {}).get(gpu))
    if card is not None:
        return card, f"roofs of the {card.name}: {card.source}"
    return None, f"no roof drawn: {gpu} is in no datasheet table of card.py and was not measured (the first GPU run on a card measures it)"


def roofline_path(path: str) -> str:
    """Where the roofline goes: beside the plot, l8.png -> l8.roofline.png."""
    target = Path(path)
    return str(target.with_name(f"{target.stem}.roofline{target.suffix or '.png'}"))


# ----- drawing ----------------------------------------------------------------------------------------
def matplotlib_ticker() -> Any:
    import matplotlib.ticker

    return matplotlib.ticker


def plot(rows: list[dict[str, Any]], path: str, measured: Mapping[str, Measured] | None = None) -> str:
    """Both pictures of this run's rows, under the roofs of its card (`measured`: the progress file's
    measured cards); returns a line for the summary, saying where they are."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install 'pytest-triton-quest[plot]')"
    if not rows:
        return "plot skipped: no benchmark row was timed"
    roof_path = roofline_path(path)
    _draw_panels(plt, rows, path)
    _, note = roof_note(rows, measured)
    drawn = _draw_roofline(plt, rows, roof_path, measured)
    line = f"plot written to {path}"
    if drawn:
        line += f"; roofline written to {roof_path}" + ("" if note.startswith("roofs") else f" ({note})")
    return line


def _draw_panels(plt: Any, rows: list[dict[str, Any]], path: str) -> None:
    found = panels(rows)
    columns = 1 if len(found) == 1 else 2 if len(found) <= 4 else 3
    lines = math.ceil(len(found) / columns)
    figure, grid = plt.subplots(lines, columns, figsize=(5.4 * columns, 3.5 * lines + 1.1), squeeze=False, layout="constrained")
    tops: dict[int, float] = {}
    for panel in found:
        values = [y for points in panel.series().values() for _, y in points]
        tops[panel.level] = max(tops.get(panel.level, 0.0), *values)
    for axes, panel in zip(grid.flat, found):
        _draw_panel(axes, panel, tops[panel.level])
    for axes in list(grid.flat)[len(found) :]:
        axes.set_visible(False)
    handles = [
        plt.Line2D([], [], color=colour(name), marker=MARKERS.get(name, "D"), linewidth=2.6 if name == YOURS else 1.6, label=label(name))
        for name in implementations(rows)
    ]
    handles.append(plt.Line2D([], [], color="0.45", linestyle=":", linewidth=1.0, label=tier_legend(rows)))
    figure.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 2 if columns <= 2 else 3), fontsize=8.5, frameon=False)
    gpu = run_gpu(rows)
    figure.suptitle(f"Throughput per shape, higher is better{f' ({gpu})' if gpu else ''}", fontsize=11)
    figure.savefig(path, dpi=100, format=Path(path).suffix[1:] or "png")
    plt.close(figure)


def _draw_panel(axes: Any, panel: Panel, top: float) -> None:
    for tier, _, points in panel.tier_guides():
        if len(points) == 1:  # one shape: a short level mark, since a dotted line of one point is invisible
            (x, y), = points
            points = [(x / 1.12, y), (x * 1.12, y)] if panel.swept is not None else [(x - 0.15, y), (x + 0.15, y)]
        axes.plot([x for x, _ in points], [y for _, y in points], color="0.45", linestyle=":", linewidth=1.0, zorder=1)
        axes.annotate(tier, (points[-1][0], points[-1][1]), xytext=(4, 0), textcoords="offset points", fontsize=7, color="0.35", va="center")
    for name, points in panel.series().items():
        ours = name == YOURS
        axes.plot(
            [x for x, _ in points], [y for _, y in points], color=colour(name), marker=MARKERS.get(name, "D"),
            linewidth=2.6 if ours else 1.6, markersize=6 if ours else 5, zorder=3 if ours else 2,
        )
    axes.set_title(panel.title(), fontsize=9.5)
    axes.set_ylabel(panel.unit)
    axes.set_ylim(0, top * 1.08)
    axes.grid(alpha=0.3)
    xs = sorted({x for points in panel.series().values() for x, _ in points})
    if panel.swept is None:
        axes.set_xticks(range(len(panel.cases())), [case.removeprefix(f"{panel.dtype}-") for case in panel.cases()], rotation=20, ha="right", fontsize=7)
        axes.set_xlim(-0.5, len(panel.cases()) - 0.5)
        axes.set_xlabel("shape")
        return
    if panel.log2_axis():
        axes.set_xscale("log", base=2)
        # Room on the right for the tier names.
        axes.set_xlim(xs[0] / 1.4, xs[-1] * 2.2)
    elif len(xs) == 1:
        axes.set_xlim(xs[0] * 0.5, xs[0] * 1.5)
    axes.set_xticks(xs, [length_text(x) for x in xs])
    axes.minorticks_off()
    axes.set_xlabel(AXIS_LABELS.get(panel.swept, panel.swept))


def _draw_roofline(plt: Any, rows: list[dict[str, Any]], path: str, measured: Mapping[str, Measured] | None) -> bool:
    points = roofline_points(rows)
    if not points:
        return False
    card, note = roof_note(rows, measured)
    figure, axes = plt.subplots(figsize=(8.2, 5.6), layout="constrained")
    group_of = marker_groups(points)
    groups = list(dict.fromkeys(group_of.values()))
    marker_of = {title: SHAPE_MARKERS[groups.index(group) % len(SHAPE_MARKERS)] for title, group in group_of.items()}
    low = min(point.intensity for point in points) / 2
    high = max(point.intensity for point in points) * 2
    if card is not None:
        low, high = min(low, card.ridge() / 8), max(high, card.ridge() * 4)
        xs = [low * (high / low) ** (step / 200) for step in range(201)]
        axes.plot(xs, [card.roof_tflops(x) for x in xs], color="0.15", linewidth=1.8, zorder=1)
        axes.annotate(f"memory roof: {card.memory_roof}", (low * 1.2, card.roof_tflops(low * 1.2)),
                      xytext=(10, -2), textcoords="offset points", ha="left", va="top", fontsize=8, color="0.15")
        peak = f"{card.peak_fp16_tflops:g} TFLOP/s" + (", measured" if card.peaks_measured else ", datasheet")
        axes.annotate(f"dense fp16 tensor peak {peak}", (high, card.peak_fp16_tflops),
                      xytext=(-4, 5), textcoords="offset points", ha="right", fontsize=8, color="0.15")
    for point in points:
        ours = point.row == YOURS
        axes.scatter(point.intensity, point.tflops, color=colour(point.row), marker=marker_of[point.panel],
                     s=46 if ours else 34, edgecolors="black" if ours else "none", linewidths=0.6, zorder=3 if ours else 2)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log", base=10)
    axes.set_xlim(low, high)
    # Plain numbers (256, 400), not 2^8 and 4 x 10^2: a reader compares them with the tables.
    plain = matplotlib_ticker().FuncFormatter(lambda value, _: f"{value:g}")
    bottom, top = axes.get_ylim()
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(plain)
        # Label 200, 300, ... only when the y axis spans about one decade; over several they collide.
        few = axis is axes.yaxis and top / bottom < 20
        axis.set_minor_formatter(plain if few else matplotlib_ticker().NullFormatter())
    axes.set_xlabel("arithmetic intensity of the minimum work (FLOP/byte)")
    axes.set_ylabel("achieved TFLOP/s")
    axes.grid(alpha=0.3, which="both")
    by_colour = [
        plt.Line2D([], [], color=colour(name), marker="o", linestyle="", label=label(name))
        for name in implementations([{"row": point.row} for point in points])
    ]
    by_shape = [
        plt.Line2D([], [], color="0.4", marker=SHAPE_MARKERS[index % len(SHAPE_MARKERS)], linestyle="", markerfacecolor="none", label=group)
        for index, group in enumerate(groups)
    ]
    first = axes.legend(handles=by_colour, loc="upper left", fontsize=8, title="implementation", title_fontsize=8)
    axes.add_artist(first)
    shape_title = "shape (a longer S lies further right)" if groups == list(group_of) else "level"
    if len(by_shape) <= 6:
        axes.legend(handles=by_shape, loc="lower right", fontsize=7.5, title=shape_title, title_fontsize=8)
    else:  # a long list would hide the points: beside the axes instead
        figure.legend(handles=by_shape, loc="outside right upper", fontsize=7.5, title=shape_title, title_fontsize=8)
    gpu = run_gpu(rows)
    figure.suptitle(f"Roofline{f' on the {gpu}' if gpu else ''}: each benchmark row at its intensity", fontsize=11)
    axes.set_title(textwrap.fill(note, 140), fontsize=7.5, color="0.3")  # a card's sources run long
    figure.savefig(path, dpi=100, format=Path(path).suffix[1:] or "png")
    plt.close(figure)
    return True
