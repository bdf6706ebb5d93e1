"""The quest's state for one pytest run: its settings, the levels, what each level's cases did, and
the progress file it records into when the run ends.

`plugin.py` builds one `QuestSession` in `pytest_configure` and keeps it in `config.stash`; the items
fill in `runs` and the benchmark log; `record_progress` writes the outcome once, at the end.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from .bench import YOURS, BenchLog, geometric_mean
from .card_rates import CardAtHand, gpu_at_hand, skip_reason, support_line, the_card
from .levels.base import Level
from .model import PASSED, Case, CaseResult, Mode
from .options import Settings
from .progress import Progress, ProgressStore, now
from .ownership import set_apart_foreign_passes
from .runner import InProcessRunner, IsolatedRunner, Runner
from .sanitizer import OFF, SanitizerPlan, find_tool, plan_sanitizer
from .traffic import TrafficReport


@dataclass
class LevelRun:
    """What happened to one level in this run."""

    expected: set[str]
    results: dict[str, CaseResult] = field(default_factory=dict)
    stopped_by: CaseResult | None = None  # a result that made the rest of the level pointless

    @property
    def passed(self) -> bool:
        return self.expected == {case for case, result in self.results.items() if result.outcome == PASSED}

    def traffic_lines(self) -> list[str]:
        """The memory traffic of the level's representative case, when it passed and was counted."""
        for result in self.results.values():
            if result.passed and result.traffic:
                try:
                    return TrafficReport.from_dict(result.traffic).lines() + result.footer
                except (TypeError, KeyError, ValueError):  # a report from another version of the quest
                    return []
        return []


