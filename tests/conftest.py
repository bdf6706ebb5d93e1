"""Fixtures of the project's own tests; what they share as plain code is in `tests/support.py`."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.support import ON_GPU, QuestProject

pytest_plugins = ["pytester"]
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
def _torch_and_triton_loaded() -> None:
    # pytester forgets the modules an in-process run imported; torch cannot be imported twice in one
    # process, so it is loaded here, before the first run, and stays.
    import torch  # noqa: F401
    import triton  # noqa: F401


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, _torch_and_triton_loaded: None) -> QuestProject:
    """A learner's project; what a quest run does to the environment is undone after the test."""
    monkeypatch.delenv("TRITON_QUEST_STATE", raising=False)
    monkeypatch.delenv(INTERPRET, raising=False)
    return QuestProject(pytester)
