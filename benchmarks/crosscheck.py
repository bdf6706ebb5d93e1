"""Check a saved `pytest --benchmark` run against triton.testing.do_bench on the same calls.

    python benchmarks/crosscheck.py                           # the newest run under .benchmarks/
    python benchmarks/crosscheck.py RUN.json --katas solutions_hidden

The quest's benchmark items time bursts of back-to-back calls on the host clock, waiting for the
GPU at both ends of a round; do_bench times each call alone with CUDA events and clears the L2
cache before it. For each saved row this rebuilds the same call (same level, case, inputs and kata
file), measures its median with do_bench and prints both. It exits 1 when any row differs by more than --tolerance (10% by default),
which would mean the quest's benchmark items are not measuring what they claim.

A third column times the calls back to back between two CUDA events, as the quest's rounds do but
with GPU timestamps: where it matches pytest-benchmark and do_bench is lower, the difference comes
from do_bench's pauses between calls (its L2 flush lets the GPU cool), not from the quest's timer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
import triton.testing

from pytest_triton_quest.bench import benchmark_call
from pytest_triton_quest.registry import level_by_number


def newest_run(folder: Path) -> Path:
    runs = sorted(folder.glob("*/*.json"), key=lambda path: path.stat().st_mtime)
    if not runs:
        raise SystemExit(f"no saved run under {folder}/: run `pytest --level N --benchmark` first")
    return runs[-1]


def back_to_back_ms(call, round_ms: float = 5.0, rounds: int = 50) -> float:
    """Median time per call over rounds of calls launched back to back, from CUDA events."""
    call()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    call()
    end.record()
    end.synchronize()
    calls = max(1, round(round_ms / max(start.elapsed_time(end), 1e-3)))
    times = []
    for _ in range(rounds):
        start.record()
        for _ in range(calls):
            call()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / calls)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", type=Path, help="a JSON file saved by pytest-benchmark (default: the newest)")
    parser.add_argument("--katas", type=Path, default=Path("katas"), help="the folder the benchmarked katas came from")
    parser.add_argument("--tolerance", type=float, default=0.10, help="largest relative difference allowed")
    args = parser.parse_args()

    run = args.run or newest_run(Path(".benchmarks"))
    saved = json.loads(run.read_text())["benchmarks"]
    print(f"{run}: {len(saved)} rows")
    print(f"{'level':>5}  {'case':<34} {'row':<11} {'pytest-benchmark':>16} {'do_bench':>10} {'diff':>7} {'back to back':>13}")
    worst = 0.0
    for entry in saved:
        info = entry["extra_info"]
        level = level_by_number(info["level"])
        assert level is not None, f"unknown level {info['level']}"
        case = next(case for case in level.benchmark_cases() if case.id == info["case"])
        call = benchmark_call(level, case, info["row"], args.katas / level.kata_file)
        theirs_ms = entry["stats"]["median"] * 1e3
        ours_ms = float(triton.testing.do_bench(call, warmup=50, rep=300, return_mode="median"))
        steady_ms = back_to_back_ms(call)
        difference = theirs_ms / ours_ms - 1.0
        worst = max(worst, abs(difference))
        print(
            f"{level.number:>5}  {case.id:<34} {info['row']:<11} {theirs_ms:>13.3f} ms {ours_ms:>7.3f} ms "
            f"{difference:>+7.1%} {steady_ms:>10.3f} ms"
        )
    verdict = "agree" if worst <= args.tolerance else "DISAGREE"
    print(f"largest difference {worst:.1%}: the two timers {verdict} within {args.tolerance:.0%}")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
