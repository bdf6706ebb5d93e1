"""Score today's `likely:` diagnoses on the corpus of realistic learner mistakes (tests/mistakes/).

For every mistake, the level's hidden solution is edited into the learner's kernel, written to a
temporary katas/ folder (as tests/test_mutants.py does, so reports name katas/levelN_x.py) and checked
on EVERY case of its level with `check_case` under the interpreter. From the failing cases we collect
the `likely:` headlines and score them:

- top headline: the first `likely:` line of the end-of-run summary (summary.ranked_bugs): the most
  common over the failing cases, lines that differ only in their numbers counting as one bug, ties
  to the first seen.
- verdict:
    right   the top headline contains the mistake's `expect` phrase and no headline contains one of
            its `wrong` phrases;
    wrong   some headline was given, but not a right one (the `wrong?` column says whether a listed
            wrong phrase matched, or the top headline simply names something else);
    absent  the level failed, but no case gave a `likely:` line (or every one given names a near miss
            that another failing case's output rules out, which the summary leaves out);
    passes  every case passed: the checks cannot see the mistake.
- per level and in total: precision = right / (right + wrong), recall = right / all mistakes.

Usage (2 worker processes by default; the whole corpus takes several minutes on 2 CPU cores):
    PYTHONPATH=.:tests python benchmarks/corpus_report.py [--jobs 2] [--only 7] [--only 8/skip_none]
        [--markdown benchmarks/corpus_report.md] [--json PATH] [--control]
--control checks the unedited solutions instead (every level must pass: a sanity check of the setup).
With QUEST_TEST_DEVICE=cuda every kernel runs compiled on the GPU (one process per worker, spawned).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType

# QUEST_TEST_DEVICE=cuda (as in tests/support.py) checks every kernel compiled on the GPU; otherwise
# the interpreter, which must be chosen before triton is imported anywhere, here and in the workers.
COMPILED = os.environ.get("QUEST_TEST_DEVICE") == "cuda"
if not COMPILED:
    os.environ["TRITON_INTERPRET"] = "1"
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # a script, not a test: the corpus imports as tests.mistakes

from pytest_triton_quest.device import one_cpu_thread  # noqa: E402

if not COMPILED:
    one_cpu_thread()  # as the plugin does on the CPU, before torch is imported
from pytest_triton_quest.checking import check_case  # noqa: E402
from pytest_triton_quest.levels.base import Level  # noqa: E402
from pytest_triton_quest.model import Mode  # noqa: E402
from pytest_triton_quest.summary import ranked_bugs  # noqa: E402
from tests.mistakes import Mistake, all_mistakes, flat, says  # noqa: E402
import importlib.util  # noqa: E402
from pytest_triton_quest.registry import level_by_number  # noqa: E402

MODE = Mode("cuda", False, "tests") if COMPILED else Mode("cpu", True, "tests")
SOLUTIONS = REPO / "solutions_hidden"
HELDOUT = REPO / "tests" / "heldout"
BLIND = REPO / "tests" / "blind"
# A learner's endless loop must not stall the whole report: a case gets this long, then counts as
# timed out (the plugin's own limit is of the same order).
CASE_LIMIT_S = 120


@dataclass
class CaseOutcome:
    case: str
    outcome: str  # a results.py outcome, or "timed_out" when CASE_LIMIT_S ran out here
    first_line: str  # the message's first line
    headlines: list[str]  # the `likely:` lines the case gave
    ruled_out: list[str] = field(default_factory=list)  # near misses its output rules out (CaseResult.ruled_out)


@dataclass
class Measured:
    level: int
    name: str
    issue: str
    expect: list[str]  # the right headline contains one of these
    wrong_phrases: list[str]
    kind: str = "corpus"  # "corpus", "held-out" (written blind, never tuned on) or "correct"
    cases: list[CaseOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failing(self) -> list[CaseOutcome]:
        return [case for case in self.cases if case.outcome != "passed"]

    @property
    def failed(self) -> bool:
        return bool(self.failing)

    @property
    def headline_counts(self) -> Counter[str]:
        return Counter(line for case in self.failing for line in case.headlines)

    @property
    def ruled_out(self) -> set[str]:
        return {note for case in self.failing for note in case.ruled_out}

    @property
    def ranked(self) -> list[list[str]]:
        """The summary's `likely:` lines, as ranked_bugs groups them (less those another case rules out)."""
        return ranked_bugs([line for case in self.failing for line in case.headlines], self.ruled_out)

    @property
    def top(self) -> str:
        """The first line the learner's summary shows: lines that differ only in numbers count as one."""
        return self.ranked[0][0] if self.ranked else ""

    @property
    def wrong_hits(self) -> list[str]:
        """The listed wrong phrases that some headline contains."""
        lines = [flat(line) for line in self.headline_counts]
        return [phrase for phrase in self.wrong_phrases if any(says(phrase, line) for line in lines)]

    @property
    def verdict(self) -> str:
        if self.kind == "correct":
            return "passes" if not self.failed else "rejected"
        if not self.failed:
            return "passes"
        if not self.top:
            return "absent"  # no case named a cause, or every one named is ruled out by another case
        if any(flat(phrase) in flat(self.top) for phrase in self.expect) and not self.wrong_hits:
            return "right"
        return "wrong"


