"""How much longer a failing level takes than a passing one, on the CPU (issue 23).

For every level, in one process and warm (each check run once before it is timed): the time to run
every case of the hidden solution, then the same for every corpus mistake of that level
(tests/mistakes/, edits of the solution), diagnoses included, in CPU seconds of this process. A
learner waits for the whole level, so whole-level times are compared: median and slowest mistake
against the solution.

With --learner, what a learner waits for instead: each kata checked by a fresh `pytest --level N`
process (Python, torch and Triton start included, as on every save), in CPU seconds of that process.

Usage: PYTHONPATH=.:tests python benchmarks/failing_cost.py [--only N] [--learner] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported anywhere
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pytest_triton_quest.device import one_cpu_thread  # noqa: E402

one_cpu_thread()  # as the plugin does on the CPU, before torch is imported
from pytest_triton_quest.checking import check_case  # noqa: E402
from pytest_triton_quest.levels.base import Level  # noqa: E402
from pytest_triton_quest.model import Mode  # noqa: E402
from pytest_triton_quest.registry import level_by_number  # noqa: E402
from tests.mistakes import all_mistakes  # noqa: E402

MODE = Mode("cpu", True, "tests")
SOLUTIONS = REPO / "solutions_hidden"


def level_seconds(level: Level, source: str, folder: Path) -> float:
    """Every case of the level on this kata source, timed after one untimed run (compiled, imported)."""
    katas = folder / "katas"
    katas.mkdir(parents=True, exist_ok=True)
    kata = katas / level.kata_file
    kata.write_text(source)
    cases = level.cases(MODE)
    for case in cases[:1]:
        check_case(level, case, kata, MODE)  # warm: the kata imported, Triton's interpreter ready
    # CPU time of this process, not wall time: on a shared machine the wall clock counts other jobs'
    # turns too, and a check runs in one thread here, so on an idle machine the two agree.
    started = time.process_time()
    for case in cases:
        check_case(level, case, kata, MODE)
    return time.process_time() - started


def learner_seconds(level: Level, source: str, folder: Path) -> float:
    """CPU seconds of a fresh `pytest --level N` on this kata source, start-up included; its progress
    goes to a state file of its own."""
    katas = folder / "katas"
    katas.mkdir(parents=True, exist_ok=True)
    (katas / level.kata_file).write_text(source)
    command = [
        sys.executable, "-m", "pytest", "--level", str(level.number), "--katas", str(katas), "--unlock-all",
        "--quest-state", str(folder / "state.json"), "-q", "-p", "no:cacheprovider",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=int, action="append", default=[], help="a level number; may repeat")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table there too")
    parser.add_argument("--learner", action="store_true", help="a fresh pytest process per kata, start-up included")
    args = parser.parse_args()
    timed = learner_seconds if args.learner else level_seconds
    rows = ["| level | solution | mistakes | median mistake | slowest mistake |", "|---|---|---|---|---|"]
    here = Path.cwd()
    for number in range(1, 12):
        if args.only and number not in args.only:
            continue
        level = level_by_number(number)
        assert level is not None
        solution = (SOLUTIONS / level.kata_file).read_text()
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)  # reports name katas/levelN_x.py, as for a learner
            passing = timed(level, solution, Path(folder) / "solution")
            failing = []
            for index, (_, mistake) in enumerate((n, m) for n, m in all_mistakes() if n == number):
                edited = mistake.apply(solution, str(SOLUTIONS / level.kata_file))
                failing.append((timed(level, edited, Path(folder) / f"m{index}"), mistake.name))
            os.chdir(here)
        median = statistics.median(seconds for seconds, _ in failing)
        slowest, name = max(failing)
        row = (
            f"| {number} | {passing:.2f} s | {len(failing)} | {median:.2f} s ({median / passing:.1f}x) | "
            f"{slowest:.2f} s ({slowest / passing:.1f}x, `{name}`) |"
        )
        rows.append(row)
        print(row, flush=True)
    if args.markdown is not None:
        args.markdown.write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
