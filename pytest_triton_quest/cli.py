"""`triton-quest`: the quest's friendly verbs. Every verb that checks code runs pytest underneath."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path
from typing import Sequence

from .progress import Progress, ProgressStore
from .registry import all_levels

EXIT_USAGE = 2
BACKUP_FOLDER = ".triton-quest-backups"
BAR_WIDTH = 32


class CliError(Exception):
    """A problem with what the user asked for; printed as one line, exit code 2."""


# ----- where things are ---------------------------------------------------------------------------
def _pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def _where(extra: Sequence[str] = ()) -> dict:
    """Ask pytest itself where the katas and the progress file are, so both tools always agree."""
    completed = subprocess.run(_pytest("--quest-where", *extra, "-p", "no:cacheprovider"), capture_output=True, text=True)
    try:
        return json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise CliError(f"pytest could not locate the quest: {completed.stderr.strip() or completed.stdout.strip()}") from None


def _templates() -> Path:
    return Path(str(resources.files("pytest_triton_quest") / "templates"))


def _solutions() -> Path | None:
    candidate = Path(__file__).resolve().parent.parent / "solutions_hidden"
    return candidate if candidate.is_dir() else None


def _level(number_text: str):
    levels = all_levels()
    try:
        number = int(number_text)
    except ValueError:
        raise CliError(f"{number_text!r} is not a level number: choose {levels[0].number} to {levels[-1].number}") from None
    for level in levels:
        if level.number == number:
            return level
    raise CliError(f"level {number} does not exist: choose {levels[0].number} to {levels[-1].number}")


def _status(progress: Progress, number: int, unlock_all: bool) -> str:
    if progress.is_passed(number):
        return "passed"
    numbers = [level.number for level in all_levels()]
    if not unlock_all and progress.first_unpassed_before(number, numbers) is not None:
        return "locked"
    return "open"


# ----- verbs --------------------------------------------------------------------------------------
def overview(_: argparse.Namespace) -> int:
    where = _where()
    store = ProgressStore(Path(where["state"]))
    progress = store.load()
    levels = all_levels()
    done = sum(progress.is_passed(level.number) for level in levels)
    filled = round(BAR_WIDTH * done / len(levels))
    print(f"Triton Quest: {done} of {len(levels)} levels passed  [{'#' * filled}{'-' * (BAR_WIDTH - filled)}]")
    print()
    next_level = None
    for level in levels:
        status = _status(progress, level.number, where["unlock_all"])
        entry = progress.levels.get(level.number)
        hints = f"hints {entry.hints_revealed}/6" if entry and entry.hints_revealed else ""
        speed = f"best {entry.best_speedup:.2f}x PyTorch" if entry and entry.best_speedup else ""
        print(f"  {level.number:>2}  {level.name:<22} {status:<8} {hints:<11} {speed}".rstrip())
        if status == "open" and next_level is None:
            next_level = level
    print()
    if next_level is None:
        print("Every level is passed. Time them on a GPU: triton-quest benchmark")
    else:
        print(f"Next: triton-quest start {next_level.number}   (then: pytest --level {next_level.number})")
    for warning in store.warnings:
        print(f"warning: {warning}")
    return 0


def start(args: argparse.Namespace) -> int:
    level = _level(args.level)
    where = _where()
    kata = Path(where["katas"]) / level.kata_file
    call = f"{level.function}({', '.join(level.positional + tuple(f'{name}=...' for name in level.keywords))})"
    print(f"{level.title}")
    print()
    print(textwrap.fill(level.concept, width=96))
    print()
    print(f"Write:  {call}")
    print(f"In:     {kata}")
    print(f"Check:  pytest --level {level.number}      (or: triton-quest check {level.number})")
    print(f"Stuck:  pytest --hint {level.number}       (six hints, from the idea to nearly the answer)")
    status = _status(ProgressStore(Path(where["state"])).load(), level.number, where["unlock_all"])
    if status == "locked":
        print(f"\nThis level is still locked: the levels before it come first.")
    return 0


def check(args: argparse.Namespace) -> int:
    level = _level(args.level)
    return subprocess.call(_pytest("--level", str(level.number), *args.pytest_args))


def hint(args: argparse.Namespace) -> int:
    level = _level(args.level)
    return subprocess.call(_pytest("--hint", str(level.number)))


def watch(args: argparse.Namespace) -> int:
    where = _where()
    progress = ProgressStore(Path(where["state"])).load()
    if args.level is not None:
        level = _level(args.level)
    else:
        opened = [lvl for lvl in all_levels() if _status(progress, lvl.number, where["unlock_all"]) == "open"]
        if not opened:
            raise CliError("no open level to watch: name one, e.g. triton-quest watch 3")
        level = opened[0]
    kata = Path(where["katas"]) / level.kata_file
    print(f"Watching {kata}: the checks of level {level.number} run each time you save. Ctrl-C stops.")
    last_stamp = None
    try:
        while True:
            stamp = kata.stat().st_mtime_ns if kata.exists() else None
            if stamp != last_stamp:
                last_stamp = stamp
                print("\033[2J\033[H", end="")
                print(f"{dt.datetime.now():%H:%M:%S}  pytest --level {level.number}")
                before = ProgressStore(Path(where["state"])).load().is_passed(level.number)
                subprocess.call(_pytest("--level", str(level.number), "-q"))
                after = ProgressStore(Path(where["state"])).load().is_passed(level.number)
                if after and not before:
                    print(f"\nLevel {level.number} is passed. The next level is open: triton-quest start {level.number + 1}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopped watching.")
    return 0


def solution(args: argparse.Namespace) -> int:
    level = _level(args.level)
    where = _where()
    if not ProgressStore(Path(where["state"])).load().is_passed(level.number):
        raise CliError(f"the solution of level {level.number} opens once you pass it (pytest --level {level.number})")
    folder = _solutions()
    if folder is None or not (folder / level.kata_file).is_file():
        raise CliError("the reference solutions are not installed here (they ship with a clone of the repository)")
    print((folder / level.kata_file).read_text(encoding="utf-8"))
    return 0


def reset(args: argparse.Namespace) -> int:
    where = _where()
    katas = Path(where["katas"])
    levels = [_level(args.level)] if args.level is not None else list(all_levels())
    scope = f"level {levels[0].number}" if args.level is not None else "every level"
    if not args.yes:
        print(f"This resets the progress of {scope} and restores the kata template(s) in {katas}.")
        print(f"Your current file(s) are copied to {katas.parent / BACKUP_FOLDER} first.")
        try:
            answer = input("Go ahead? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return 1
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for level in levels:
        current = katas / level.kata_file
        template = _templates() / level.kata_file
        if current.exists():
            backup = katas.parent / BACKUP_FOLDER / f"{current.stem}.{stamp}.py"
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(current, backup)
            print(f"backed up {current} -> {backup}")
        if template.is_file():
            katas.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, current)
            print(f"restored the template of level {level.number}: {current}")
    store = ProgressStore(Path(where["state"]))
    with store.update() as progress:
        for level in levels:
            progress.levels.pop(level.number, None)
    for warning in store.warnings:
        print(f"warning: {warning}")
    print(f"Progress of {scope} is reset.")
    return 0


def init(args: argparse.Namespace) -> int:
    target = Path(args.directory).resolve()
    katas = target / "katas"
    written = []
    katas.mkdir(parents=True, exist_ok=True)
    for level in all_levels():
        destination = katas / level.kata_file
        template = _templates() / level.kata_file
        if destination.exists() or not template.is_file():
            continue
        shutil.copyfile(template, destination)
        written.append(destination.name)
    config = target / "pytest.ini"
    if not config.exists() and not (target / "pyproject.toml").exists():
        config.write_text("[pytest]\ntestpaths = katas\ntriton_quest_katas = katas\n", encoding="utf-8")
    print(f"Wrote {len(written)} kata file(s) to {katas}.")
    print(f"Start with: cd {target} && triton-quest start 1")
    return 0


# ----- argument parsing ---------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit code 2
        self.exit(EXIT_USAGE, f"triton-quest: {message} (see triton-quest --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="triton-quest", description="Learn Triton from vector add to causal Flash Attention.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs.add_parser("overview", help="progress of every level and the next step (the default)").set_defaults(run=overview)
    one = verbs.add_parser("start", help="the briefing of level N: concept, file, how to check")
    one.add_argument("level", metavar="N")
    one.set_defaults(run=start)
    one = verbs.add_parser("check", help="run level N's checks (same as pytest --level N)")
    one.add_argument("level", metavar="N")
    one.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    one.set_defaults(run=check)
    one = verbs.add_parser("hint", help="the next hint of level N (same as pytest --hint N)")
    one.add_argument("level", metavar="N")
    one.set_defaults(run=hint)
    one = verbs.add_parser("watch", help="re-run a level's checks each time its kata file is saved")
    one.add_argument("level", metavar="N", nargs="?")
    one.set_defaults(run=watch)
    one = verbs.add_parser("solution", help="show the reference solution of a level you have passed")
    one.add_argument("level", metavar="N")
    one.set_defaults(run=solution)
    one = verbs.add_parser("reset", help="reset progress and restore the kata template (all levels, or level N)")
    one.add_argument("level", metavar="N", nargs="?")
    one.add_argument("--yes", action="store_true", help="do not ask first (a backup is still made)")
    one.set_defaults(run=reset)
    one = verbs.add_parser("init", help="write the katas and a pytest config into DIR (default: here)")
    one.add_argument("directory", metavar="DIR", nargs="?", default=".")
    one.set_defaults(run=init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    runner = getattr(args, "run", overview)
    try:
        return runner(args)
    except CliError as error:
        print(f"triton-quest: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
