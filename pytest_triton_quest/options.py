"""Every quest option, defined once: the table below drives pytest's command line and ini options, the
`Settings` of a run, and the `triton-quest` command.

Precedence, for every option that has these sources: command line > environment variable > ini
option > default. A bad value names the source that held it.

Every option is spelled `--quest-...`, so the quest cannot collide with another plugin. The short
spellings the README promises (`--level N`, `--hint N`, ...) are aliases: they are not argparse
options at all, but rewritten to their `--quest-` form before pytest parses the command line, and
only when no other plugin or conftest defines the same option. With another plugin that owns
`--level`, the quest still loads, `--quest-level` works, and the run's header says so once.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from .device import CHOICES as DEVICES
from .sanitizer import CHOICES as SANITIZE_CHOICES

ISOLATIONS = ("process", "none")
STATE_FILE = ".triton-quest.json"
DEFAULT_TIMEOUT_S = {"cpu": 60.0, "cuda": 180.0}
GROUP = ("triton-quest", "Triton Quest (learn Triton from vector add to Flash Attention)")


def level_number(text: str) -> int:
    """Any whole number: which levels exist is the registry's to say, in one message for all."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level number (levels are 1, 2, 3, ...)") from None


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the time limit must be more than 0 seconds")
    return value


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"{text!r}: choose one of {', '.join(choices)}")
        return text

    return parse


@dataclass(frozen=True)
class Option:
    key: str  # the Settings field, and `quest_<key>` in pytest's namespace
    help: str
    alias: str | None = None  # the short spelling, used when nobody else owns it
    metavar: str | None = None
    parse: Callable[[str], Any] | None = None  # text -> value; raises ArgumentTypeError; None: a flag
    ini: str | None = None  # the ini option's name
    env: str | None = None  # the environment variable's name
    default: Any = None

    @property
    def flag(self) -> str:
        return "--quest-" + self.key.replace("_", "-")

    @property
    def dest(self) -> str:
        return "quest_" + self.key

    @property
    def is_flag(self) -> bool:
        return self.parse is None


def _one_of(key: str, help: str, choices: tuple[str, ...], **more: Any) -> Option:
    """An option whose value is one of `choices`: its metavar and its check both come from them."""
    return Option(key, help, metavar="|".join(choices), parse=_choice(choices), **more)


OPTIONS: tuple[Option, ...] = (
    Option("level", "run only level N's checks (the learner's kata file for that level)", "--level", "N", level_number),
    Option("hint", "reveal the next hint of level N, record it, and run no tests", "--hint", "N", level_number),
    Option(
        "katas",
        "folder holding the kata files, levelN_*.py (default: katas/ beside the ini file)",
        "--katas",
        "DIR",
        str,
        ini="triton_quest_katas",
        default="katas",
    ),
    Option(
        "unlock_all",
        "ignore level gating: run any level whether or not the levels before it are passed",
        "--unlock-all",
        ini="triton_quest_unlock_all",
        default=False,
    ),
    _one_of(
        "device",
        "where checks run: auto (GPU if there is one), cpu (Triton interpreter) or cuda",
        DEVICES,
        ini="triton_quest_device",
        default="auto",
    ),
    Option(
        "timeout",
        "seconds a single case may take before its kernel is stopped (default 60 on the CPU, 180 on a GPU)",
        metavar="SECONDS",
        parse=seconds,
        ini="triton_quest_timeout",
    ),
    _one_of(
        "isolation",
        "process: run cases in a worker process that a crash or hang cannot take down (default); none: in pytest's own process",
        ISOLATIONS,
        ini="triton_quest_isolation",
        default="process",
    ),
    _one_of(
        "sanitize",
        "on a GPU, run the checks under compute-sanitizer memcheck to catch out-of-bounds loads and stores:"
        " auto (when the tool is found; default), on (fail the run without it) or off",
        SANITIZE_CHOICES,
        ini="triton_quest_sanitize",
        env="TRITON_QUEST_SANITIZE",
        default="auto",
    ),
    Option(
        "state",
        f"progress file (default: {STATE_FILE} in the project root: the ini file's folder, else the folder pytest runs in,"
        " or the kata folder's parent when pytest runs inside the kata folder)",
        metavar="PATH",
        parse=str,
        env="TRITON_QUEST_STATE",
    ),
    Option(
        "benchmark",
        "also time your kernels against PyTorch on the GPU (pytest-benchmark; runs are saved to .benchmarks/)",
        "--benchmark",
        default=False,
    ),
    Option(
        "picture",
        "write a PNG of each failing case into DIR: the output as tiles, the program id that stored each, the wrong"
        " ones (interpreter runs; needs matplotlib)",
        metavar="DIR",
        parse=str,
    ),
    Option("plot", "with --quest-benchmark: write a PNG of each shape's throughput against its length, and a roofline beside it (needs matplotlib)", "--plot", "PATH", str),
    Option("watch", "set by `triton-quest watch`: the report says to save the kata file instead of running pytest again", default=False),
    Option("where", "print where the quest's katas and progress file are (JSON, for the triton-quest command) and exit", default=False),
)
BY_KEY: dict[str, Option] = {option.key: option for option in OPTIONS}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(*GROUP)
    for option in OPTIONS:
        extra = f" (also {option.alias}, unless another plugin defines it)" if option.alias else ""
        if option.is_flag:
            group.addoption(option.flag, dest=option.dest, action="store_true", default=None, help=option.help + extra)
        else:
            # Kept as text here and parsed by read_settings: a bad value then ends the run with one
            # line naming it, instead of argparse's usage dump.
            group.addoption(option.flag, dest=option.dest, metavar=option.metavar, default=None, help=option.help + extra)
        if option.ini:
            ini_type = "bool" if option.is_flag else "string"
            default = option.default if option.is_flag else ("" if option.default is None else str(option.default))
            parser.addini(option.ini, option.help, type=ini_type, default=default)


