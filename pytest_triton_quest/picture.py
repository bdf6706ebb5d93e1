"""A picture of a failing check: the output as a grid, which program stored each element, which are wrong.

The report's error map says where the wrong values are; this says whose they are. The interpreter's
store map records, for every output element, the program that stored it last, so a failing case can
show the output (one 2-D slice of it) with each program's tile outlined and labelled with its
program id, and every element coloured: right, wrong, or never stored by any program. A store that
lands in the wrong place then shows as labelled tiles sitting where they do not belong.

Two halves, so the worker never needs matplotlib: `tile_view` (pure, in the worker, from the
failure's records) makes a small `TileView` that travels with the result as JSON; `draw` (in pytest's
process, only with --quest-picture) turns it into a PNG.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._lazy import torch
from .origins import axis_names, worst_slice

if TYPE_CHECKING:
    from .model import Failure

# One character per element of the shown slice.
RIGHT, WRONG, UNSTORED, OUTSIDE = ".", "#", " ", "~"
# One colour per meaning (Okabe-Ito's bluish green and vermillion, readable with the common
# colour-vision deficiencies), the same in every picture.
COLOURS = {RIGHT: "#CDEBDD", WRONG: "#D55E00", UNSTORED: "#BBBBBB", OUTSIDE: "#FFFFFF"}
MEANINGS = {RIGHT: "right", WRONG: "wrong", UNSTORED: "stored by no program"}
WRAP = 64  # a 1-D output is shown in rows of this many elements
MOST_ELEMENTS = 512 * 512  # a bigger slice is not drawn element by element (CPU cases are far smaller)
MOST_LABELS = 64  # more program tiles than this are outlined but not labelled: the labels would overlap
# Where the grid sits in the figure (fractions): fixed, so a test can find an element's pixel.
GRID_BOX = (0.08, 0.26, 0.84, 0.64)  # left, bottom, width, height
KEYS_BOX = (0.2, 0.26, 0.76, 0.64)  # the key-tile picture's grid: room on the left for row labels
MOST_ROW_LABELS = 32
FIGURE_INCHES = (8.0, 6.0)
DPI = 100


@dataclass
class TileView:
    """What the picture shows, small enough to travel from the worker as JSON."""

    title: str  # the case
    where: str  # which slice of the output: "`out`, batch 1, head 0"; "`c`"
    rows: list[str]  # one character per element (RIGHT, WRONG, UNSTORED; OUTSIDE pads a wrapped 1-D output)
    # Each program's tile in the shown slice: (label, first row, last row + 1, first column, last column + 1).
    programs: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    headline: str = ""
    row_name: str = "row"
    col_name: str = "column"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TileView":
        fields = dict(data)
        fields["programs"] = [tuple(program) for program in fields.get("programs", [])]
        return cls(**fields)

    def counts(self) -> dict[str, int]:
        text = "".join(self.rows)
        return {state: text.count(state) for state in MEANINGS}


def tile_view(failure: "Failure", title: str, headline: str = "") -> TileView | None:
    """The slice of the failing output with the most wrong elements, each element's state, and the
    tile of every program that stored into it; None without a store map (compiled runs) or for an
    output too large to draw."""
    if failure.writers is None:
        return None
    return output_view(failure.out, failure.writers, failure.bad, failure.output, title, headline)


def output_view(out: Any, writers: tuple[Any, list[tuple[str, tuple[int, int, int]]]], bad: Any, output: str, title: str, headline: str = "") -> TileView | None:
    """tile_view from its parts: the output, its last writers (KernelWatch.last_writers), which
    elements are wrong (none, for a passing case) and the output's name."""
    owner_flat, table = writers
    owner = torch.as_tensor(owner_flat).reshape(out.shape)
    names = axis_names(out.dim())
    if out.dim() == 1:
        width = min(WRAP, max(1, out.numel()))
        height = -(-out.numel() // width)
        pad = height * width - out.numel()
        owner2 = torch.cat([owner, torch.full((pad,), -2, dtype=owner.dtype)]).reshape(height, width)
        bad2 = torch.cat([bad, torch.zeros(pad, dtype=torch.bool)]).reshape(height, width)
        where = f"`{output}`, in rows of {width} elements"
        row_name, col_name = f"elements / {width}", f"elements % {width}"
    else:
        worst, index = worst_slice(bad) if out.dim() > 2 else (0, [])
        owner2, bad2 = owner.reshape(-1, *out.shape[-2:])[worst], bad.reshape(-1, *out.shape[-2:])[worst]
        where = f"`{output}`" + "".join(f", {name} {at}" for name, at in zip(names, index))
        row_name, col_name = names[-2], names[-1]
    if owner2.numel() > MOST_ELEMENTS:
        return None
    # One state per element, computed on whole tensors, then read off as characters.
    states = torch.where(owner2 == -2, 3, torch.where(owner2 < 0, 2, torch.where(bad2, 1, 0)))
    symbols = (RIGHT, WRONG, UNSTORED, OUTSIDE)
    rows = ["".join(symbols[state] for state in line) for line in states.tolist()]
    programs = []
    for who in sorted(set(owner2.flatten().tolist()) - {-1, -2}):
        spots = (owner2 == who).nonzero()
        r0, c0 = (int(value) for value in spots.min(dim=0).values)
        r1, c1 = (int(value) + 1 for value in spots.max(dim=0).values)
        kernel, program = table[who]
        programs.append((_program_label(program), r0, r1, c0, c1))
    return TileView(title, where, rows, programs, headline, row_name, col_name)


def _program_label(program: tuple[int, int, int]) -> str:
    """(3, 0, 0) as "3", the way a 1-D grid's program is named; (1, 2, 0) as "1,2"."""
    shown = list(program)
    while len(shown) > 1 and shown[-1] == 0:
        shown.pop()
    return ",".join(str(value) for value in shown)


def picture_path(folder: Path, level: int, case_id: str) -> Path:
    """levelN-<case>.png in the folder, the case id made safe for a file name."""
    return folder / f"level{level}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', case_id)}.png"


def element_pixel(view: "TileView | KeyTileView | StrayView", row: int, col: int) -> tuple[int, int]:
    """(x, y) in the PNG, from its top-left corner, of the centre of cell (row, col) of the grid."""
    cells = view.states if isinstance(view, KeyTileView) else view.rows
    left, bottom, width, height = KEYS_BOX if isinstance(view, KeyTileView) else GRID_BOX
    columns, rows_count = len(cells[0]), len(cells)
    x = (left + (col + 0.5) / columns * width) * FIGURE_INCHES[0] * DPI
    y_from_bottom = (bottom + (1 - (row + 0.5) / rows_count) * height) * FIGURE_INCHES[1] * DPI
    return int(x), int(FIGURE_INCHES[1] * DPI - y_from_bottom)


def draw(view: TileView, path: Path) -> Path:
    """Write the PNG; raises ImportError without matplotlib."""
    plt, figure, axes = _grid_figure(view.rows, COLOURS, GRID_BOX)
    from matplotlib.patches import Patch, Rectangle

    labelled = len(view.programs) <= MOST_LABELS
    for label, r0, r1, c0, c1 in view.programs:
        axes.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, edgecolor="#0072B2", linewidth=1.0))
        if labelled:
            axes.text((c0 + c1 - 1) / 2, (r0 + r1 - 1) / 2, label, ha="center", va="center", fontsize=7, color="#0072B2")
    axes.set_xlabel(view.col_name)
    axes.set_ylabel(view.row_name)
    counts = view.counts()
    axes.set_title(f"{view.where}: tiles labelled with the program id that stored them", fontsize=9)
    legend = [Patch(facecolor=COLOURS[state], edgecolor="#555555", label=f"{MEANINGS[state]} ({counts[state]})") for state in MEANINGS]
    legend.append(Patch(facecolor="none", edgecolor="#0072B2", label="a program's tile"))
    figure.legend(handles=legend, loc="lower center", ncol=4, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.13))
    caption = view.title + ("\n" + _wrapped(view.headline, 120) if view.headline else "")
    figure.text(0.5, 0.02, caption, ha="center", va="bottom", fontsize=8, wrap=True)
    return _save(plt, figure, path)