@dataclass
class QuestSession:
    settings: Settings
    mode: Mode
    levels: tuple[Level, ...]
    store: ProgressStore
    progress: Progress
    bench: BenchLog = field(default_factory=BenchLog)
    runs: dict[int, LevelRun] = field(default_factory=dict)
    newly_passed: list[int] = field(default_factory=list)
    # Short option spellings another plugin owns in this environment (`--level`, ...).
    taken_aliases: list[str] = field(default_factory=list)
    # What pytest-xdist workers said, in the controller: summary lines by level, then the others.
    worker_blocks: dict[int, list[str]] = field(default_factory=dict)
    worker_rest: list[str] = field(default_factory=list)
    say: Callable[[str], None] | None = None  # one line on the learner's terminal, mid-run
    verbose: bool = False  # pytest -v: the worker's stack is shown with a crash or a time-out
    sanitizer: SanitizerPlan = OFF  # how compiled kernels' memory accesses are checked
    card: CardAtHand | None = None  # the GPU of a run on one (meet_the_card); None on the CPU
    _runner: Runner | None = None

    @property
    def requested_level(self) -> int | None:
        return self.settings.level

    @property
    def numbers(self) -> list[int]:
        return [level.number for level in self.levels]

    def level(self, number: int) -> Level | None:
        return next((level for level in self.levels if level.number == number), None)

    def level_of_file(self, name: str) -> Level | None:
        return next((level for level in self.levels if level.kata_file == name), None)

    def lock_reason(self, number: int) -> int | None:
        if self.settings.unlock_all:
            return None
        return self.progress.first_unpassed_before(number, self.numbers)

    def kata_path(self, level: Level) -> Path:
        return self.settings.katas / level.kata_file

    def run_of(self, level: Level) -> LevelRun:
        # A case this card cannot run is skipped, so the level passes without it.
        runnable = {case.id for case in level.cases(self.mode) if self.skip_reason(level, case) is None}
        return self.runs.setdefault(level.number, LevelRun(runnable))

    # ----- the card ---------------------------------------------------------------------------------
    def meet_the_card(self, measure: bool) -> None:
        """On a GPU, before any check: which card this is, measured on the first run on it. Only one
        process measures (`measure`: pytest-xdist's controller, or a plain run); its workers read the
        figures it kept."""
        if measure:
            self.card = the_card(self.store)
            if self.card.measured is not None:
                self.progress.cards[self.card.name] = self.card.measured
        else:
            name, capability = gpu_at_hand()
            self.card = CardAtHand(name, capability, self.progress.cards.get(name))

    def skip_reason(self, level: Level, case: Case) -> str | None:
        """Why the card at hand cannot run this case (a bf16 case on a T4), or None."""
        if self.card is None:
            return None
        return skip_reason(level, case, self.card.name, self.card.capability)

    def card_lines(self) -> list[str]:
        """For the run's header: the card and its figures, then which levels it can run."""
        if self.card is None:
            return []
        support = support_line(self.levels, self.mode, self.card.name, self.card.capability)
        return [self.card.line()] + ([support] if support else [])

    def runner(self) -> Runner:
        if self._runner is None:
            if self.settings.isolation == "none":
                self._runner = InProcessRunner(self.mode, self.settings.picture is not None)
            else:
                self._runner = IsolatedRunner(
                    self.mode, self.settings.timeout_s(self.mode.device), self.say, self.verbose, self.sanitizer,
                    pictures=self.settings.picture is not None,
                )
        return self._runner

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    # ----- the end of the run ---------------------------------------------------------------------
    def record_progress(self) -> None:
        """One locked read-modify-write of the progress file: attempts, passes, benchmark bests. A run
        of another folder than the learner's own kata folder records nothing (its header said so)."""
        if not self.settings.records:
            return
        with self.store.update() as progress:
            for number, run in sorted(self.runs.items()):
                entry = progress.level(number)
                entry.attempts += 1
                if run.passed and not entry.passed:
                    entry.passed_at = now()
                    entry.katas = str(self.settings.katas)
                    entry.foreign_passed_at = None
                    self.newly_passed.append(number)
                traffic = run.traffic_lines() if run.passed else []
                if traffic:  # the tutor reads the last run's traffic from here
                    entry.traffic = traffic
            self._record_benchmarks(progress)
            self.progress = progress

    def set_apart_foreign_passes(self) -> list[int]:
        """Repair a progress file that counted passes of other folders as the learner's (see
        Progress.set_apart_foreign_passes); the levels set apart, for a warning."""
        moved = set_apart_foreign_passes(self.store, self.settings.own_katas, self.levels)
        if moved:
            self.progress = self.store.load()
        return moved

    def _record_benchmarks(self, progress: Progress) -> None:
        for (number, case_id), rows in self.bench.medians.items():
            if YOURS in rows:
                timings = progress.level(number).best_timings
                timings[case_id] = min(timings.get(case_id, rows[YOURS]), rows[YOURS])
        for level in self.levels:
            speedups = list(self.bench.speedups(level).values())
            if speedups:
                entry = progress.level(level.number)
                speedup = round(geometric_mean(speedups), 3)
                entry.best_speedup = speedup if entry.best_speedup is None else max(entry.best_speedup, speedup)


def sanitizer_plan(settings: Settings, mode: Mode) -> SanitizerPlan:
    """How this run checks compiled kernels' memory (raises SanitizerError for an impossible `on`)."""
    isolated = settings.isolation == "process"
    return plan_sanitizer(settings.sanitize, mode.on_gpu, isolated, find_tool() if mode.on_gpu and isolated else None)


SESSION_KEY = pytest.StashKey[QuestSession]()


def terminal_line(config: pytest.Config) -> Callable[[str], None]:
    """Write one line on the terminal while a test runs: pytest captures output then, so the capture
    is suspended for the line (as pytest does for its own live output)."""

    def say(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or hasattr(config, "workerinput"):  # -p no:terminal, or a pytest-xdist worker, whose terminal nobody sees
            return
        capture = config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            reporter.ensure_newline()
            reporter.write_line(line)
            reporter.flush()

    return say


def session_of(config: pytest.Config) -> QuestSession | None:
    return config.stash.get(SESSION_KEY, None)