# ----- the short spellings ----------------------------------------------------------------------------
def _owned_elsewhere(parser: pytest.Parser, option: Option) -> bool:
    """Whether some other plugin or conftest defines `option.alias`: the probe parses as a known option
    (or is rejected as one), instead of coming back unknown."""
    assert option.alias is not None
    probe = option.alias if option.is_flag else f"{option.alias}=1"
    try:
        _, unknown = parser.parse_known_and_unknown_args([probe])
    except (Exception, SystemExit):  # argparse refused the value: the option exists and takes another
        return True
    return probe not in unknown


def adopt_aliases(parser: pytest.Parser, args: list[str]) -> list[str]:
    """Rewrite the free short spellings in `args` (in place) to their `--quest-` form; return the
    aliases that another plugin owns, which keep their owner's meaning."""
    free: dict[str, str] = {}
    taken: list[str] = []
    for option in OPTIONS:
        if option.alias is None:
            continue
        if _owned_elsewhere(parser, option):
            taken.append(option.alias)
        else:
            free[option.alias] = option.flag
    for index, token in enumerate(args):
        if token == "--":
            break
        name, equals, value = token.partition("=")
        if name in free:
            args[index] = free[name] + equals + value
    return taken


def alias_notice(taken: list[str]) -> str:
    spelled = ", ".join(f"{alias} -> {BY_KEY[_key_of(alias)].flag}" for alias in taken)
    return f"another plugin defines {', '.join(taken)}: use the quest's own spellings here ({spelled})"


def spelling(key: str, taken: list[str]) -> str:
    """The option as the learner can type it here: the short spelling unless another plugin owns it."""
    option = BY_KEY[key]
    return option.alias if option.alias and option.alias not in taken else option.flag


def _key_of(alias: str) -> str:
    return next(option.key for option in OPTIONS if option.alias == alias)


# ----- the settings of one run --------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    level: int | None
    hint: int | None
    katas: Path
    unlock_all: bool
    device: str
    timeout: float | None
    isolation: str
    sanitize: str
    state: Path
    benchmark: bool
    plot: str | None
    watch: bool
    where: bool
    # The learner's own kata folder (ini, environment or default), and whether this run's results
    # go into the progress file: only checks of that folder count, unless --quest-state names a file.
    own_katas: Path = Path("katas")
    records: bool = True
    picture: Path | None = None  # --quest-picture DIR: where failing cases' pictures go

    def timeout_s(self, device: str) -> float:
        return self.timeout or DEFAULT_TIMEOUT_S[device]


def project_root(config: pytest.Config) -> Path:
    """Where the learner's project lives: the folder of the ini file, else where pytest was started.

    Not pytest's rootdir without an ini file: pytest works that out before the quest's options are
    known, so `--quest-katas DIR` would make DIR the rootdir and put the progress file inside it."""
    return config.inipath.parent if config.inipath else config.invocation_params.dir


def _value(config: pytest.Config, option: Option, command_line: bool = True) -> tuple[Any, str]:
    """The option's raw value and the source it came from, by precedence (without the command line:
    what the project itself configures)."""
    value = getattr(config.option, option.dest, None) if command_line else None
    if value is not None:
        return value, "command line"
    if option.env and os.environ.get(option.env):
        return os.environ[option.env], f"environment variable {option.env}"
    if option.ini:
        ini = config.getini(option.ini)
        if option.is_flag:
            return bool(ini), f"ini option {option.ini}"
        if str(ini).strip():
            return str(ini).strip(), f"ini option {option.ini}"
    return option.default, "default"


def read_settings(config: pytest.Config) -> Settings:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        value, source = _value(config, option)
        if option.parse is not None and value is not None:
            try:
                value = option.parse(str(value))
            except argparse.ArgumentTypeError as error:
                where = f"{option.alias or option.flag} {value}" if source == "command line" else f"{source} = {value!r}"
                raise pytest.UsageError(f"{where}: {error}") from None
        values[option.key] = value
        sources[option.key] = source
    invocation = config.invocation_params.dir
    root = project_root(config)
    values["katas"] = (Path(invocation if sources["katas"] == "command line" else root) / values["katas"]).resolve()
    if values["picture"] is not None:
        values["picture"] = Path(invocation, values["picture"])
    state = values["state"]
    if state is not None:
        values["state"] = Path(invocation, state)
    else:
        # Never among the kata files: run from inside the kata folder (no ini file), progress goes to
        # the folder above it, where a run from the project root finds it too.
        home = values["katas"].parent if root.resolve() == values["katas"] else root
        values["state"] = home / STATE_FILE
    katas_option = next(option for option in OPTIONS if option.key == "katas")
    configured, _ = _value(config, katas_option, command_line=False)
    values["own_katas"] = (root / configured).resolve()
    values["records"] = (
        sources["state"] != "default"
        or values["katas"] == values["own_katas"]
        or values["katas"] == (values["state"].parent / "katas").resolve()
    )
    values["unlock_all"] = bool(values["unlock_all"])
    values["benchmark"] = bool(values["benchmark"])
    values["watch"] = bool(values["watch"])
    values["where"] = bool(values["where"])
    return Settings(**values)
