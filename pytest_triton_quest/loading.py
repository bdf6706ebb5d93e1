"""Import a learner's kata file and find its public function, with one-line reasons when that fails.

A kata file is the learner's work in progress: it may not parse, may import something missing, or may
lack the function. Each of those becomes a `KataLoadError` whose message names the file and line, so
the report is one readable line instead of a traceback wall.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Callable


class KataLoadError(Exception):
    """The kata file could not be turned into a callable; the message is for the learner."""


def _location_in(path: Path, tb: Any) -> str:
    """`file:line` of the deepest traceback frame inside `path`, or just the file."""
    line = None
    for frame in traceback.extract_tb(tb):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    return f"{path}:{line}" if line else str(path)


def _module_name(path: Path) -> str:
    # Unique per file so that two kata folders (katas/ and solutions_hidden/) never share a module.
    stem = "".join(ch if ch.isalnum() else "_" for ch in str(path.resolve()))
    return f"triton_quest_kata_{stem}"


def import_kata(path: Path) -> ModuleType:
    if not path.is_file():
        raise KataLoadError(f"{path} does not exist: create it (or restore the template with `triton-quest reset`)")
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise KataLoadError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Helper modules next to the kata file import as they would with `python katas/levelN_x.py`.
    folder = str(path.parent.resolve())
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        sys.modules.pop(name, None)
        where = f"{path}:{error.lineno}" if error.lineno else str(path)
        raise KataLoadError(f"{where}: syntax error: {error.msg}") from None
    except NotImplementedError:
        raise  # a template may refuse at import time; the checker reports it as not implemented
    except BaseException as error:  # noqa: BLE001 - any failure of learner code is reported, not raised
        sys.modules.pop(name, None)
        if isinstance(error, KeyboardInterrupt):
            raise
        where = _location_in(path, error.__traceback__)
        raise KataLoadError(f"{where}: importing the kata failed: {type(error).__name__}: {error}") from None
    finally:
        if added:
            try:
                sys.path.remove(folder)
            except ValueError:
                pass
    return module


def find_function(
    module: ModuleType, path: Path, function: str, positional: tuple[str, ...], keywords: tuple[str, ...]
) -> Callable[..., Any]:
    """The kata's public function, checked against how the checks call it: tensors by position,
    options (`causal`, `scale`) by keyword."""
    parameters = positional + tuple(f"{name}=..." for name in keywords)
    candidate = getattr(module, function, None)
    if candidate is None:
        raise KataLoadError(f"{path} defines no function `{function}`: the checks call `{function}({', '.join(parameters)})`")
    if not callable(candidate):
        raise KataLoadError(f"{path}: `{function}` is a {type(candidate).__name__}, not a function")
    try:
        signature = inspect.signature(candidate)
    except (TypeError, ValueError):
        return candidate
    try:
        signature.bind(*[None] * len(positional), **{name: None for name in keywords})
    except TypeError:
        line = _definition_line(candidate)
        where = f"{path}:{line}" if line else str(path)
        raise KataLoadError(
            f"{where}: `{function}{signature}` does not match the contract `{function}({', '.join(parameters)})`"
        ) from None
    return candidate


def _definition_line(function: Callable[..., Any]) -> int | None:
    try:
        return inspect.getsourcelines(function)[1]
    except (OSError, TypeError):
        return None


def load_function(
    path: Path, function: str, positional: tuple[str, ...], keywords: tuple[str, ...]
) -> Callable[..., Any]:
    return find_function(import_kata(path), path, function, positional, keywords)
