"""`triton-quest`: the quest's friendly verbs. Every verb that checks code runs pytest underneath.

Exit codes: 0 done; 1 refused or failed (a declined reset, a solution asked for before the level is
passed, a file that cannot be written); 2 bad input (an unknown verb, a level that does not exist),
always as ONE line on stderr. `check`, `hint` and `benchmark` return pytest's own exit code.

Where the templates come from: `pytest_triton_quest/templates/` ships inside the package and is the
one pristine copy, so `reset` and `init` work from an installed wheel as well as from a clone. The
learner's working copies in `katas/` are written from it by `init` (which `bash bootstrap.sh play`
runs) and are not tracked by git, so pulling a new version never conflicts with a learner's work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from .levels.base import Level
from .options import BY_KEY
from .ownership import foreign_passes_line, set_apart_foreign_passes
from .paths import shown, write_atomically
from .progress import Progress, ProgressStore
from .registry import RegistryError, all_levels, span

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
PROG = "triton-quest"
BACKUP_FOLDER = ".triton-quest-backups"
PYTEST_CONFIG = "[pytest]\ntestpaths = katas\ntriton_quest_katas = katas\n"
BAR_WIDTH = 32
WATCH_POLL_S = 0.3
CLEAR_SCREEN = "\033[2J\033[H"


class CliError(Exception):
    """A problem to report as one line; `code` is the exit status (2: bad input, 1: refused)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# ----- where things are ---------------------------------------------------------------------------
def _pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _where() -> dict:
    """Ask pytest itself where the katas and the progress file are, so both tools always agree."""
    completed = subprocess.run(_pytest(BY_KEY["where"].flag, "-p", "no:cacheprovider"), capture_output=True, text=True)
    try:
        return json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        problem = _one_line(completed.stderr or completed.stdout)
        raise CliError(f"pytest could not locate the quest here: {problem}", EXIT_REFUSED) from None


def _package_folder(name: str) -> Traversable:
    return resources.files(__package__) / name


def _template(level: Level) -> Traversable | None:
    """The pristine kata file of a level, as shipped inside the package (None for a level pack)."""
    candidate = _package_folder("templates") / level.kata_file
    return candidate if candidate.is_file() else None


def _tutor_notes(number: int) -> Traversable | None:
    candidate = _package_folder("tutor") / f"level{number}.md"
    return candidate if candidate.is_file() else None


def _solutions() -> Path | None:
    """Reference solutions ship with a clone of the repository only, beside the package."""
    candidate = Path(__file__).resolve().parent.parent / "solutions_hidden"
    return candidate if candidate.is_dir() else None


def _levels() -> tuple[Level, ...]:
    try:
        levels = all_levels()
    except RegistryError as error:
        raise CliError(str(error), EXIT_REFUSED) from None
    if not levels:
        raise CliError("no levels are installed", EXIT_REFUSED)
    return levels


def _span(levels: Sequence[Level]) -> str:
    return span([level.number for level in levels])


def _level(number_text: str) -> Level:
    levels = _levels()
    try:
        number = int(number_text)
    except ValueError:
        raise CliError(f"{number_text!r} is not a level number: the levels are {_span(levels)}") from None
    for level in levels:
        if level.number == number:
            return level
    raise CliError(f"level {number} does not exist: the levels are {_span(levels)}")


def _next_level(number: int) -> Level | None:
    return next((level for level in _levels() if level.number > number), None)


def _status(progress: Progress, number: int, unlock_all: bool) -> str:
    if progress.is_passed(number):
        return "passed"
    numbers = [level.number for level in _levels()]
    if not unlock_all and progress.first_unpassed_before(number, numbers) is not None:
        return "locked"
    return "open"


def _first_open(progress: Progress, unlock_all: bool) -> Level | None:
    return next((level for level in _levels() if _status(progress, level.number, unlock_all) == "open"), None)


def _load(where: dict) -> tuple[ProgressStore, Progress]:
    store = ProgressStore(Path(where["state"]))
    own = Path(where.get("own_katas", where["katas"]))
    moved = set_apart_foreign_passes(store, own, _levels())
    if moved:
        store.warnings.append(foreign_passes_line(moved, own))
    return store, store.load()


def _say(line: str) -> None:
    """A line the learner must see before a wait: flushed at once."""
    print(line, flush=True)


def _warn(store: ProgressStore) -> None:
    for warning in store.warnings:
        print(f"warning: {warning}")