# ----- running one mistake (in a worker process) -------------------------------------------------
class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that check_case's `except Exception` lets it through."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise CaseTimeout()


@dataclass(frozen=True)
class Subject:
    """One kernel to measure: a corpus mistake (edits of the solution), a held-out kata file, or a
    correct kata file written independently of the solutions."""

    level: int
    name: str
    kind: str
    expect: tuple[str, ...] = ()
    wrong: tuple[str, ...] = ()
    issue: str = ""
    mistake: Mistake | None = None
    file: Path | None = None

    def source(self, level: Level) -> str:
        if self.file is not None:
            return self.file.read_text()
        solution = SOLUTIONS / level.kata_file
        text = solution.read_text()
        return text if self.mistake is None else self.mistake.apply(text, str(solution))


def corpus_subject(number: int, mistake: Mistake) -> Subject:
    return Subject(number, mistake.name, "corpus", (mistake.expect,), tuple(mistake.wrong), mistake.issue, mistake)


def corpus_subjects() -> list[Subject]:
    return [corpus_subject(number, mistake) for number, mistake in all_mistakes()]


def heldout_subjects() -> list[Subject]:
    """tests/heldout/catalogue_*.py: mistakes written blind from the templates and the contract, and
    the same authors' correct solutions (see tests/heldout/README.md)."""
    return catalogued_subjects(HELDOUT, held_out=True)


def blind_subjects() -> list[Subject]:
    """tests/blind/catalogue_*.py: written the same blind way, but as part of the corpus: the rules
    may be tuned on them (see tests/blind/README.md)."""
    return catalogued_subjects(BLIND, held_out=False)


def catalogued_subjects(folder: Path, held_out: bool) -> list[Subject]:
    subjects = []
    for catalogue in sorted(folder.glob("catalogue_*.py")):
        spec = importlib.util.spec_from_file_location(f"{folder.name}_{catalogue.stem}", catalogue)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for entry in module.ENTRIES:
            path = folder / entry["file"]
            # A held-out mistake someone looked at to change a rule counts with the corpus from then on.
            if held_out and not entry.get("seen"):
                kind, origin = "held-out", ""
            else:
                kind, origin = "corpus", ("held out, seen" if held_out else "blind")
            subjects.append(Subject(entry["level"], path.stem, kind, tuple(entry["expect"]), tuple(entry["wrong"]), origin, file=path))
        for file in module.CORRECT:
            path = folder / file
            label = f"correct ({path.parent.name})" if held_out else f"correct, blind corpus ({path.parent.name})"
            subjects.append(Subject(int(path.parent.name.removeprefix("level")), label, "correct", file=path))
    return subjects


def measure(subject: Subject) -> Measured:
    """Every case of the level, run on the subject's kernel."""
    number = subject.level
    level = level_by_number(number)
    assert level is not None, f"no level {number}"
    measured = Measured(
        level=number,
        name=subject.name,
        issue=subject.issue,
        expect=list(subject.expect),
        wrong_phrases=list(subject.wrong),
        kind=subject.kind,
    )
    started = time.perf_counter()
    signal.signal(signal.SIGALRM, _on_alarm)
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix=f"corpus-l{number}-") as folder:
        # A fresh folder per mistake: check_case caches a kata by its path, so paths must not repeat.
        katas = Path(folder) / "katas"
        katas.mkdir()
        path = katas / level.kata_file
        path.write_text(subject.source(level))
        os.chdir(folder)  # reports name the file relative to here, as a learner sees it
        try:
            for case in level.cases(MODE):
                signal.alarm(CASE_LIMIT_S)
                try:
                    result = check_case(level, case, path, MODE)
                except CaseTimeout:
                    measured.cases.append(CaseOutcome(case.id, "timed_out", f"over {CASE_LIMIT_S} s", []))
                    break  # the plugin stops the level at a timeout too
                finally:
                    signal.alarm(0)
                lines = result.message.strip().splitlines()
                headlines = [line for line in result.diagnoses if line.lower().startswith("likely")]
                measured.cases.append(CaseOutcome(case.id, result.outcome, lines[0] if lines else "", headlines, result.ruled_out))
                if result.stops_level:
                    break  # the plugin runs no more cases of the level after this one
        finally:
            os.chdir(previous)
    measured.seconds = time.perf_counter() - started
    return measured


