"""Draw the --plot pictures without a GPU, from measured numbers: a saved run, or BENCHMARKS.md's tables.

    python benchmarks/sample_plot.py l8.png                                # level 8 from BENCHMARKS.md (the newest card)
    python benchmarks/sample_plot.py h100.png --card "NVIDIA H100 80GB HBM3"   # the H100 history
    python benchmarks/sample_plot.py docs/level10-h200.png --level 10      # level 10 from BENCHMARKS.md (H200)
    python benchmarks/sample_plot.py l8.png --json .benchmarks/.../0001_level8_....json   # a saved run

The rows are built by the same functions the benchmark items use (bench.row_info and bench.plot_row)
from the level's own benchmark cases, so they have exactly the shape of a real run's rows; only the
medians come from elsewhere. BENCHMARKS.md's tables give each shape's solution and baseline times in
milliseconds (levels 8, 9 and 10) and the card in the line above each table. Writes PATH and, beside
it, PATH's roofline (l8.png -> l8.roofline.png).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from pytest_triton_quest.bench import YOURS, plot_row, row_info
from pytest_triton_quest.levels.base import Case, Level
from pytest_triton_quest.plots import plot
from pytest_triton_quest.registry import level_by_number

REPO = Path(__file__).resolve().parent.parent
BASELINE_NAMES = {"SDPA default": ["sdpa"], "SDPA flash": ["sdpa-flash"], "SDPA default / flash": ["sdpa", "sdpa-flash"], "SDPA enable_gqa": ["sdpa"]}


def _case_of(level: Level, shape: str) -> Case:
    """The level's benchmark case that a table's shape cell (`B4 Hq32 Hkv8 S4096 D128 causal`) names."""
    numbers = {name: int(value) for name, value in re.findall(r"\b([A-Za-z]+)(\d+)\b", shape)}
    causal = "causal" in shape.split()
    for case in level.benchmark_cases():
        if case.params.get("causal") == causal and all(case.params.get(name) == value for name, value in numbers.items()):
            return case
    raise SystemExit(f"level {level.number}: no benchmark case has the shape {shape!r}")


def table_medians(text: str, level: Level, card: str | None = None) -> tuple[str, dict[str, dict[str, float]]]:
    """The GPU and, per case id, each row's median in seconds, from the level's rows of a BENCHMARKS.md
    table: the card named, or else the first card (the newest measurement) with rows of the level."""
    gpu = ""
    by_card: dict[str, dict[str, dict[str, float]]] = {}
    for line in text.splitlines():
        if line.startswith("NVIDIA "):
            gpu = re.split(r",| \(", line)[0]  # "NVIDIA H100 80GB HBM3, driver ..." / "NVIDIA H200 (driver ...)"
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 5 or cells[0] != str(level.number) or cells[2] not in BASELINE_NAMES:
            continue
        case = _case_of(level, cells[1])
        rows = by_card.setdefault(gpu, {}).setdefault(case.id, {})
        rows[YOURS] = float(cells[3]) / 1e3
        for name, ms in zip(BASELINE_NAMES[cells[2]], cells[4].split("/")):
            rows[name] = float(ms) / 1e3
    if not by_card:
        raise SystemExit(f"level {level.number}: no rows in BENCHMARKS.md")
    chosen = card if card is not None else next(iter(by_card))
    if chosen not in by_card:
        raise SystemExit(f"level {level.number}: no rows measured on {chosen!r} in BENCHMARKS.md, only on {list(by_card)}")
    return chosen, by_card[chosen]


def rows_from_table(level: Level, benchmarks_md: Path, card: str | None = None) -> list[dict[str, Any]]:
    gpu, medians = table_medians(benchmarks_md.read_text(encoding="utf-8"), level, card)
    baseline = next(iter(level.baselines()))
    rows = []
    for case in level.benchmark_cases():  # the items' order: each case's baselines, then yours
        timed = medians.get(case.id)
        if timed is None:
            continue
        for name in [*level.baselines(), YOURS]:
            if name in timed:
                info = row_info(level, case, name, timed[name], gpu, timed.get(baseline) if name == YOURS else None)
                rows.append(plot_row(level, case, info, timed[name]))
    return rows


def rows_from_saved_run(path: Path) -> list[dict[str, Any]]:
    """A pytest-benchmark JSON saved by `pytest --level N --benchmark`: its extra_info and medians."""
    rows = []
    for entry in json.loads(path.read_text())["benchmarks"]:
        info = entry["extra_info"]
        level = level_by_number(info["level"])
        assert level is not None, f"unknown level {info['level']}"
        case = next(case for case in level.benchmark_cases() if case.id == info["case"])
        rows.append(plot_row(level, case, info, float(entry["stats"]["median"])))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="the PNG to write; the roofline goes beside it")
    parser.add_argument("--level", type=int, default=8, help="the level whose BENCHMARKS.md rows to draw (8, 9 or 10)")
    parser.add_argument("--json", type=Path, help="draw a saved pytest-benchmark run instead of BENCHMARKS.md")
    parser.add_argument("--card", help="the card whose BENCHMARKS.md rows to draw, as its table names it (default: the newest)")
    args = parser.parse_args()
    if args.json:
        rows = rows_from_saved_run(args.json)
    else:
        level = level_by_number(args.level)
        if level is None:
            raise SystemExit(f"no level {args.level}")
        rows = rows_from_table(level, REPO / "BENCHMARKS.md", args.card)
    print(f"{len(rows)} rows on {sorted({row['gpu'] for row in rows})}")
    print(plot(rows, args.path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