# ----- verbs --------------------------------------------------------------------------------------
def overview(_: argparse.Namespace) -> int:
    from .bench import legend_mark, tier

    levels = _levels()
    where = _where()
    store, progress = _load(where)
    done = sum(progress.is_passed(level.number) for level in levels)
    filled = round(BAR_WIDTH * done / len(levels))
    print(f"Triton Quest: {done} of {len(levels)} levels passed  [{'#' * filled}{'-' * (BAR_WIDTH - filled)}]")
    print()
    width = max(len(level.name) for level in levels)
    for level in levels:
        status = _status(progress, level.number, where["unlock_all"])
        entry = progress.levels.get(level.number)
        hints = f"hints {entry.hints_revealed}/{len(level.hints)}" if entry and entry.hints_revealed else ""
        speed = ""
        if entry and entry.best_speedup:
            speed = f"best {entry.best_speedup:.2f}x PyTorch {tier(entry.best_speedup, legend_mark(level))}".rstrip()
        print(f"  {level.number:>2}  {level.name:<{width}}  {status:<8} {hints:<11} {speed}".rstrip())
    print()
    next_level = _first_open(progress, where["unlock_all"])
    if not Path(where["katas"]).is_dir():
        print(f"There is no kata folder here ({shown(Path(where['katas']))}): set one up with {PROG} init")
    elif next_level is None:
        print(f"Every level is passed. Time your kernels on a GPU: {PROG} benchmark")
    else:
        number = next_level.number
        print(f"Next: {PROG} start {number}   (then: pytest --level {number}; stuck? {PROG} tutor {number})")
    _warn(store)
    return EXIT_OK


def start(args: argparse.Namespace) -> int:
    level = _level(args.level)
    where = _where()
    kata = Path(where["katas"]) / level.kata_file
    call = f"{level.function}({', '.join(level.positional + tuple(f'{name}=...' for name in level.keywords))})"
    if len(level.outputs) > 1:
        call += f" -> ({', '.join(level.outputs)})"
    number = level.number
    print(level.title)
    print()
    print(textwrap.fill(level.concept, width=96))
    print()
    print(f"Write:  {call}")
    missing = f"   (missing: `{PROG} reset {number}` restores it)" if kata.parent.is_dir() else f"   (missing: `{PROG} init` sets up the katas)"
    print(f"In:     {shown(kata)}" + ("" if kata.is_file() else missing))
    print(f"Check:  pytest --level {number}      (or: {PROG} check {number}, or {PROG} watch {number})")
    print(f"Stuck:  pytest --hint {number}       (six hints, from the idea to nearly the answer)")
    print(f"Think:  {PROG} tutor {number}      (the ideas and questions to think about; never the kernel)")
    store, progress = _load(where)
    status = _status(progress, number, where["unlock_all"])
    if status == "locked":
        blocker = progress.first_unpassed_before(number, [lvl.number for lvl in _levels()])
        print(f"\nThis level is still locked: pass level {blocker} first (pytest --level {blocker}).")
    elif status == "passed":
        print(f"\nYou have passed this level. Compare with the reference: {PROG} solution {number}")
    _warn(store)
    return EXIT_OK


def check(args: argparse.Namespace) -> int:
    level = _level(args.level)
    return subprocess.call(_pytest(BY_KEY["level"].flag, str(level.number), *args.pytest_args))


def show(args: argparse.Namespace) -> int:
    level = _level(args.level)
    chosen = ["-k", args.case] if args.case else []
    folder = Path(args.dir)
    before = {path: path.stat().st_mtime_ns for path in folder.glob("*.png")} if folder.is_dir() else {}
    # The checks themselves draw (pytest --quest-picture): one engine, whichever way it is asked.
    code = subprocess.call(_pytest(BY_KEY["level"].flag, str(level.number), BY_KEY["picture"].flag, args.dir, *chosen))
    drawn = sorted(path for path in folder.glob("*.png") if before.get(path) != path.stat().st_mtime_ns) if folder.is_dir() else []
    if drawn:
        print(f"\n{len(drawn)} picture{'s' if len(drawn) != 1 else ''}:")
        for path in drawn:
            print(f"  {path}")
    else:
        print(
            "\nNo picture was drawn: pictures are drawn on the CPU, of failing cases (levels 7, 8 and 10 also draw "
            "the key tiles of the case whose memory traffic is reported), and need matplotlib"
        )
    return code


