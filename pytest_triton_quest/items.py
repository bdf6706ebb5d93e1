"""The pytest collection of a quest run: one `KataFile` per level's kata file, one `QuestItem` per
check case, and, with --quest-benchmark, one pytest-benchmark item per benchmark row."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from .bench import BENCHMARK_OFF, NO_GPU, YOURS, cuda_clock, measure
from .levels.base import Level
from .model import Case, CaseResult, PortabilityWarning, format_report
from .picture import pictures_lines
from .session import QuestSession, session_of


def _session(node: pytest.Item | pytest.Collector) -> QuestSession:
    session = session_of(node.config)
    assert session is not None, "quest items exist only in a quest run"
    return session


class KataFile(pytest.File):
    def __init__(self, *, level: Level, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.level = level

    def collect(self) -> Iterator[pytest.Item]:
        session = _session(self)
        blocker = session.lock_reason(self.level.number)
        reason = None if blocker is None else f"locked: pass level {blocker} first (pytest --level {blocker})"
        for case in self.level.cases(session.mode):
            item = QuestItem.from_parent(self, name=f"{self.level.function}[{case.id}]", level=self.level, case=case)
            skip = reason or session.skip_reason(self.level, case)
            if skip is not None:
                item.add_marker(pytest.mark.skip(reason=skip))
            yield item
        if session.settings.benchmark:
            yield from self._benchmark_items(session, reason)

    def _benchmark_items(self, session: QuestSession, lock_reason: str | None) -> Iterator[pytest.Item]:
        """The PyTorch rows of each benchmark case, then yours, in one pytest-benchmark group."""
        level = self.level
        for case in level.benchmark_cases():
            for row in [*level.baselines(), YOURS]:
                function = _benchmark_row(session, level, case, row, lock_reason)
                name = f"{level.function}_benchmark[{case.id}-{row}]"
                item = pytest.Function.from_parent(self, name=name, callobj=function)
                item.add_marker(pytest.mark.benchmark(timer=cuda_clock))
                yield item


def _benchmark_row(session: QuestSession, level: Level, case: Case, row: str, lock_reason: str | None) -> Callable[..., None]:
    def benchmark_row(benchmark: Any) -> None:
        if not session.mode.on_gpu:
            pytest.skip(NO_GPU)
        if lock_reason is not None:
            pytest.skip(lock_reason)
        if getattr(benchmark, "disabled", False):
            pytest.skip(BENCHMARK_OFF)
        cannot = session.skip_reason(level, case)  # a bf16 shape on a card without bf16
        if cannot is not None:
            pytest.skip(cannot)
        if row == YOURS:
            run = session.runs.get(level.number)
            if run is None or not run.passed:
                pytest.skip(f"level {level.number}'s checks must all pass in this run before its kernel is timed")
        measure(benchmark, level, case, row, session.kata_path(level), session.bench)

    benchmark_row.__name__ = f"{level.function}_benchmark"
    return benchmark_row


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
        session = _session(self)
        run = session.run_of(self.level)
        if run.stopped_by is not None:
            pytest.skip(f"not run: {run.stopped_by.message.splitlines()[0]}")
        result, output = session.runner().run(self.level, self.case, session.kata_path(self.level))
        run.results[self.case.id] = result
        if output.strip():
            self.add_report_section("call", "kernel output", output)
        if result.stops_level:
            run.stopped_by = result
        for note in result.portability:
            warnings.warn(PortabilityWarning(f"level {self.level.number}: {note}"), stacklevel=1)
        result.footer += pictures_lines(result, session.settings.picture, self.level.number, self.case.id)
        if not result.passed:
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return format_report(excinfo.value.result)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        # Line 0: the item is a case of the whole file, and pytest needs a number to report skips.
        return self.path, 0, f"level {self.level.number}: {self.name}"


def play_order(items: list[pytest.Item]) -> None:
    """Sort in place: levels in their order (files sort by name, level10 before level2), and a level's
    benchmark rows after its checks, which must pass before its kernel is timed."""
    order = {id(item): index for index, item in enumerate(items)}

    def key(item: pytest.Item) -> tuple[int, bool, int]:
        parent = item.getparent(KataFile)
        number = parent.level.number if parent is not None else 0
        return number, not isinstance(item, QuestItem), order[id(item)]

    items.sort(key=key)
