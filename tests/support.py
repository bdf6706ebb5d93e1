"""What the project's tests share: where things are, and a learner's project in a temporary folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_triton_quest.cli import BACKUP_FOLDER
from pytest_triton_quest.options import STATE_FILE
from pytest_triton_quest.progress import Progress, ProgressStore, now

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "pytest_triton_quest"
TEMPLATES = PACKAGE / "templates"  # the one pristine copy of the katas
SOLUTIONS = REPO / "solutions_hidden"
# QUEST_TEST_DEVICE=cuda runs the level proofs compiled on a GPU; otherwise through the interpreter.
ON_GPU = os.environ.get("QUEST_TEST_DEVICE") == "cuda"


class QuestProject:
    """A learner's project: a pytest.ini, a katas/ folder, a progress file, in a temporary folder.

    Checks run in pytest's own process (`--quest-isolation none`), which is fast; a test of the
    worker process itself asks for `isolation="process"`.
    """

    def __init__(self, pytester: pytest.Pytester, isolation: str = "none") -> None:
        self.pytester = pytester
        self.root = pytester.path
        self.katas = self.root / "katas"
        self.katas.mkdir()
        self.configure(isolation)
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("TRITON_QUEST", "PYTEST_"))}
        self.env.update(PY_COLORS="0", NO_COLOR="1", COLUMNS="120")
        self.env.pop("TRITON_INTERPRET", None)

    def configure(self, isolation: str) -> None:
        (self.root / "pytest.ini").write_text(f"[pytest]\ntestpaths = katas\ntriton_quest_isolation = {isolation}\n")

    def add(self, source: Path, name: str | None = None) -> Path:
        target = self.katas / (name or source.name)
        shutil.copyfile(source, target)
        return target

    def template(self, number: int) -> Path:
        return self.add(next(TEMPLATES.glob(f"level{number}_*.py")))

    def solution(self, number: int) -> Path:
        return self.add(next(SOLUTIONS.glob(f"level{number}_*.py")))

    # ----- the `triton-quest` command, run as the learner runs it ---------------------------------
    def quest(self, *args: str, stdin: str | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pytest_triton_quest", *args],
            cwd=cwd or self.root,
            env=self.env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # ----- the progress file -------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    def state(self) -> dict:
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {"levels": {}}

    def mark_passed(self, *numbers: int, hints: int = 0) -> None:
        progress = Progress()
        for number in numbers:
            entry = progress.level(number)
            entry.passed_at, entry.attempts, entry.hints_revealed = now(), 1, hints
            entry.katas = str(self.katas.resolve())
        assert ProgressStore(self.state_path).save(progress)

    def backups(self) -> list[Path]:
        folder = self.root / BACKUP_FOLDER
        return sorted(folder.glob("*")) if folder.exists() else []


def write_kata(level_kata_file: str, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The source as katas/<the level's kata file> in a fresh folder, which becomes the current one
    (reports then name katas/levelN_x.py, as a learner's run does)."""
    katas = tmp_path / "katas"
    katas.mkdir()
    path = katas / level_kata_file
    path.write_text(source)
    monkeypatch.chdir(tmp_path)
    return path
