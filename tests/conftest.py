from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
KATAS = REPO / "katas"
SOLUTIONS = REPO / "solutions_hidden"


class QuestProject:
    """A learner's project in a temporary folder: a pytest config, a katas/ folder, a progress file."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.root = pytester.path
        self.katas = self.root / "katas"
        self.katas.mkdir()
        pytester.makeini("[pytest]\ntestpaths = katas\n")

    def add(self, source: Path, name: str | None = None) -> Path:
        target = self.katas / (name or source.name)
        shutil.copyfile(source, target)
        return target

    def template(self, number: int) -> Path:
        return self.add(next(KATAS.glob(f"level{number}_*.py")))

    def solution(self, number: int) -> Path:
        return self.add(next(SOLUTIONS.glob(f"level{number}_*.py")))

    @property
    def state(self) -> Path:
        return self.root / ".triton-quest.json"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> QuestProject:
    monkeypatch.delenv("TRITON_QUEST_STATE", raising=False)
    return QuestProject(pytester)