def hint(args: argparse.Namespace) -> int:
    level = _level(args.level)
    if not args.again:
        return subprocess.call(_pytest(BY_KEY["hint"].flag, str(level.number)))
    from .hints import format_hint

    store, progress = _load(_where())
    entry = progress.levels.get(level.number)
    seen = entry.hints_revealed if entry else 0
    total = len(level.hints)
    if not seen:
        print(f"{level.title}: no hint is out yet. The first: pytest --hint {level.number}")
    else:
        print(f"{level.title}: the {seen} of {total} hints you have seen")
        for index in range(1, seen + 1):
            print(format_hint(index, total, level.hints[index - 1]))
        if seen < total:
            print(f"The next one: pytest --hint {level.number} (hint {seen + 1} of {total}).")
    _warn(store)
    return EXIT_OK


def benchmark(args: argparse.Namespace) -> int:
    if args.compare:
        # pytest-benchmark's own `compare` over the runs saved in .benchmarks/ (autosaved by --benchmark).
        run_compare = "import sys; from pytest_benchmark.cli import main; sys.argv[0] = 'pytest-benchmark'; sys.exit(main())"
        return subprocess.call([sys.executable, "-c", run_compare, "compare", *args.pytest_args])
    chosen = [BY_KEY["level"].flag, str(_level(args.level).number)] if args.level is not None else []
    return subprocess.call(_pytest(BY_KEY["benchmark"].flag, *chosen, *args.pytest_args))


# Sections of the tutor notes that are for the tutor only: they name the bugs and their fixes.
TUTOR_ONLY_SECTIONS = ("Common mistakes", "Never say")
# How the learner's view titles the sections it keeps.
LEARNER_TITLES = {"Concepts to explain": "Concepts", "Questions to ask": "Questions to think about"}


def learner_notes(notes: str) -> str:
    """The tutor notes without the sections that give fixes away, for the learner to read."""
    kept: list[str] = []
    keep = True
    for line in notes.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            keep = title not in TUTOR_ONLY_SECTIONS
            if keep:
                line = f"## {LEARNER_TITLES.get(title, title)}"
        if keep:
            kept.append(line)
    return "\n".join(kept).rstrip()


def _last_measurements(number: int, progress: Progress | None) -> list[str]:
    """The memory traffic of the last passing check and the last profile of a level, as saved in the
    progress file: a tutor talks about the learner's own numbers, not made-up ones."""
    entry = progress.levels.get(number) if progress is not None else None
    if entry is None:
        return []
    lines = list(entry.traffic)
    if entry.profile:
        lines += ["", f"From `{PROG} profile {number}`:", *entry.profile]
    return lines


def _tutor_next_step(level: Level, progress: Progress | None) -> str:
    if progress is None or not progress.is_passed(level.number):
        return f"Your next step: pytest --level {level.number}, and read the diagnosis under the first failure."
    later = [other for other in _levels() if other.number > level.number]
    after = f"{PROG} start {later[0].number}" if later else "nothing: that was the last level"
    return f"Level {level.number} is passed. Next: {after} (or {PROG} profile {level.number}: where your kernel's bytes go)."


def tutor(args: argparse.Namespace) -> int:
    # One question to pytest about where things are (it starts a process), one read of the progress.
    try:
        where: dict | None = _where()
    except CliError:
        if args.level is None:
            raise
        where = None  # the notes of a named level need no project
    progress = _load(where)[1] if where is not None else None
    if args.level is not None:
        level = _level(args.level)
    else:
        assert where is not None and progress is not None
        level = _first_open(progress, where["unlock_all"]) or _levels()[-1]
    notes = _tutor_notes(level.number)
    if notes is None:
        raise CliError(f"there are no tutor notes for level {level.number}", EXIT_REFUSED)
    text = notes.read_text(encoding="utf-8").rstrip()
    print(text if args.full else learner_notes(text))
    print()
    measured = _last_measurements(level.number, progress)
    if measured:
        print("## Your last run's numbers")
        print()
        print("\n".join(measured))
        print()
    print(_tutor_next_step(level, progress))
    if not args.full:
        print(f"(For a tutor, the notes with the common mistakes and their fixes: {PROG} tutor {level.number} --full)")
    return EXIT_OK


# The profile lines kept for the tutor: enough for the summary, never a whole benchmark grid.
PROFILE_LINES_KEPT = 40


