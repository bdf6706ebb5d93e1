"""Import a learner's kata file and find its public function, with one-line reasons when that fails.

A kata file is the learner's work in progress: it may not parse, may import something missing, or may
lack the function. Each of those becomes a `KataLoadError` whose message names the file and line, so
the report is one readable line instead of a traceback wall.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

from .paths import same_file, shown, traceback_kata_line


class KataLoadError(Exception):
    """The kata file could not be turned into a callable; the message is for the learner."""


def _location_in(path: Path, tb: Any) -> str:
    """`file:line` of the deepest traceback frame inside `path`, or just the file."""
    return traceback_kata_line(tb, path) or shown(path)


def _one_line(error: BaseException) -> str:
    """`Type: first line of the message`, so that a report stays one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if len(text) > 200:
        text = text[:197] + "..."
    more = " ..." if len(lines) > 1 else ""
    return f"{type(error).__name__}: {text}{more}" if text else type(error).__name__


def _syntax_error_message(path: Path, error: SyntaxError) -> str:
    """A syntax error in the kata, or in a helper module the kata imports (then both are named)."""
    message = error.msg or "invalid syntax"
    culprit = Path(error.filename) if error.filename and not error.filename.startswith("<") else path
    same = same_file(culprit, path)
    kind = "indentation error" if isinstance(error, IndentationError) else "syntax error"
    if same:
        where = f"{shown(path)}:{error.lineno}" if error.lineno else shown(path)
        return f"{where}: {kind}: {message}"
    where = _location_in(path, error.__traceback__)
    inner = f"{shown(culprit)}:{error.lineno}" if error.lineno else shown(culprit)
    return f"{where}: importing the kata failed: {kind} in {inner}: {message}"


def _module_name(path: Path) -> str:
    # Unique per file so that two kata folders (katas/ and solutions_hidden/) never share a module.
    stem = "".join(ch if ch.isalnum() else "_" for ch in str(path.resolve()))
    return f"triton_quest_kata_{stem}"


def import_kata(path: Path) -> ModuleType:
    if not path.is_file():
        raise KataLoadError(f"{shown(path)} does not exist: create it (or restore the template with `triton-quest reset`)")
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise KataLoadError(f"{shown(path)} cannot be imported as a Python module")
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
        raise KataLoadError(_syntax_error_message(path, error)) from None
    except NotImplementedError:
        raise  # a template may refuse at import time; the checker reports it as not implemented
    except BaseException as error:  # noqa: BLE001 - any failure of learner code is reported, not raised
        sys.modules.pop(name, None)
        if isinstance(error, KeyboardInterrupt):
            raise
        where = _location_in(path, error.__traceback__)
        if isinstance(error, SystemExit):
            raise KataLoadError(
                f"{where}: the kata calls sys.exit() while it is imported: "
                "put script code under `if __name__ == \"__main__\":`"
            ) from None
        raise KataLoadError(f"{where}: importing the kata failed: {_one_line(error)}") from None
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
        import difflib

        names = [name for name, value in vars(module).items() if callable(value) and not name.startswith("_")]
        close = difflib.get_close_matches(function, names, n=1)
        guess = f" (is `{close[0]}` meant to be it?)" if close else ""
        raise KataLoadError(
            f"{shown(path)} defines no function `{function}`{guess}: the checks call `{function}({', '.join(parameters)})`"
        )
    if not callable(candidate):
        raise KataLoadError(f"{shown(path)}: `{function}` must be a function, but it is of type {type(candidate).__name__}")
    try:
        signature = inspect.signature(candidate)
    except (TypeError, ValueError):
        return candidate
    try:
        signature.bind(*[None] * len(positional), **{name: None for name in keywords})
    except TypeError:
        line = _definition_line(candidate)
        where = f"{shown(path)}:{line}" if line else shown(path)
        raise KataLoadError(
            f"{where}: `{function}{signature}` does not match the contract `{function}({', '.join(parameters)})`"
        ) from None
    return candidate


def function_site(function: Callable[..., Any], path: Path) -> str:
    """`file:line` to name when what the function returned is wrong: its one `return` statement, or
    its `def` line when it has none or several; just the file when it is defined somewhere else."""
    try:
        source_file = inspect.getsourcefile(function)
        lines, start = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return shown(path)
    if source_file is None or not same_file(source_file, path):
        return shown(path)
    try:
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except SyntaxError:
        return f"{shown(path)}:{start}"
    definition = next((node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if definition is None:
        return f"{shown(path)}:{start}"
    returns = list(_own_returns(definition))
    line = start + (returns[0].lineno if len(returns) == 1 else definition.lineno) - 1
    return f"{shown(path)}:{line}"


def _own_returns(function: ast.AST) -> Iterator[ast.Return]:
    """The `return` statements of this function, not of functions or classes nested in it."""
    for child in ast.iter_child_nodes(function):
        if isinstance(child, ast.Return):
            yield child
        elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            yield from _own_returns(child)


def _definition_line(function: Callable[..., Any]) -> int | None:
    try:
        return inspect.getsourcelines(function)[1]
    except (OSError, TypeError):
        return None


def load_function(
    path: Path, function: str, positional: tuple[str, ...], keywords: tuple[str, ...]
) -> Callable[..., Any]:
    return find_function(import_kata(path), path, function, positional, keywords)