# ----- the report --------------------------------------------------------------------------------
def cell(text: str, width: int = 110) -> str:
    text = text.replace("|", "/").replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def level_totals(rows: list[Measured]) -> dict[str, float | int]:
    verdicts = Counter(row.verdict for row in rows)
    right, wrong = verdicts["right"], verdicts["wrong"]
    listed = sum(bool(row.wrong_hits) for row in rows)
    return {
        "mistakes": len(rows),
        "failed": sum(row.failed for row in rows),
        "right": right,
        "wrong": wrong,
        "wrong_listed": listed,
        "absent": verdicts["absent"],
        "passes": verdicts["passes"],
        "precision": right / (right + wrong) if right + wrong else float("nan"),
        # Lenient: only a headline that contains a listed wrong phrase counts against precision; a vague
        # or off-target headline without one does not.
        "precision_listed": right / (right + listed) if right + listed else float("nan"),
        "recall": right / len(rows) if rows else float("nan"),
    }


def markdown(rows: list[Measured]) -> str:
    heldout = [row for row in rows if row.kind == "held-out"]
    correct = [row for row in rows if row.kind == "correct"]
    corpus = [row for row in rows if row.kind == "corpus"]
    out = [
        "# Diagnoses on learner mistakes",
        "",
        f"Generated by `benchmarks/corpus_report.py`: {MODE.describe()}, every case of each level.",
        "verdict: right = the top headline contains an `expect` phrase and no headline a `wrong` phrase (as",
        "words of its own: `scale` is not found in `rescaled`);",
        "wrong = a headline was given but not a right one; absent = failed with no `likely:` line;",
        "passes = every case passed (a wrong kernel the checks cannot see).",
        "precision = right / (right + wrong); recall = right / mistakes.",
        "",
    ]
    if heldout:
        out += [
            "## Held out (the headline figure)",
            "",
            "Mistakes written blind, from the templates and the contract alone, by authors who never read the",
            "diagnosis code (`tests/heldout/`). No rule is changed because of one of them, so their",
            "headlines are not shown here: a mistake someone looked at to fix a rule moves to the corpus.",
            "",
            *_totals_table(heldout),
            "",
        ]
    if correct:
        rejected = [row for row in correct if row.failed]
        out += [
            "## Correct kernels written independently",
            "",
            f"{len(correct) - len(rejected)} of {len(correct)} pass every case"
            + (": rejected: " + ", ".join(f"level {row.level}" for row in rejected) if rejected else "."),
            "",
        ]
    if corpus:
        out += [
            "## The corpus (`tests/mistakes/` and `tests/blind/`, which the rules may be tuned on)",
            "",
            "| level | mistake | issue | failed cases | top headline (cases) | headlines | verdict | wrong phrase |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in corpus:
            ranked = row.ranked
            top = f"{cell(row.top)} ({len(ranked[0])})" if ranked else "-"
            out.append(
                f"| {row.level} | {row.name} | {row.issue or '-'} | {len(row.failing)}/{len(row.cases)} | {top} | "
                f"{len(ranked)} | {row.verdict} | {cell(', '.join(row.wrong_hits)) or '-'} |"
            )
        out += ["", "### Totals of the corpus", "", *_totals_table(corpus)]
    return "\n".join(out) + "\n"


def _totals_table(rows: list[Measured]) -> list[str]:
    out = [
        "| level | mistakes | failed | right | wrong (listed phrase) | absent | passes | precision | precision (listed) | recall |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number in sorted({row.level for row in rows}):
        out.append(totals_row(str(number), level_totals([row for row in rows if row.level == number])))
    out.append(totals_row("all", level_totals(rows)))
    return out


def totals_row(label: str, t: dict[str, float | int]) -> str:
    return (
        f"| {label} | {t['mistakes']} | {t['failed']} | {t['right']} | {t['wrong']} ({t['wrong_listed']}) | "
        f"{t['absent']} | {t['passes']} | {t['precision']:.0%} | {t['precision_listed']:.0%} | {t['recall']:.0%} |"
    )


def print_table(rows: list[Measured], show_heldout: bool) -> None:
    for kind in ("held-out", "correct", "corpus"):
        subset = [row for row in rows if row.kind == kind]
        if not subset:
            continue
        print(f"== {kind} ==")
        if kind == "corpus" or show_heldout:
            print(f"{'mistake':34} {'failed':>7}  {'verdict':7}  top headline")
            for row in subset:
                failed = f"{len(row.failing)}/{len(row.cases)}"
                print(f"{row.level}/{row.name:32} {failed:>7}  {row.verdict:7}  {cell(row.top, 120) or '-'}")
                if row.wrong_hits:
                    print(f"{'':44}  wrong phrase: {', '.join(row.wrong_hits)}")
            print()
        if kind == "correct":
            for row in subset:
                print(f"level {row.level}: {row.verdict}")
            print()
            continue
        print(f"{'level':6} {'n':>3} {'right':>6} {'wrong':>6} {'listed':>7} {'absent':>7} {'passes':>7} {'precision':>10} {'(listed)':>9} {'recall':>7}")
        for label, part in [*((str(n), [r for r in subset if r.level == n]) for n in sorted({r.level for r in subset})), ("all", subset)]:
            t = level_totals(part)
            print(
                f"{label:6} {t['mistakes']:>3} {t['right']:>6} {t['wrong']:>6} {t['wrong_listed']:>7} {t['absent']:>7} {t['passes']:>7} "
                f"{t['precision']:>10.0%} {t['precision_listed']:>9.0%} {t['recall']:>7.0%}"
            )
        print()


def selected(only: list[str], which: str, author: str | None = None) -> list[Subject]:
    """The subjects of the chosen set, or those named by --only N or --only N/name; with an author
    prefix, only that blind author's files (`P_*.py` and `correct_P.py`), to score a new batch alone."""
    chosen = []
    if which in ("corpus", "all"):
        chosen += corpus_subjects()
    if which in ("corpus", "blind", "all"):
        chosen += blind_subjects()
    if which in ("heldout", "all"):
        chosen += heldout_subjects()
    if only:
        chosen = [subject for subject in chosen if any(pick in (str(subject.level), f"{subject.level}/{subject.name}") for pick in only)]
    if author:
        chosen = [s for s in chosen if s.file is not None and (s.file.stem == f"correct_{author}" or s.file.stem.startswith(f"{author}_"))]
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--only", action="append", default=[], help="N or N/name; may repeat")
    parser.add_argument("--set", choices=("corpus", "blind", "heldout", "all"), default="all",
                        help="which mistakes (default all; blind: only tests/blind/, part of the corpus)")
    parser.add_argument("--show-heldout", action="store_true", help="print the held-out mistakes' headlines (moves them to the corpus)")
    parser.add_argument("--markdown", type=Path, default=REPO / "benchmarks" / "corpus_report.md")
    parser.add_argument("--json", type=Path, default=None, help="also write every case's outcome and headlines")
    parser.add_argument("--control", action="store_true", help="check the unedited solutions instead")
    parser.add_argument("--author", default=None, help="only one blind author's files (prefix P: P_*.py, correct_P.py)")
    args = parser.parse_args()

    if args.control:
        levels = sorted({int(pick.split("/")[0]) for pick in args.only}) or list(range(1, 12))
        jobs = [Subject(number, "(solution)", "correct") for number in levels]
    else:
        jobs = selected(args.only, args.set, args.author)
    # The attention levels take longest: start them first so the workers finish together.
    jobs.sort(key=lambda job: -job.level)
    started = time.perf_counter()
    rows: list[Measured] = []
    # Workers are reused across mistakes (each mistake gets its own folder): importing torch and
    # triton costs seconds, more than many a level check.
    # CUDA cannot be used in a forked child once a parent has touched it; spawned workers start clean.
    with multiprocessing.get_context("spawn" if COMPILED else "fork").Pool(args.jobs) as pool:
        for row in pool.imap_unordered(measure, jobs):
            rows.append(row)
            shown = row.name if row.kind != "held-out" or args.show_heldout else "(held out)"
            print(f"[{time.perf_counter() - started:6.0f} s] {row.level}/{shown}: {row.verdict} ({row.seconds:.0f} s)", flush=True)
    order = {(job.kind, job.level, job.name): index for index, job in enumerate(sorted(jobs, key=lambda job: job.level))}
    rows.sort(key=lambda row: order[(row.kind, row.level, row.name)])

    print()
    if args.control:
        for row in rows:
            print(f"level {row.level}: {'FAILS' if row.failed else 'passes'} ({row.seconds:.0f} s)")
            for case in row.failing:
                print(f"  {case.case}: {case.outcome}: {case.first_line}")
        sys.exit(1 if any(row.failed for row in rows) else 0)
    print_table(rows, args.show_heldout)
    args.markdown.write_text(markdown(rows))
    print(f"\nmarkdown table written to {args.markdown}")
    if args.json is not None:
        args.json.write_text(json.dumps([{**asdict(row), "verdict": row.verdict, "top": row.top} for row in rows], indent=1))
    print(f"total {time.perf_counter() - started:.0f} s with {args.jobs} workers")


if __name__ == "__main__":
    main()
