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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .card import Measured
from .paths import FolderNotWritable, write_atomically

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
    # The last run's report lines, for the tutor: memory traffic (a passing check on the CPU) and
    # the last `triton-quest profile N`.
    traffic: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    # The kata folder the pass was checked in (absolute). None in files written before it was kept.
    katas: str | None = None
    # A pass that did not come from the learner's own kata file (their file is still the template):
    # kept apart, with its date, and counted for nothing.
    foreign_passed_at: str | None = None

    @property
    def passed(self) -> bool:
        return self.passed_at is not None


@dataclass
class Progress:
    levels: dict[int, LevelProgress] = field(default_factory=dict)
    # The learner's GPUs as measured on their first run there (card_rates.py), by device name.
    cards: dict[str, Measured] = field(default_factory=dict)
    # Why entries of `cards` were dropped while reading: warnings for the store, never saved.
    dropped: list[str] = field(default_factory=list, compare=False, repr=False)

    def level(self, number: int) -> LevelProgress:
        return self.levels.setdefault(number, LevelProgress())

    def is_passed(self, number: int) -> bool:
        entry = self.levels.get(number)
        return entry is not None and entry.passed

    def set_apart_foreign_passes(self, katas: Path, untouched: Callable[[int], bool]) -> list[int]:
        """Passes recorded from another kata folder while the learner's own file of that level is still
        the template cannot be the learner's: move them apart (`foreign_passed_at`) and
        return their levels. A pass whose file the learner did change is adopted as theirs."""
        moved = []
        for number, entry in sorted(self.levels.items()):
            if entry.passed_at is None or entry.katas == str(katas):
                continue
            if untouched(number):
                entry.foreign_passed_at, entry.passed_at = entry.passed_at, None
                moved.append(number)
            else:
                entry.katas = str(katas)
        return moved

    def first_unpassed_before(self, number: int, all_numbers: list[int]) -> int | None:
        """The level that keeps `number` locked, or None when it is unlocked."""
        for other in sorted(all_numbers):
            if other >= number:
                return None
            if not self.is_passed(other):
                return other
        return None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "about": ABOUT,
            "schema": SCHEMA,
            "levels": {str(number): asdict(entry) for number, entry in sorted(self.levels.items())},
        }
        if self.cards:  # a file of a CPU-only learner stays as it was
            data["cards"] = {name: measured.to_json() for name, measured in sorted(self.cards.items())}
        return data

    @classmethod
    def from_json(cls, data: Any) -> "Progress":
        """Strict parsing: anything unexpected raises ValueError, which the store turns into a backup."""
        if not isinstance(data, dict):
            raise ValueError("the top level is not an object")
        schema = data.get("schema")
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise ValueError("it has no schema number")
        if schema > SCHEMA:
            raise ValueError(f"it was written by a newer Triton Quest (schema {schema}, this one reads {SCHEMA})")
        if schema < 1:
            raise ValueError(f"schema {schema} is not a valid schema number")
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
        progress._read_cards(data.get("cards", {}))
        return progress

    def _read_cards(self, cards: Any) -> None:
        """The measured cards: a bad entry is dropped with a note, never the learner's progress (a
        card's figures are only a cache: the next GPU run on it measures them again)."""
        again = "the next GPU run on it measures it again"
        if not isinstance(cards, dict):
            self.dropped.append(f"the measured cards in the progress file were not an object, so they were dropped; {again}")
            return
        for name, entry in cards.items():
            try:
                self.cards[name] = Measured.from_json(name, entry)
            except ValueError as error:
                self.dropped.append(f"the measured figures of card {name!r} were unreadable ({error}), so they were dropped; {again}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_lines(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(line, str) for line in value)


def _validate(level: LevelProgress, key: str) -> None:
    checks = [
        level.passed_at is None or isinstance(level.passed_at, str),
        level.katas is None or isinstance(level.katas, str),
        level.foreign_passed_at is None or isinstance(level.foreign_passed_at, str),
        _is_count(level.attempts),
        _is_count(level.hints_revealed),
        level.best_speedup is None or _is_number(level.best_speedup),
        isinstance(level.best_timings, dict) and all(_is_number(value) for value in level.best_timings.values()),
        _is_lines(level.traffic),
        _is_lines(level.profile),
    ]
    if not all(checks):
        raise ValueError(f"level {key} has a value of the wrong type")


class _Unreadable(Exception):
    """The file exists but holds no valid state; the message says why."""


class ProgressStore:
    """Loads and saves one state file; collects warnings for the report instead of raising.

    One lock per store, re-entrant: `update()` holds it around its load and save, and `load()` takes it
    to move a bad file aside, so no run ever moves away a good file that another run just wrote.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._lock: Any = None
        self._unsaved_bad_file = False

    def _warn(self, message: str) -> None:
        if message not in self.warnings:  # a read-only folder says so once, not at every attempt
            self.warnings.append(message)

    # ----- reading --------------------------------------------------------------------------------
    def _read(self) -> Progress | None:
        """The state on disk: None when there is no file; raises _Unreadable or OSError."""
        try:
            data = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None  # no file yet (or its folder cannot exist): a fresh start, nothing to warn about
        try:
            text = data.decode("utf-8")
            if not text.strip():
                raise ValueError("the file is empty")
            return Progress.from_json(json.loads(text))
        except UnicodeDecodeError:
            raise _Unreadable("it is not UTF-8 text") from None
        except json.JSONDecodeError as error:
            raise _Unreadable(f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
        except RecursionError:
            raise _Unreadable("it is nested too deeply") from None
        except (ValueError, TypeError) as error:
            raise _Unreadable(str(error)) from None

    def load(self) -> Progress:
        try:
            progress = self._read()
        except OSError as error:
            self._warn(f"could not read {self.path} ({error.strerror or error}); starting from a fresh state")
            return Progress()
        except _Unreadable:
            return self._recover()
        return self._noted(progress)

    def _noted(self, progress: Progress | None) -> Progress:
        """The state read (a fresh one for no file), its dropped entries said as warnings."""
        if progress is None:
            return Progress()
        for note in progress.dropped:
            self._warn(note)
        return progress

    def _recover(self) -> Progress:
        """Move a bad file aside, under the lock, after reading it once more: another run may have
        replaced it with a good one in the meantime."""
        with self._locked() as locked:
            try:
                progress = self._read()
            except OSError as error:
                self._warn(f"could not read {self.path} ({error.strerror or error}); starting from a fresh state")
                return Progress()
            except _Unreadable as error:
                backup = self._back_up() if locked else None
                kept = f"it is kept as {backup.name}" if backup else "it could not be backed up, so it is left as it is"
                self._unsaved_bad_file = backup is None  # never write over what could not be kept
                self._warn(f"{self.path.name} was unreadable ({error}); {kept}, and progress starts fresh")
                return Progress()
            return self._noted(progress)

    def _back_up(self) -> Path | None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        backup = self.path.with_name(f"{self.path.name}.bad-{stamp}")
        try:
            os.replace(self.path, backup)
        except OSError:
            return None
        return backup

    # ----- writing --------------------------------------------------------------------------------
    def save(self, progress: Progress) -> bool:
        """Write the whole file or nothing (see `write_atomically`); a failure becomes a warning."""
        if self._unsaved_bad_file:
            self._warn(f"progress not saved: {self.path} is unreadable and could not be backed up; move it away to save progress again")
            return False
        text = json.dumps(progress.to_json(), indent=2, sort_keys=False) + "\n"
        try:
            write_atomically(self.path, text.encode("utf-8"))
        except FolderNotWritable as error:
            self._warn(f"progress not saved: cannot write in {error.folder} ({error.strerror or error})")
            return False
        except OSError as error:
            self._warn(f"progress not saved to {self.path} ({error.strerror or error})")
            return False
        return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """Hold the file lock; yields False (with a warning) when it cannot be had."""
        from filelock import FileLock, Timeout

        if self._lock is None:
            self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)
        try:
            self._lock.acquire()
        except Timeout:
            self._warn(
                f"progress not saved: another Triton Quest run held the lock {self.path.name}.lock for {LOCK_TIMEOUT_S:g} s"
            )
            yield False
            return
        except OSError as error:
            self._warn(f"progress not saved: {self.path.parent} is not writable ({error.strerror or error})")
            yield False
            return
        try:
            yield True
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def update(self) -> Iterator[Progress]:
        """Read-modify-write under a lock, so concurrent runs (two terminals, xdist) never lose an update.

        Without the lock (a read-only folder, a stuck lock) the block still runs on the current state,
        so the run can finish and report, but nothing is written."""
        with self._locked() as locked:
            progress = self.load()
            yield progress
            if locked:
                self.save(progress)