def profile(args: argparse.Namespace) -> int:
    level = _level(args.level)
    where = _where()
    katas = Path(args.katas).expanduser() if args.katas else Path(where["katas"])
    kata = katas / level.kata_file
    if not kata.is_file():
        raise CliError(f"there is no {shown(kata)} to profile", EXIT_REFUSED)
    from .device import DeviceError, activate, detect_mode

    try:
        mode = detect_mode(args.device or where.get("device", "auto"))
    except DeviceError as error:
        raise CliError(str(error)) from None
    activate(mode)  # before any kata imports triton
    from . import profiling

    store = ProgressStore(Path(where["state"]))
    if mode.on_gpu:
        from .card_rates import the_card

        hand = the_card(store, say=_say)  # measured here if this is the first run on this card
        try:
            lines, _ = profiling.profile_gpu(level, kata, args.shape, args.ncu, args.nsys, hand)
        except Exception as error:  # noqa: BLE001 - learner code may raise anything; say it in one line
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise CliError(f"profiling stopped: {type(error).__name__}: {first} (pytest --level {level.number} shows where)", EXIT_REFUSED) from None
        passed = True
    else:
        lines, passed = profiling.profile_cpu(level, kata, mode)
        if args.ncu or args.nsys:
            tools = " and ".join(name for name, asked in (("--ncu", args.ncu), ("--nsys", args.nsys)) if asked)
            lines.append(f"{tools}: Nsight needs a CUDA GPU, and this run is on the CPU")
    print("\n".join(lines))
    with store.update() as progress:  # the tutor reads the last profile from here
        progress.level(level.number).profile = [line for line in lines if line.strip()][:PROFILE_LINES_KEPT]
    _warn(store)
    return EXIT_OK if passed else EXIT_REFUSED


def card(args: argparse.Namespace) -> int:
    """The GPU in front of the learner: its figures as measured on it, beside its datasheet's."""
    from .card import DATASHEETS, REFERENCE, capability_text, datasheet_for, figure_rows
    from .device import DeviceError, detect_mode

    where = _where()
    try:
        mode = detect_mode(where.get("device", "auto"))
    except DeviceError as error:
        raise CliError(str(error)) from None
    if not mode.on_gpu:
        print(f"No CUDA GPU here ({mode.reason}): checks run on the CPU, and the memory-traffic line quotes the "
              f"reference card, the {REFERENCE.name}: {REFERENCE.source}.")
        print(f"On a GPU, the first run measures its card. Datasheets in card.py: {', '.join(sheet.name for sheet in DATASHEETS)}.")
        return EXIT_REFUSED if args.measure else EXIT_OK
    from .card_rates import MEASURE_AGAIN, support_line, the_card

    store = ProgressStore(Path(where["state"]))
    hand = the_card(store, again=args.measure, say=_say)
    measured = hand.measured
    if measured is None or hand.problem:
        print(hand.line())
    if measured is not None:
        when = "measured now" if hand.fresh else f"measured {measured.measured_at[:10]}"
        print(f"{hand.name}, compute capability {capability_text(hand.capability)}: {when} with torch {measured.torch}, "
              f"kept in {shown(store.path)} ({MEASURE_AGAIN} measures again)")
        sheet = datasheet_for(hand.name)
        print(f"  {'':<24} {'measured':>14} {'datasheet' if sheet else '':>14}")
        for label, mine, theirs in figure_rows(measured, sheet):
            print(f"  {label:<24} {mine:>14} {theirs if sheet else '':>14}".rstrip())
        if sheet is not None:
            print(f"  (datasheet: {sheet.source}; dense figures, no sparsity)")
        else:
            print("  (this card is in no datasheet table of card.py)")
    support = support_line(_levels(), mode, hand.name, hand.capability)
    print(support[:1].upper() + support[1:] + "." if support else "Every level runs whole on this card.")
    _warn(store)
    return EXIT_OK if measured is not None else EXIT_REFUSED


