"""Fixtures of the project's own tests; what they share as plain code is in `tests/support.py`."""

from __future__ import annotations

from typing import Iterator

import pytest

from pytest_triton_quest.device import one_cpu_thread
from tests.support import ON_GPU, SOLUTIONS, QuestProject

pytest_plugins = ["pytester"]
if not ON_GPU:
    one_cpu_thread()  # as a learner's CPU run does: the checks here are as fast as theirs
INTERPRET = "TRITON_INTERPRET"


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """Import the test modules with the interpreter on (unless the level proofs run on a GPU): those
    that define kernels at module level get interpreted ones. Only while they are imported: the
    environment of every test is what it was when the run started, or what its fixtures make it."""
    if not isinstance(collector, pytest.Module) or ON_GPU:
        return (yield)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(INTERPRET, "1")
        return (yield)


@pytest.fixture(scope="module")
def interpreter() -> Iterator[None]:
    """TRITON_INTERPRET=1 for the tests of a module that run kernels here (not on a GPU run)."""
    if ON_GPU:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(INTERPRET, "1")
        yield


@pytest.fixture(scope="session")
def _modules_loaded() -> None:
    """pytester forgets the modules an in-process run imported. A module imported again in a later
    run is a second copy: torch cannot be imported twice, a second copy of Triton's interpreter
    breaks every kernel after it, and a test that patches a quest module patches the old copy. So
    everything those runs import is loaded here once, before the first of them, and stays: the
    quest's modules, and what an interpreted launch imports lazily (a launch of level 1's solution).

    On the CPU, Triton is imported with TRITON_INTERPRET=1 set, as the plugin does for a learner:
    Triton decides at import whether its own jitted helpers (tl.cdiv, ...) are interpreted, and a
    kata's @triton.jit helper that calls tl.cdiv fails under the interpreter if they are not."""
    import importlib
    import pkgutil

    with pytest.MonkeyPatch.context() as patch:
        if not ON_GPU:
            patch.setenv(INTERPRET, "1")
        import torch  # noqa: F401
        import triton  # noqa: F401

        import pytest_triton_quest
        from pytest_triton_quest.checking import check_case
        from pytest_triton_quest.model import Mode
        from pytest_triton_quest.registry import level_by_number

        for module in pkgutil.walk_packages(pytest_triton_quest.__path__, "pytest_triton_quest."):
            if ".templates." not in module.name and module.name != "pytest_triton_quest.__main__":
                importlib.import_module(module.name)
        level = level_by_number(1)
        assert level is not None
        mode = Mode("cpu", True, "tests")
        patch.setenv(INTERPRET, "1")
        result = check_case(level, level.cases(mode)[0], SOLUTIONS / level.kata_file, mode)
    assert result.passed, result.message


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, _modules_loaded: None) -> QuestProject:
    """A learner's project; what a quest run does to the environment is undone after the test."""
    monkeypatch.delenv("TRITON_QUEST_STATE", raising=False)
    monkeypatch.delenv(INTERPRET, raising=False)
    return QuestProject(pytester)
