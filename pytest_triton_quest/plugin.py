"""pytest hooks of Triton Quest, and nothing else.

The run's state is a `session.QuestSession`, built in `pytest_configure` and kept in `config.stash`;
the collectors and items are in `items.py`, the options in `options.py`, the end-of-run summary in
`summary.py`. The plugin is imported by every pytest run of the environment it is installed in, so
this module (and what it imports) loads neither torch nor triton; they load only when checks run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Generator

import pytest

from .bench import new_storage_folder, remove_if_empty
from .device import DeviceError, activate, detect_mode
from .items import KataFile, play_order
from .options import add_options, adopt_aliases, alias_notice, read_settings, spelling
from .ownership import foreign_passes_line
from .progress import ProgressStore
from .registry import RegistryError, all_levels, span
from .sanitizer import SanitizerError
from .session import SESSION_KEY, QuestSession, sanitizer_plan, session_of, terminal_line

TAKEN_ALIASES_KEY = pytest.StashKey[list[str]]()
BENCHMARK_FOLDER_KEY = pytest.StashKey[Path]()  # pytest-benchmark's folder, when this run creates it
SUMMARY_KEY = "triton_quest_summary"  # a pytest-xdist worker's summary lines, in its workeroutput


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> Generator[None, None, None]:
    # After the plugins and the initial conftests have added their options, and before pytest parses
    # the command line for good: the short spellings (--level N) become --quest-level N where free.
    result = yield
    early_config.stash[TAKEN_ALIASES_KEY] = adopt_aliases(parser, args)
    return result


def _within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def _is_quest_run(config: pytest.Config, katas: Path, level: int | None) -> bool:
    if level is not None:
        return True
    if not katas.is_dir():
        return False
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return True  # plain `pytest`: the learner's view
    base = config.invocation_params.dir
    return all(_within(base / arg.split("::")[0], katas) for arg in config.args)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    settings = read_settings(config)
    if settings.where:
        taken = config.stash.get(TAKEN_ALIASES_KEY, [])
        print(
            json.dumps(
                {
                    "katas": str(settings.katas),
                    "own_katas": str(settings.own_katas),
                    "state": str(settings.state),
                    "unlock_all": settings.unlock_all,
                    "device": settings.device,
                    "taken_aliases": taken,
                }
            )
        )
        return 0
    if settings.hint is None:
        return None
    from .hints import reveal_next_hint

    return reveal_next_hint(settings.hint, settings)


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config: pytest.Config) -> None:
    settings = read_settings(config)
    if settings.hint is not None or settings.where or not _is_quest_run(config, settings.katas, settings.level):
        return
    if not settings.katas.is_dir():
        raise pytest.UsageError(f"no kata folder at {settings.katas}: point --quest-katas at the folder that holds levelN_*.py")
    try:
        mode = detect_mode(settings.device)
        levels = all_levels()
    except (DeviceError, RegistryError) as error:
        raise pytest.UsageError(str(error)) from None
    activate(mode)
    try:
        sanitizer = sanitizer_plan(settings, mode)
    except SanitizerError as error:
        raise pytest.UsageError(str(error)) from None
    store = ProgressStore(settings.state)
    session = QuestSession(
        settings,
        mode,
        levels,
        store,
        store.load(),
        taken_aliases=config.stash.get(TAKEN_ALIASES_KEY, []),
        say=terminal_line(config),
        verbose=config.get_verbosity() > 0,
        sanitizer=sanitizer,
    )
    moved = session.set_apart_foreign_passes()
    if moved:
        store.warnings.append(foreign_passes_line(moved, settings.own_katas))
    if mode.on_gpu:
        # pytest-xdist's workers start after this process has measured the card, and read its figures.
        session.meet_the_card(measure=not hasattr(config, "workerinput"))
    if settings.level is not None:
        level = session.level(settings.level)
        if level is None:
            raise pytest.UsageError(f"level {settings.level} does not exist: the levels are {span(session.numbers)}")
        if not session.kata_path(level).is_file():
            raise pytest.UsageError(
                f"level {settings.level} has no kata file: expected {session.kata_path(level)} (`triton-quest reset {settings.level}` restores it)"
            )
        blocker = session.lock_reason(level.number)
        if blocker is not None:
            # Asked for by name, a locked level is an answer the learner must see, not a row of skips.
            unlock = spelling("unlock_all", session.taken_aliases)
            raise pytest.UsageError(
                f"{level.title} is locked: pass level {blocker} first (pytest --level {blocker}), or try it anyway with {unlock}"
            )
    if settings.benchmark and mode.on_gpu and config.pluginmanager.hasplugin("benchmark"):
        from .bench import MachineInfo, saved_run_name

        # Saved runs make `pytest-benchmark compare` work; pytest-benchmark names an autosaved run by
        # its git commit, which a learner's folder seldom has, so the quest names it by level and time.
        config.option.benchmark_autosave = saved_run_name(settings.level)
        config.pluginmanager.register(MachineInfo(), "triton_quest_machine_info")
    config.stash[SESSION_KEY] = session
    created = new_storage_folder(config)
    if created is not None:
        config.stash[BENCHMARK_FOLDER_KEY] = created
    if getattr(config.option, "dist", "no") in ("load", "worksteal"):
        # pytest-xdist: a level passes only when one process saw every one of its cases, and its
        # benchmark needs its checks in the same process, so each level (one kata file) goes whole
        # to one worker.
        config.option.dist = "loadfile"
    if config.args_source != pytest.Config.ArgsSource.ARGS or settings.level is not None:
        config.args = [str(settings.katas)]


def pytest_unconfigure(config: pytest.Config) -> None:
    session = session_of(config)
    if session is not None:
        session.close()
    created = config.stash.get(BENCHMARK_FOLDER_KEY, None)
    if created is not None:
        remove_if_empty(created)  # a CPU run, or a GPU run without --benchmark, saves nothing


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = session_of(config)
    if session is None:
        return []
    gate = "all levels unlocked (--quest-unlock-all)" if session.settings.unlock_all else "levels unlock in order"
    lines = [
        f"triton-quest: {session.mode.describe()}: {session.mode.reason}",
        f"triton-quest: katas in {session.settings.katas}; progress in {session.settings.state}; {gate}",
    ]
    if not session.settings.records:
        lines.append(
            f"triton-quest: {session.settings.katas} is not your kata folder ({session.settings.own_katas}): this run is "
            "not recorded and unlocks nothing"
        )
    if session.mode.interpreted:
        from .guard_selftest import guard_warning  # imports triton: only for a run on the CPU

        warning = guard_warning()
        if warning:
            lines.append(warning)
    lines += [f"triton-quest: {line}" for line in session.card_lines()]
    if session.sanitizer.note:
        lines.append(session.sanitizer.note)
    if session.taken_aliases:
        lines.append(f"triton-quest: {alias_notice(session.taken_aliases)}")
    return lines


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    session = session_of(parent.config)
    if session is None or file_path.parent.resolve() != session.settings.katas:
        return None
    level = session.level_of_file(file_path.name)
    if level is None or (session.requested_level is not None and level.number != session.requested_level):
        return None
    return KataFile.from_parent(parent, path=file_path, level=level)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if session_of(config) is not None:
        play_order(items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    quest = session_of(session.config)
    if quest is None or not quest.runs:
        return
    quest.record_progress()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: nobody sees its terminal, so the controller prints this
        from .summary import level_blocks, other_lines

        # Through execnet: plain lists and string keys only.
        blocks = [[number, lines] for number, lines in level_blocks(quest).items()]
        workeroutput[SUMMARY_KEY] = {"levels": blocks, "rest": other_lines(quest)}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, in the controller: keep what a worker had to say (it ran the levels, not us)."""
    quest = session_of(node.config)
    said = getattr(node, "workeroutput", {}).get(SUMMARY_KEY)
    if quest is not None and said:
        quest.worker_blocks.update({number: lines for number, lines in said["levels"]})
        quest.worker_rest.extend(said["rest"])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    quest = session_of(config)
    if quest is None:
        return
    from .summary import summary_lines

    lines = summary_lines(quest)
    if lines:
        terminalreporter.section("triton quest", sep="=")
        for line in lines:
            terminalreporter.write_line(line)