def watch(args: argparse.Namespace) -> int:
    chosen = _level(args.level) if args.level is not None else None
    where = _where()
    state = Path(where["state"])
    katas = Path(where["katas"])

    def passed(number: int) -> bool:
        return ProgressStore(state).load().is_passed(number)

    level = chosen or _first_open(ProgressStore(state).load(), where["unlock_all"])
    if level is None:
        raise CliError(f"every level is passed: name the one to watch, e.g. {PROG} watch {_levels()[-1].number}")
    follow = chosen is None  # with no level named, move on to the next level after a pass
    on_terminal = sys.stdout.isatty()

    def stamp(path: Path) -> int | None:
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return None

    kata = katas / level.kata_file
    print(f"Watching {shown(kata)}: the checks of level {level.number} run each time you save it. Ctrl-C stops.", flush=True)
    never = object()  # the first pass of the loop always runs the checks
    last: object = never
    try:
        while True:
            current = stamp(kata)
            if current == last:
                time.sleep(WATCH_POLL_S)
                continue
            time.sleep(0.1)  # let the editor finish writing
            current = stamp(kata)
            last = current
            if on_terminal:
                print(CLEAR_SCREEN, end="")
            else:  # a log or a pipe: a rule instead of escape codes
                print("\n" + "-" * 72)
            print(f"{dt.datetime.now():%H:%M:%S}  pytest --level {level.number}   (watching {shown(kata)}; Ctrl-C stops)", flush=True)
            if current is None:
                print(f"{shown(kata)} does not exist yet: create it, or restore the template with {PROG} reset {level.number}", flush=True)
                continue
            before = passed(level.number)
            subprocess.call(_pytest(BY_KEY["level"].flag, str(level.number), BY_KEY["watch"].flag, "-q"))
            if before or not passed(level.number):
                continue
            following = _next_level(level.number)
            if following is None:
                print(f"\nLevel {level.number} is passed: that was the last level. The quest is complete, well done.", flush=True)
                continue
            print(f"\nLevel {level.number} is passed! Level {following.number}, {following.name}, is open: {PROG} start {following.number}", flush=True)
            if follow:
                level = following
                kata = katas / level.kata_file
                last = stamp(kata)  # wait for the first save of the new level
                print(f"Now watching {shown(kata)}: save it to run the checks of level {level.number}.", flush=True)
    except KeyboardInterrupt:
        print("\nStopped watching.", flush=True)
    return EXIT_OK


def solution(args: argparse.Namespace) -> int:
    level = _level(args.level)
    where = _where()
    if not _load(where)[1].is_passed(level.number):
        raise CliError(
            f"the solution of level {level.number} opens once you pass it (pytest --level {level.number}; stuck? {PROG} tutor {level.number})",
            EXIT_REFUSED,
        )
    folder = _solutions()
    if folder is None or not (folder / level.kata_file).is_file():
        raise CliError("the reference solutions are not installed here: they come with a clone of the repository", EXIT_REFUSED)
    print((folder / level.kata_file).read_text(encoding="utf-8").rstrip())
    return EXIT_OK


def _backup_path(folder: Path, kata: Path, stamp: str) -> Path:
    candidate = folder / f"{kata.stem}.{stamp}{kata.suffix}"
    count = 1
    while candidate.exists():  # never overwrite an earlier backup
        count += 1
        candidate = folder / f"{kata.stem}.{stamp}-{count}{kata.suffix}"
    return candidate