def _grid_figure(rows: list[str], colours: dict[str, str], box: tuple[float, float, float, float]) -> tuple[Any, Any, Any]:
    """(pyplot, figure, axes) with `rows` drawn one cell per character, each in its state's colour,
    in the fixed box that element_pixel knows; raises ImportError without matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap, to_rgb

    states = list(colours)
    grid = [[states.index(char) for char in row] for row in rows]
    figure = plt.figure(figsize=FIGURE_INCHES, dpi=DPI)
    axes = figure.add_axes(box)
    axes.imshow(
        grid, cmap=ListedColormap([to_rgb(colours[state]) for state in states]), vmin=0, vmax=len(states) - 1,
        interpolation="nearest", aspect="auto",
    )
    return plt, figure, axes


def _save(plt: Any, figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def _wrapped(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:3])


def picture_line(view: TileView | None, folder: Path | None, level: int, case_id: str) -> str | None:
    """The report's last line: where the picture went, or how to get one; None when none was asked
    for or the case has nothing to draw."""
    if folder is None or view is None:
        return None
    try:
        written = draw(view, picture_path(folder, level, case_id))
    except ImportError:
        return "picture: not drawn: it needs matplotlib (pip install matplotlib, or the quest's `plot` extra)"
    except OSError as error:
        return f"picture: not written: {error}"
    return f"picture: {written}"


# ----- attention: which key tiles each query program read ---------------------------------------------
READ_NEEDED, READ_SKIPPABLE, MISSED, SKIPPED = "r", "s", "m", "-"
KEY_COLOURS = {READ_NEEDED: "#56B4E9", READ_SKIPPABLE: "#E69F00", MISSED: "#D55E00", SKIPPED: "#EEEEEE"}
KEY_MEANINGS = {
    READ_NEEDED: "read, needed",
    READ_SKIPPABLE: "read, but the causal mask hides all of it: could be skipped",
    MISSED: "needed, never read",
    SKIPPED: "not needed, not read",
}


@dataclass
class KeyTileView:
    """For one (batch, head): a row per query program, a column per key tile; each cell's state and how
    many loads of k touched that tile."""

    title: str
    causal: bool
    key_tile: int  # keys per tile (the widest load of k seen)
    queries: list[tuple[str, int, int]]  # (program label, first query row, last query row + 1), by row
    states: list[str]  # one character per key tile, one string per query program
    reads: list[list[int]]  # loads of k touching each (query program, key tile)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "KeyTileView":
        fields = dict(data)
        fields["queries"] = [tuple(query) for query in fields.get("queries", [])]
        return cls(**fields)

    def counts(self) -> dict[str, int]:
        text = "".join(self.states)
        return {state: text.count(state) for state in KEY_MEANINGS}


def key_tile_view(
    load_calls: list[tuple[str, tuple[int, int, int], str, Any]],
    stores: Any,
    k: Any,
    out_shape: tuple[int, ...],
    causal: bool,
    title: str,
    k_names: set[str],
) -> KeyTileView | None:
    """Head (0, 0)'s picture from a probe run with its loads recorded: `stores` (StoreMap of the
    output) says which query rows each program computed, the loads of `k` (argument names `k_names`)
    which key rows it read. None when either is missing (k copied before the launch, say)."""
    import numpy as np

    S, D = int(out_shape[-2]), int(out_shape[-1])
    Dk = int(k.shape[-1])
    base, size = k.data_ptr(), k.element_size()
    head = S * Dk  # head (0, 0) is the first S rows of k
    rows_of: dict[tuple[str, tuple[int, int, int]], tuple[int, int]] = {}
    for (kernel, program), elements in zip(stores.programs, stores.elements):
        mine = elements[elements < S * D]
        if mine.size:
            rows_of[(kernel, program)] = (int(mine.min()) // D, int(mine.max()) // D + 1)
    if not rows_of:
        return None
    touched: dict[tuple[str, tuple[int, int, int]], list[Any]] = {key: [] for key in rows_of}
    widest = 0
    for kernel, program, argument, addresses in load_calls:
        if argument not in k_names or (kernel, program) not in touched:
            continue
        index = (np.asarray(addresses) - base) // size
        index = index[(index >= 0) & (index < head)]
        if not index.size:
            continue
        key_rows = np.unique(index // Dk)
        widest = max(widest, int(key_rows.size))
        touched[(kernel, program)].append(key_rows)
    if widest == 0:
        return None
    tile = widest
    tiles = -(-S // tile)
    queries, states, reads = [], [], []
    for key in sorted(rows_of, key=lambda key: rows_of[key]):
        first, last = rows_of[key]
        counted = [0] * tiles
        for key_rows in touched[key]:
            for t in np.unique(key_rows // tile).tolist():
                counted[t] += 1
        line = []
        for t in range(tiles):
            needed = not causal or t * tile <= last - 1  # some key of the tile is visible to some query row
            line.append((READ_NEEDED if needed else READ_SKIPPABLE) if counted[t] else (MISSED if needed else SKIPPED))
        queries.append((_program_label(key[1]), first, last))
        states.append("".join(line))
        reads.append(counted)
    return KeyTileView(title, causal, tile, queries, states, reads)


def draw_key_tiles(view: KeyTileView, path: Path) -> Path:
    """Write the (query program x key tile) PNG; raises ImportError without matplotlib."""
    plt, figure, axes = _grid_figure(view.states, KEY_COLOURS, KEYS_BOX)
    from matplotlib.patches import Patch

    cells = len(view.states) * len(view.states[0])
    if cells <= 400:
        for r, counted in enumerate(view.reads):
            for c, times in enumerate(counted):
                if times:
                    axes.text(c, r, str(times), ha="center", va="center", fontsize=7)
    step = -(-len(view.queries) // MOST_ROW_LABELS)
    shown = list(range(0, len(view.queries), step))
    axes.set_yticks(shown)
    axes.set_yticklabels([f"program {view.queries[r][0]}: rows {view.queries[r][1]}..{view.queries[r][2] - 1}" for r in shown], fontsize=6)
    axes.set_xlabel(f"key tile ({view.key_tile} keys each)")
    axes.set_ylabel("query program")
    axes.set_title("batch 0, head 0: the key tiles each query program loaded (numbers: loads of k)", fontsize=9)
    counts = view.counts()
    legend = [Patch(facecolor=KEY_COLOURS[state], edgecolor="#555555", label=f"{KEY_MEANINGS[state]} ({counts[state]})") for state in KEY_MEANINGS]
    figure.legend(handles=legend, loc="lower center", ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.08))
    figure.text(0.5, 0.02, view.title, ha="center", va="bottom", fontsize=8, wrap=True)
    return _save(plt, figure, path)


# ----- where stray lanes fell ------------------------------------------------------------------------
INSIDE, PAST, STRAY = ".", " ", "#"
STRAY_COLOURS = {INSIDE: "#CDEBDD", PAST: "#FFFFFF", STRAY: "#D55E00"}
STRAY_MEANINGS = {INSIDE: "inside the tensor", PAST: "outside it", STRAY: "a stray lane of this access"}
MOST_STRAY_ROWS = 48  # rows of the tensor's 2-D layout shown around the stray lanes


@dataclass
class StrayView:
    """The rows of a tensor's 2-D layout (its last dimension as columns) around an access the guard
    stopped: which cells lie inside the tensor, and where the stray lanes fell."""

    title: str
    argument: str
    width: int  # columns: the tensor's last dimension, or WRAP for a 1-D tensor
    first_row: int  # the row of the layout the picture starts at (negative: before the tensor)
    rows: list[str]  # one character per element: INSIDE, PAST or STRAY
    shown: int  # stray lanes drawn
    count: int  # stray lanes in the access
    headline: str = ""
    col_name: str = "column (the last dimension)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StrayView":
        return cls(**data)

    def counts(self) -> dict[str, int]:
        text = "".join(self.rows)
        return {state: text.count(state) for state in STRAY_MEANINGS}


def stray_view(stray: Any, tensor: Any, title: str, headline: str = "") -> StrayView | None:
    """The picture of a stopped access (a guard.BoundsViolation) against `tensor`, the argument its
    pointer came from; None when the record has no offsets or the lanes spread over more rows than a
    picture holds."""
    offsets = list(stray.stray_offsets or stray.offsets)
    if not offsets or stray.argument is None or stray.numel is None or not isinstance(tensor, torch.Tensor):
        return None
    width = int(tensor.shape[-1]) if tensor.dim() >= 2 else WRAP
    end_row = -(-stray.numel // width)  # rows the tensor fills, the last maybe in part
    low_row, high_row = min(offsets) // width, max(offsets) // width
    if high_row - low_row + 3 > MOST_STRAY_ROWS:
        return None  # lanes scattered far apart: the report's offsets say more than a strip would
    # The stray rows with a row of margin, and the tensor's nearest edge when it fits beside them.
    edge = end_row - 1 if low_row >= 0 else 0
    first, last = min(low_row, edge) - 1, max(high_row, edge) + 1
    if last - first + 1 > MOST_STRAY_ROWS:
        first, last = low_row - 1, high_row + 1
    hit = set(offsets)
    rows = []
    for row in range(first, last + 1):
        cells = []
        for col in range(width):
            element = row * width + col
            cells.append(STRAY if element in hit else INSIDE if 0 <= element < stray.numel else PAST)
        rows.append("".join(cells))
    col_name = "column (the last dimension)" if tensor.dim() >= 2 else f"element, the 1-D tensor cut in rows of {WRAP}"
    return StrayView(title, stray.argument, width, first, rows, len(hit), stray.count, headline, col_name)


def draw_stray(view: StrayView, path: Path) -> Path:
    """Write the PNG of a StrayView; raises ImportError without matplotlib."""
    plt, figure, axes = _grid_figure(view.rows, STRAY_COLOURS, GRID_BOX)
    from matplotlib.patches import Patch

    step = -(-len(view.rows) // MOST_ROW_LABELS)
    shown = list(range(0, len(view.rows), step))
    axes.set_yticks(shown)
    axes.set_yticklabels([str(view.first_row + r) for r in shown], fontsize=7)
    axes.set_xlabel(view.col_name)
    axes.set_ylabel(f"row of `{view.argument}`, {view.width} elements each")
    part = "" if view.shown == view.count else f" ({view.shown} of its {view.count} stray lanes drawn)"
    axes.set_title(f"`{view.argument}`: where the stopped access's stray lanes fell{part}", fontsize=9)
    counts = view.counts()
    legend = [Patch(facecolor=STRAY_COLOURS[state], edgecolor="#555555", label=f"{STRAY_MEANINGS[state]} ({counts[state]})") for state in STRAY_MEANINGS]
    figure.legend(handles=legend, loc="lower center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.13))
    caption = view.title + ("\n" + _wrapped(view.headline, 120) if view.headline else "")
    figure.text(0.5, 0.02, caption, ha="center", va="bottom", fontsize=8, wrap=True)
    return _save(plt, figure, path)


def pictures_lines(result: Any, folder: Path | None, level: int, case_id: str) -> list[str]:
    """The report's last lines for a case's pictures (CaseResult.picture and .key_picture): where each
    went, or how to get them. Nothing when none was asked for."""
    if folder is None:
        return []
    lines = []
    if result.picture:  # a failing case, or the traffic case of a passing level
        line = picture_line(TileView.from_dict(result.picture), folder, level, case_id)
        if line:
            lines.append(line)
    if not result.passed and result.stray_picture:
        path = picture_path(folder, level, case_id).with_suffix(".stray.png")
        try:
            lines.append(f"picture of where the stray lanes fell: {draw_stray(StrayView.from_dict(result.stray_picture), path)}")
        except ImportError:
            lines.append("picture: not drawn: it needs matplotlib (pip install matplotlib, or the quest's `plot` extra)")
        except OSError as error:
            lines.append(f"picture: not written: {error}")
    if result.key_picture:
        path = picture_path(folder, level, case_id).with_suffix(".keys.png")
        keys = KeyTileView.from_dict(result.key_picture)
        keys.title += _caption_extra(result)
        try:
            lines.append(f"picture of the key tiles each query program read: {draw_key_tiles(keys, path)}")
        except ImportError:
            if not lines:
                lines.append("picture: not drawn: it needs matplotlib (pip install matplotlib, or the quest's `plot` extra)")
        except OSError as error:
            lines.append(f"picture: not written: {error}")
    return lines


def _caption_extra(result: Any) -> str:
    """The second caption line of a key-tile picture: the headline of a failing case, or the memory
    traffic of the passing one."""
    if not result.passed:
        return "\n" + _wrapped(result.diagnoses[0], 120) if result.diagnoses else ""
    if result.traffic:
        from .traffic import TrafficReport

        lines = TrafficReport.from_dict(result.traffic).lines()
        return "\n" + lines[0] if lines else ""
    return ""
