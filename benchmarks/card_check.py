"""Measure the GPU at hand with the quest's own code and print each figure beside its datasheet's.

    python benchmarks/card_check.py                 # measure in this process (a few seconds, under 30)
    python benchmarks/card_check.py --child         # as the quest measures: in a child process
    python benchmarks/card_check.py --repeat 3      # three times, to see how much the figures move
    python benchmarks/card_check.py --json out.json # also write the figures

It calls pytest_triton_quest.card_rates, the code that measures a card on its first GPU run, and
writes no progress file. For each figure: what was measured, the datasheet's (card.py) and the share.
Expect shares below 100%: a copy reaches most of a datasheet's bandwidth (about 90% on the H100 and
H200 here), cuBLAS a large part of the tensor peak; a share far above 100% says the table or the
measurement is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pytest_triton_quest.card import Datasheet, Measured, capability_text, datasheet_for, figure_rows
from pytest_triton_quest.card_rates import MeasureError, measure, measure_in_child

# (measured field, datasheet field) of each figure, in figure_rows' order.
FIELDS = (
    ("copy_gb_per_s", "memory_gb_per_s"),
    ("fp16_tflops", "fp16_tflops"),
    ("bf16_tflops", "bf16_tflops"),
    ("tf32_tflops", "tf32_tflops"),
    ("fp32_tflops", "fp32_tflops"),
)


def share(measured: Measured, sheet: Datasheet | None, mine: str, theirs: str) -> str:
    value, peak = getattr(measured, mine), getattr(sheet, theirs) if sheet is not None else None
    return f"{value / peak:.0%}" if value and peak else ""


def report(measured: Measured, seconds: float) -> list[str]:
    sheet = datasheet_for(measured.name)
    lines = [
        f"{measured.name}, compute capability {capability_text(measured.capability)}, torch {measured.torch}: "
        f"measured in {seconds:.1f} s",
        f"  {'':<24} {'measured':>14} {'datasheet':>14} {'share':>6}",
    ]
    for (label, mine, theirs), (field, sheet_field) in zip(figure_rows(measured, sheet), FIELDS):
        lines.append(f"  {label:<24} {mine:>14} {theirs:>14} {share(measured, sheet, field, sheet_field):>6}")
    lines.append(f"  datasheet: {sheet.source}" if sheet is not None else "  this card is in no datasheet table of card.py")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help="measure in a child process, as the quest does")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="measure N times (default 1)")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement as JSON")
    args = parser.parse_args()
    import torch

    before = torch.get_float32_matmul_precision()
    found = []
    for _ in range(max(args.repeat, 1)):
        started = time.perf_counter()
        try:
            measured = measure_in_child() if args.child else measure()
        except MeasureError as error:
            print(f"could not measure this card: {error}", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - started
        print("\n".join(report(measured, seconds)))
        found.append({"name": measured.name, "seconds": round(seconds, 2), **measured.to_json()})
    after = torch.get_float32_matmul_precision()
    print(f"float32 matmul precision before and after: {before}, {after}" + ("" if before == after else "  <- NOT RESTORED"))
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=2) + "\n")
    return 0 if before == after else 1


if __name__ == "__main__":
    sys.exit(main())