def reset(args: argparse.Namespace) -> int:
    levels = [_level(args.level)] if args.level is not None else list(_levels())
    where = _where()
    katas = Path(where["katas"])
    backups = katas.parent / BACKUP_FOLDER
    scope = f"level {levels[0].number}" if args.level is not None else "every level"

    # Plan everything before touching anything.
    plan: list[tuple[Level, Path, bytes | None, bool]] = []  # level, kata, template, back up first
    try:
        for level in levels:
            kata = katas / level.kata_file
            template = _template(level)
            data = template.read_bytes() if template is not None else None
            keep = data is not None and kata.is_file() and kata.read_bytes() != data  # work that would be replaced
            plan.append((level, kata, data, keep))
    except OSError as error:
        raise CliError(f"cannot read {error.filename or katas}: {error.strerror or error}; nothing changed", EXIT_REFUSED) from None

    print(f"Reset {scope}: forget its progress (passed, hints, attempts) and restore the kata template.")
    for level, kata, data, keep in plan:
        if data is None:
            print(f"  level {level.number}: no template ships for it; {shown(kata)} is left as it is")
        elif keep:
            print(f"  level {level.number}: {shown(kata)} is copied to {shown(backups)}/, then replaced by the template")
        elif kata.is_file():
            print(f"  level {level.number}: {shown(kata)} is already the template")
        else:
            print(f"  level {level.number}: {shown(kata)} is missing and will be written from the template")
    if not args.yes:
        try:
            answer = input("Go ahead? [y/N] ")
        except EOFError:
            print()
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print(f"Nothing changed. (To reset without the question: {PROG} reset{' ' + args.level if args.level else ''} --yes)")
            return EXIT_REFUSED

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        for level, kata, data, keep in plan:  # every backup first: no template is written before all are safe
            if keep:
                backups.mkdir(parents=True, exist_ok=True)
                backup = _backup_path(backups, kata, stamp)
                original = kata.read_bytes()
                write_atomically(backup, original)
                if backup.read_bytes() != original:
                    raise OSError(f"the backup {backup} does not match {kata}")
                print(f"backed up {shown(kata)} -> {shown(backup)}")
        for level, kata, data, keep in plan:
            if data is not None and (keep or not kata.is_file()):
                write_atomically(kata, data)
                print(f"restored the template of level {level.number}: {shown(kata)}")
    except OSError as error:
        raise CliError(f"reset stopped, your files are as they were or backed up: {error}", EXIT_REFUSED) from None

    store = ProgressStore(Path(where["state"]))
    with store.update() as progress:
        if args.level is None:
            progress.levels.clear()
        else:
            progress.levels.pop(levels[0].number, None)
    _warn(store)
    print(f"Progress of {scope} is reset.")
    return EXIT_OK


def _has_pytest_config(folder: Path) -> Path | None:
    """The file that configures pytest in `folder`, if any (the same files pytest itself reads there)."""
    sections = {
        "pytest.ini": None,
        ".pytest.ini": None,
        "pyproject.toml": ("[tool.pytest.ini_options]", "[tool.pytest]"),
        "tox.ini": ("[pytest]",),
        "setup.cfg": ("[tool:pytest]",),
    }
    for name, markers in sections.items():
        path = folder / name
        if not path.is_file():
            continue
        if markers is None:
            return path
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(line.strip() in markers for line in text.splitlines()):
            return path
    return None


