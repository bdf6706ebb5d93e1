"""pytest hooks of Triton Quest: options, configuration, collection, gating, hints and the summary.

The plugin is imported by every pytest run of the environment it is installed in, so this module
imports neither torch nor triton; they load only when quest items run.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from .results import PASSED, CaseResult, PortabilityWarning, format_report
from .bench import BenchLog, MachineInfo, benchmark_items
from .device import CHOICES, DeviceError, activate, detect_mode
from .levels.base import Case, Level, Mode
from .progress import FILE_NAME, Progress, ProgressStore, now
from .registry import RegistryError, all_levels
from .runner import InProcessRunner, IsolatedRunner, Runner

HELP_LEVEL = "run only level N's checks (the learner's kata file for that level)"
HELP_HINT = "reveal the next hint of level N (six per level), record it, and run no tests"
HELP_KATAS = "folder holding the kata files (default: katas/, or the triton_quest_katas ini option)"
HELP_UNLOCK = "ignore level gating: run any level whether or not the levels before it are passed"
HELP_DEVICE = "where checks run: auto (GPU if there is one), cpu (Triton interpreter) or cuda"
HELP_TIMEOUT = "seconds a single case may take before its kernel is stopped (default 60 on the CPU, 180 on a GPU)"
HELP_ISOLATION = "process: run cases in a worker process that a crash or hang cannot take down (default); none: in pytest's own process"
HELP_WHERE = "print where the quest's katas and progress file are (JSON, for the triton-quest command) and exit"
HELP_BENCHMARK = "also time your kernels against PyTorch on the GPU (pytest-benchmark; runs are saved to .benchmarks/)"
HELP_PLOT = "with --benchmark: write a PNG of TFLOP/s against sequence length (needs matplotlib)"
HELP_STATE = "progress file (default: .triton-quest.json in the project root; env TRITON_QUEST_STATE)"

STATE_VARIABLE = "TRITON_QUEST_STATE"
DEFAULT_TIMEOUT_S = {"cpu": 60.0, "cuda": 180.0}


def _level_number(text: str) -> int:
    import argparse

    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level number (levels are 1, 2, 3, ...)") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"level {number} does not exist: levels start at 1")
    return number


def _seconds(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the time limit must be more than 0 seconds")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("triton-quest", "Triton Quest (learn Triton from vector add to Flash Attention)")
    group.addoption("--level", dest="quest_level", type=_level_number, metavar="N", help=HELP_LEVEL)
    group.addoption("--hint", dest="quest_hint", type=_level_number, metavar="N", help=HELP_HINT)
    group.addoption("--katas", dest="quest_katas", metavar="DIR", help=HELP_KATAS)
    group.addoption("--unlock-all", dest="quest_unlock_all", action="store_true", default=None, help=HELP_UNLOCK)
    group.addoption("--quest-device", dest="quest_device", choices=CHOICES, default=None, help=HELP_DEVICE)
    group.addoption("--quest-timeout", dest="quest_timeout", type=_seconds, metavar="SECONDS", help=HELP_TIMEOUT)
    group.addoption("--quest-isolation", dest="quest_isolation", choices=("process", "none"), help=HELP_ISOLATION)
    group.addoption("--quest-state", dest="quest_state", metavar="PATH", help=HELP_STATE)
    group.addoption("--benchmark", dest="quest_benchmark", action="store_true", default=False, help=HELP_BENCHMARK)
    group.addoption("--plot", dest="quest_plot", metavar="PATH", help=HELP_PLOT)
    group.addoption("--quest-where", dest="quest_where", action="store_true", default=False, help=HELP_WHERE)
    parser.addini("triton_quest_katas", HELP_KATAS, default="katas")
    parser.addini("triton_quest_unlock_all", HELP_UNLOCK, type="bool", default=False)
    parser.addini("triton_quest_device", HELP_DEVICE, default="auto")
    parser.addini("triton_quest_timeout", HELP_TIMEOUT, default="")
    parser.addini("triton_quest_isolation", HELP_ISOLATION, default="process")


# ----- settings: command line > environment > ini > default -----------------------------------------
@dataclass(frozen=True)
class Settings:
    katas: Path
    unlock_all: bool
    device: str
    timeout_s: float | None
    isolation: str
    state: Path


def _ini_base(config: pytest.Config) -> Path:
    return config.inipath.parent if config.inipath else config.rootpath


def read_settings(config: pytest.Config) -> Settings:
    option = config.option
    if option.quest_katas:
        katas = Path(config.invocation_params.dir, option.quest_katas)
    else:
        katas = _ini_base(config) / str(config.getini("triton_quest_katas"))
    device = option.quest_device or str(config.getini("triton_quest_device"))
    if device not in CHOICES:
        raise pytest.UsageError(f"ini option triton_quest_device = {device!r}: choose one of {', '.join(CHOICES)}")
    timeout = option.quest_timeout
    if timeout is None and str(config.getini("triton_quest_timeout")).strip():
        try:
            timeout = _seconds(str(config.getini("triton_quest_timeout")))
        except Exception as error:  # argparse.ArgumentTypeError
            raise pytest.UsageError(f"ini option triton_quest_timeout: {error}") from None
    isolation = option.quest_isolation or str(config.getini("triton_quest_isolation"))
    if isolation not in ("process", "none"):
        raise pytest.UsageError(f"ini option triton_quest_isolation = {isolation!r}: choose process or none")
    if option.quest_state:
        state = Path(config.invocation_params.dir, option.quest_state)
    elif os.environ.get(STATE_VARIABLE):
        state = Path(os.environ[STATE_VARIABLE])
    else:
        state = config.rootpath / FILE_NAME
    unlock_all = bool(option.quest_unlock_all) or bool(config.getini("triton_quest_unlock_all"))
    return Settings(katas.resolve(), unlock_all, device, timeout, isolation, state)


# ----- the quest's state for one pytest run ---------------------------------------------------------
@dataclass
class LevelRun:
    """What happened to one level in this run."""

    expected: set[str]
    results: dict[str, CaseResult] = field(default_factory=dict)
    stopped_by: CaseResult | None = None  # a result that made the rest of the level pointless

    @property
    def passed(self) -> bool:
        return self.expected == {case for case, result in self.results.items() if result.outcome == PASSED}


@dataclass
class Quest:
    settings: Settings
    mode: Mode
    levels: tuple[Level, ...]
    store: ProgressStore
    progress: Progress
    requested_level: int | None
    benchmark: bool = False
    plot_path: str | None = None
    bench: BenchLog = field(default_factory=BenchLog)
    runs: dict[int, LevelRun] = field(default_factory=dict)
    locked: dict[int, int] = field(default_factory=dict)  # level -> the level to pass first
    newly_passed: list[int] = field(default_factory=list)
    # What pytest-xdist workers said, in the controller: summary lines by level, then the others.
    worker_blocks: dict[int, list[str]] = field(default_factory=dict)
    worker_rest: list[str] = field(default_factory=list)
    _runner: Runner | None = None

    @property
    def numbers(self) -> list[int]:
        return [level.number for level in self.levels]

    def level(self, number: int) -> Level | None:
        return next((level for level in self.levels if level.number == number), None)

    def lock_reason(self, number: int) -> int | None:
        if self.settings.unlock_all:
            return None
        return self.progress.first_unpassed_before(number, self.numbers)

    def kata_path(self, level: Level) -> Path:
        return self.settings.katas / level.kata_file

    def runner(self) -> Runner:
        if self._runner is None:
            if self.settings.isolation == "none":
                self._runner = InProcessRunner(self.mode)
            else:
                timeout = self.settings.timeout_s or DEFAULT_TIMEOUT_S[self.mode.device]
                self._runner = IsolatedRunner(self.mode, timeout)
        return self._runner

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None


QUEST_KEY = pytest.StashKey[Quest]()


def _quest(config: pytest.Config) -> Quest | None:
    return config.stash.get(QUEST_KEY, None)


def _within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def _is_quest_run(config: pytest.Config, settings: Settings) -> bool:
    if config.option.quest_level is not None:
        return True
    if not settings.katas.is_dir():
        return False
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return True  # plain `pytest`: the learner's view
    base = config.invocation_params.dir
    return all(_within(base / arg.split("::")[0], settings.katas) for arg in config.args)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.option.quest_where:
        import json

        settings = read_settings(config)
        print(json.dumps({"katas": str(settings.katas), "state": str(settings.state), "unlock_all": settings.unlock_all}))
        return 0
    if config.option.quest_hint is None:
        return None
    from .hints import reveal_next_hint

    return reveal_next_hint(config.option.quest_hint, read_settings(config))


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config: pytest.Config) -> None:
    if config.option.quest_hint is not None or config.option.quest_where:
        return
    settings = read_settings(config)
    if not _is_quest_run(config, settings):
        return
    requested = config.option.quest_level
    if not settings.katas.is_dir():
        raise pytest.UsageError(f"no kata folder at {settings.katas}: point --katas at the folder that holds levelN_*.py")
    try:
        mode = detect_mode(settings.device)
        levels = all_levels()
    except (DeviceError, RegistryError) as error:
        raise pytest.UsageError(str(error)) from None
    activate(mode)
    store = ProgressStore(settings.state)
    quest = Quest(
        settings, mode, levels, store, store.load(), requested, benchmark=config.option.quest_benchmark, plot_path=config.option.quest_plot
    )
    if quest.benchmark and mode.on_gpu and config.pluginmanager.hasplugin("benchmark"):
        config.option.benchmark_autosave = True  # saved runs make `pytest-benchmark compare` work
        config.pluginmanager.register(MachineInfo(), "triton_quest_machine_info")
    if requested is not None:
        level = quest.level(requested)
        if level is None:
            raise pytest.UsageError(f"level {requested} does not exist: the levels are {_span(quest.numbers)}")
        if not quest.kata_path(level).is_file():
            raise pytest.UsageError(
                f"level {requested} has no kata file: expected {quest.kata_path(level)} (`triton-quest reset {requested}` restores it)"
            )
    config.stash[QUEST_KEY] = quest
    if getattr(config.option, "dist", "no") in ("load", "worksteal"):
        # pytest-xdist: a level passes only when one process saw every one of its cases, and its
        # benchmark needs its checks in the same process, so each level (one kata file) goes whole
        # to one worker.
        config.option.dist = "loadfile"
    if config.args_source != pytest.Config.ArgsSource.ARGS or requested is not None:
        config.args = [str(settings.katas)]


def _span(numbers: list[int]) -> str:
    return f"{numbers[0]} to {numbers[-1]}" if numbers else "none"


def pytest_unconfigure(config: pytest.Config) -> None:
    quest = _quest(config)
    if quest is not None:
        quest.close()


def pytest_report_header(config: pytest.Config) -> list[str]:
    quest = _quest(config)
    if quest is None:
        return []
    gate = "all levels unlocked (--unlock-all)" if quest.settings.unlock_all else "levels unlock in order"
    return [
        f"triton-quest: {quest.mode.describe()}: {quest.mode.reason}",
        f"triton-quest: katas in {quest.settings.katas}; progress in {quest.settings.state}; {gate}",
    ]


# ----- collection -----------------------------------------------------------------------------------
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    quest = _quest(parent.config)
    if quest is None or file_path.parent.resolve() != quest.settings.katas:
        return None
    level = next((level for level in quest.levels if level.kata_file == file_path.name), None)
    if level is None:
        return None
    if quest.requested_level is not None and level.number != quest.requested_level:
        return None
    return KataFile.from_parent(parent, path=file_path, level=level)


class KataFile(pytest.File):
    def __init__(self, *, level: Level, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.level = level

    def collect(self) -> Iterator[pytest.Item]:
        quest = _quest(self.config)
        assert quest is not None
        blocker = quest.lock_reason(self.level.number)
        reason = None if blocker is None else f"locked: pass level {blocker} first (pytest --level {blocker})"
        if blocker is not None:
            quest.locked[self.level.number] = blocker
        for case in self.level.cases(quest.mode):
            item = QuestItem.from_parent(self, name=f"{self.level.function}[{case.id}]", level=self.level, case=case)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))
            yield item
        if quest.benchmark:
            yield from benchmark_items(self, quest, reason)


class CaseFailed(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.message)
        self.result = result


class QuestItem(pytest.Item):
    def __init__(self, *, level: Level, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.level = level
        self.case = case

    def runtest(self) -> None:
        quest = _quest(self.config)
        assert quest is not None
        run = quest.runs.setdefault(self.level.number, LevelRun({case.id for case in self.level.cases(quest.mode)}))
        if run.stopped_by is not None:
            pytest.skip(f"not run: {run.stopped_by.message.splitlines()[0]}")
        result, output = quest.runner().run(self.level, self.case, quest.kata_path(self.level))
        run.results[self.case.id] = result
        if output.strip():
            self.add_report_section("call", "kernel output", output)
        if result.stops_level:
            run.stopped_by = result
        for note in result.portability:
            warnings.warn(PortabilityWarning(f"level {self.level.number}: {note}"), stacklevel=1)
        if not result.passed:
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return format_report(excinfo.value.result)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        # Line 0: the item is a case of the whole file, and pytest needs a number to report skips.
        return self.path, 0, f"level {self.level.number}: {self.name}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _quest(config) is None:
        return
    # Files sort by name (level10 before level2): play the levels in their order, and time a level's
    # kernel only after its checks ran.
    order = {id(item): index for index, item in enumerate(items)}

    def key(item: pytest.Item) -> tuple[int, bool, int]:
        parent = item.getparent(KataFile)
        number = parent.level.number if parent is not None else 0
        return number, not isinstance(item, QuestItem), order[id(item)]

    items.sort(key=key)


# ----- progress and summary ---------------------------------------------------------------------------
SUMMARY_KEY = "triton_quest_summary"  # a pytest-xdist worker's summary lines, in its workeroutput


def pytest_sessionfinish(session: pytest.Session) -> None:
    quest = _quest(session.config)
    if quest is None or not quest.runs:
        return
    _record_progress(quest)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: nobody sees its terminal, so the controller prints this
        from .summary import level_blocks, other_lines

        # Through execnet: plain lists and string keys only.
        blocks = [[number, lines] for number, lines in level_blocks(quest).items()]
        workeroutput[SUMMARY_KEY] = {"levels": blocks, "rest": other_lines(quest)}


def _record_progress(quest: Quest) -> None:
    with quest.store.update() as progress:
        for number, run in sorted(quest.runs.items()):
            entry = progress.level(number)
            entry.attempts += 1
            if run.passed and not entry.passed:
                entry.passed_at = now()
                quest.newly_passed.append(number)
        _record_benchmarks(quest, progress)
        quest.progress = progress


def _record_benchmarks(quest: Quest, progress: Progress) -> None:
    from .bench import YOURS, geometric_mean

    for (number, case_id), rows in quest.bench.medians.items():
        if YOURS in rows:
            timings = progress.level(number).best_timings
            timings[case_id] = min(timings.get(case_id, rows[YOURS]), rows[YOURS])
    for level in quest.levels:
        speedups = list(quest.bench.speedups(level).values())
        if speedups:
            entry = progress.level(level.number)
            speedup = round(geometric_mean(speedups), 3)
            entry.best_speedup = speedup if entry.best_speedup is None else max(entry.best_speedup, speedup)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, in the controller: keep what a worker had to say (it ran the levels, not us)."""
    quest = _quest(node.config)
    said = getattr(node, "workeroutput", {}).get(SUMMARY_KEY)
    if quest is not None and said:
        quest.worker_blocks.update({number: lines for number, lines in said["levels"]})
        quest.worker_rest.extend(said["rest"])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    quest = _quest(config)
    if quest is None:
        return
    from .summary import summary_lines

    lines = summary_lines(quest)
    if lines:
        terminalreporter.section("triton quest", sep="=")
        for line in lines:
            terminalreporter.write_line(line)
