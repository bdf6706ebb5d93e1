"""The learner's progress: a small, human-readable JSON file in the project root.

It must survive anything: a missing, empty, corrupt or future-version file becomes a warning, a backup
of the bad file and a fresh state; writes are atomic (write, fsync, rename) and serialised by a file
lock so two pytest processes never lose each other's update; a read-only folder degrades to a warning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

SCHEMA = 1
FILE_NAME = ".triton-quest.json"
ABOUT = "Triton Quest progress, written by pytest-triton-quest. `triton-quest reset` starts over."
LOCK_TIMEOUT_S = 30.0


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class LevelProgress:
    passed_at: str | None = None
    attempts: int = 0
    hints_revealed: int = 0
    best_speedup: float | None = None  # learner time vs PyTorch's, from benchmarks (higher is better)
    best_timings: dict[str, float] = field(default_factory=dict)  # benchmark id -> median seconds

    @property
    def passed(self) -> bool:
        return self.passed_at is not None


@dataclass
class Progress:
    levels: dict[int, LevelProgress] = field(default_factory=dict)

    def level(self, number: int) -> LevelProgress:
        return self.levels.setdefault(number, LevelProgress())

    def is_passed(self, number: int) -> bool:
        entry = self.levels.get(number)
        return entry is not None and entry.passed

    def first_unpassed_before(self, number: int, all_numbers: list[int]) -> int | None:
        """The level that keeps `number` locked, or None when it is unlocked."""
        for other in sorted(all_numbers):
            if other >= number:
                return None
            if not self.is_passed(other):
                return other
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "about": ABOUT,
            "schema": SCHEMA,
            "levels": {str(number): asdict(entry) for number, entry in sorted(self.levels.items())},
        }

    @classmethod
    def from_json(cls, data: Any) -> "Progress":
        """Strict parsing: anything unexpected raises ValueError, which the store turns into a backup."""
        if not isinstance(data, dict):
            raise ValueError("the top level is not an object")
        schema = data.get("schema")
        if not isinstance(schema, int):
            raise ValueError("it has no schema number")
        if schema > SCHEMA:
            raise ValueError(f"it was written by a newer Triton Quest (schema {schema}, this one reads {SCHEMA})")
        levels = data.get("levels", {})
        if not isinstance(levels, dict):
            raise ValueError("`levels` is not an object")
        progress = cls()
        known = set(LevelProgress.__dataclass_fields__)
        for key, entry in levels.items():
            if not isinstance(entry, dict) or not str(key).isdigit():
                raise ValueError(f"level entry {key!r} is malformed")
            values = {name: value for name, value in entry.items() if name in known}
            level = LevelProgress(**values)
            _validate(level, key)
            progress.levels[int(key)] = level
        return progress


def _validate(level: LevelProgress, key: str) -> None:
    checks = [
        level.passed_at is None or isinstance(level.passed_at, str),
        isinstance(level.attempts, int) and level.attempts >= 0,
        isinstance(level.hints_revealed, int) and level.hints_revealed >= 0,
        level.best_speedup is None or isinstance(level.best_speedup, (int, float)),
        isinstance(level.best_timings, dict),
    ]
    if not all(checks):
        raise ValueError(f"level {key} has a value of the wrong type")


class ProgressStore:
    """Loads and saves one state file; collects warnings for the report instead of raising."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []

    def load(self) -> Progress:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Progress()
        except OSError as error:
            self.warnings.append(f"could not read {self.path} ({error}); starting from a fresh state")
            return Progress()
        try:
            if not text.strip():
                raise ValueError("the file is empty")
            return Progress.from_json(json.loads(text))
        except (ValueError, TypeError) as error:
            backup = self._back_up()
            kept = f"kept as {backup.name}" if backup else "could not be backed up"
            self.warnings.append(f"{self.path.name} was unreadable ({error}); it is {kept}, and progress starts fresh")
            return Progress()

    def _back_up(self) -> Path | None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        backup = self.path.with_name(f"{self.path.name}.bad-{stamp}")
        try:
            os.replace(self.path, backup)
        except OSError:
            return None
        return backup

    def save(self, progress: Progress) -> bool:
        text = json.dumps(progress.to_json(), indent=2, sort_keys=False) + "\n"
        try:
            descriptor, temporary = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        except OSError as error:
            self.warnings.append(f"progress not saved: cannot write in {self.path.parent} ({error.strerror})")
            return False
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            self.warnings.append(f"progress not saved to {self.path} ({error.strerror})")
            return False
        return True

    @contextlib.contextmanager
    def update(self) -> Iterator[Progress]:
        """Read-modify-write under a lock, so concurrent runs (two terminals, xdist) never lose an update."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except (OSError, Timeout) as error:
            # A read-only folder or a stuck lock: still let the run finish, but say progress is not kept.
            self.warnings.append(f"progress not saved: cannot lock {self.path} ({error})")
            yield self.load()
            return
        try:
            progress = self.load()
            yield progress
            self.save(progress)
        finally:
            lock.release()