def init(args: argparse.Namespace) -> int:
    target = Path(args.directory).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise CliError(f"{args.directory} is a file, not a folder")
    katas = target / "katas"
    templates = sorted(
        (entry for entry in _package_folder("templates").iterdir() if entry.name.startswith("level") and entry.name.endswith(".py")),
        key=lambda entry: entry.name,
    )
    if not templates:
        raise CliError("this installation ships no kata templates", EXIT_REFUSED)
    written, kept = [], []
    try:
        katas.mkdir(parents=True, exist_ok=True)
        for template in templates:
            destination = katas / template.name
            if destination.exists():
                kept.append(destination.name)  # never overwrite a learner's file
                continue
            write_atomically(destination, template.read_bytes())
            written.append(destination.name)
        existing = _has_pytest_config(target)
        if existing is None:
            (target / "pytest.ini").write_text(PYTEST_CONFIG, encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write in {target}: {error.strerror or error}", EXIT_REFUSED) from None
    print(f"Wrote {len(written)} kata file(s) to {shown(katas)}.")
    if kept:
        print(f"Kept your existing {', '.join(kept)} (untouched).")
    if existing is None:
        print(f"Wrote {shown(target / 'pytest.ini')}: `pytest` in that folder plays the quest.")
    else:
        print(f"{shown(existing)} already configures pytest: left as it is; `pytest --level N` works there.")
    where = "" if target == Path.cwd().resolve() else f"cd {shown(target)} && "
    print(f"Start with: {where}{PROG} start 1")
    return EXIT_OK


# ----- argument parsing ---------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit code 2
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


VERBS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "overview": (overview, "progress of every level and the next step (the default)"),
    "start": (start, "the briefing of level N: the idea, the function to write, the file, how to check"),
    "check": (check, "run level N's checks (same as pytest --level N; more pytest options may follow)"),
    "hint": (hint, "reveal the next of level N's six hints (same as pytest --hint N); --again: re-read the ones you have seen"),
    "tutor": (tutor, "the ideas of level N and questions to think about, never the kernel (--full: the tutor's notes, which name fixes)"),
    "watch": (watch, "re-run a level's checks each time you save its kata file (Ctrl-C stops)"),
    "benchmark": (benchmark, "time your kernels against PyTorch on a GPU (pytest --benchmark)"),
    "show": (show, "run level N's checks and draw each failing case (and the passing level's key tiles) as a PNG in pictures/"),
    "profile": (profile, "where level N's bytes and time go: memory traffic on the CPU, kernel times and resources on a GPU"),
    "card": (card, "the GPU in front of you: its copy and tensor-core rates, measured once and kept, beside its datasheet's"),
    "solution": (solution, "show the reference solution of a level you have passed"),
    "reset": (reset, "restore the kata template(s) and forget the progress, after a backup (all levels, or level N)"),
    "init": (init, "write the katas and a pytest config into DIR (default: here)"),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-triton-quest")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Learn Triton from vector add to causal Flash Attention. With no verb: the overview.",
        epilog="Every verb has its own help, e.g. triton-quest reset --help.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)

    def verb(name: str) -> argparse.ArgumentParser:
        runner, summary = VERBS[name]
        one = verbs.add_parser(name, help=summary, description=summary[:1].upper() + summary[1:] + ".")
        one.set_defaults(run=runner)
        return one

    verb("overview")
    verb("start").add_argument("level", metavar="N", help="the level number")
    one = verb("check")
    one.add_argument("level", metavar="N", help="the level number")
    one.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="PYTEST_OPTION", help="passed on to pytest, e.g. -x or -k fp16")
    one = verb("hint")
    one.add_argument("level", metavar="N", help="the level number")
    one.add_argument("--again", action="store_true", help="show the hints you have seen, without revealing a new one")
    one = verb("tutor")
    one.add_argument("level", metavar="N", nargs="?", help="the level number (default: your first open level)")
    one.add_argument("--full", action="store_true", help="the whole notes for a tutor (a person or an AI assistant): common mistakes and their fixes too")
    verb("watch").add_argument("level", metavar="N", nargs="?", help="the level to watch (default: your first open level, then the next one after each pass)")
    one = verb("benchmark")
    one.add_argument("level", metavar="N", nargs="?", help="the level to time (default: every unlocked level)")
    one.add_argument("--compare", action="store_true", help="compare the saved runs instead (pytest-benchmark compare)")
    one.epilog = "Other options go on to pytest: triton-quest benchmark 8 --plot out.png (or --plot=out.png with no N)."
    one = verb("show")
    one.add_argument("level", metavar="N", help="the level number")
    one.add_argument("--case", metavar="ID", help="only the case whose id contains ID, e.g. fp32-2x2x77x32-causal")
    one.add_argument("--dir", metavar="DIR", default="pictures", help="where the PNGs go (default: pictures)")
    one = verb("profile")
    one.add_argument("level", metavar="N", help="the level number")
    one.add_argument("--katas", metavar="DIR", help="profile the kata file in DIR instead of your katas folder")
    one.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to run it (default: as pytest would)")
    one.add_argument("--shape", metavar="TEXT", help="on a GPU: only the benchmark shapes whose id contains TEXT")
    one.add_argument("--ncu", action="store_true", help="on a GPU: add Nsight Compute's headline metrics of your kernel")
    one.add_argument("--nsys", action="store_true", help="on a GPU: add Nsight Systems' kernel summary")
    verb("card").add_argument("--measure", action="store_true", help="measure the card again (the first GPU run on a card measures it)")
    verb("solution").add_argument("level", metavar="N", help="a level you have passed")
    one = verb("reset")
    one.add_argument("level", metavar="N", nargs="?", help="the level to reset (default: every level)")
    one.add_argument("--yes", action="store_true", help="do not ask first (your file is still backed up)")
    verb("init").add_argument("directory", metavar="DIR", nargs="?", default=".", help="the folder to set up (default: here)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and not arguments[0].startswith("-") and arguments[0] not in VERBS:
        print(f"{PROG}: unknown verb {arguments[0]!r}: choose one of {', '.join(VERBS)} (see {PROG} --help)", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    args, extra = parser.parse_known_args(arguments)
    if extra and args.verb != "benchmark":  # only benchmark passes unknown options on to pytest
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = getattr(args, "pytest_args", []) + extra
    runner = getattr(args, "run", overview)
    try:
        code = runner(args)
        sys.stdout.flush()  # inside the try: a closed pipe fails here, not at interpreter exit
        return code
    except CliError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return error.code
    except BrokenPipeError:
        # `triton-quest | head` stopped reading: a normal way to end, not an error to show.
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of the dead pipe prints nothing."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
