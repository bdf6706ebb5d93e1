"""The guard's self-test (issue 14): it passes on the installed Triton, and a simulated Triton change
that blinds one hook makes it say which, instead of passing; it always leaves Triton as it found it.

tests/test_triton36.py re-runs this file under triton 3.6.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch  # noqa: F401 - imported before timing, as in a real session
import triton  # noqa: F401
import triton.language as tl
from triton.runtime import interpreter
from triton.runtime.jit import JITFunction

from pytest_triton_quest import guard, guard_selftest
from pytest_triton_quest.guard import watch_kernels
from pytest_triton_quest.guard_selftest import (
    guard_self_test,
    guard_status_line,
    guard_warning,
    run_guard_self_test,
)

REPO = Path(__file__).resolve().parent.parent
_INTERPRET = "TRITON_INTERPRET"


def _hooked_objects() -> dict[str, Any]:
    """Everything the guard replaces, as Triton defines it (to prove it is put back)."""
    builder = vars(interpreter.InterpreterBuilder)
    return {
        "GridExecutor.__call__": vars(interpreter.GridExecutor).get("__call__"),
        "GridExecutor._init_args_hst": vars(interpreter.GridExecutor).get("_init_args_hst"),
        "InterpreterBuilder.set_grid_dim": builder.get("set_grid_dim"),
        "InterpreterBuilder.create_dot": builder.get("create_dot"),
        "InterpreterBuilder.create_addptr": builder.get("create_addptr"),
        "InterpreterBuilder.create_splat": builder.get("create_splat"),
        "InterpreterBuilder.create_masked_load": builder.get("create_masked_load"),
        "InterpreterBuilder.create_masked_store": builder.get("create_masked_store"),
        "TensorDescHandle.materialize_pointers": vars(interpreter.TensorDescHandle).get("materialize_pointers"),
        "interpreter._interpreter": getattr(interpreter, "_interpreter", None),
        "JITFunction.run": vars(JITFunction)["run"],
    }


# ----- on the installed Triton ---------------------------------------------------------------------------
@pytest.mark.parametrize("interpret", [None, "0", "1"])
def test_the_self_test_passes_and_leaves_everything_as_it_was(interpret: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if interpret is None:
        monkeypatch.delenv(_INTERPRET, raising=False)
    else:
        monkeypatch.setenv(_INTERPRET, interpret)
    before = _hooked_objects()
    assert run_guard_self_test() is None
    assert _hooked_objects() == before
    assert os.environ.get(_INTERPRET) == interpret
    assert guard.open_watches() == 0


def test_the_self_test_is_cheap() -> None:
    run_guard_self_test()  # the first run also rewrites the probe kernel's source: time the next ones
    started = time.perf_counter()
    assert run_guard_self_test() is None
    assert time.perf_counter() - started < 1.0


def test_the_first_run_is_cheap_too() -> None:
    # A fresh process, triton already imported: the whole first self-test, probe rewrite included.
    code = (
        "import time, torch, triton\n"
        "from pytest_triton_quest.guard_selftest import guard_self_test\n"
        "started = time.perf_counter()\n"
        "assert guard_self_test() is None\n"
        "print(time.perf_counter() - started)\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    environment.pop(_INTERPRET, None)
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip()) < 1.0


def test_the_answer_is_cached_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[int] = []

    def counted() -> str | None:
        runs.append(1)
        return "the launch hook (GridExecutor.__call__) did not fire"

    monkeypatch.setattr(guard_selftest, "_cached", [])
    monkeypatch.setattr(guard_selftest, "run_guard_self_test", counted)
    assert guard_self_test() == "the launch hook (GridExecutor.__call__) did not fire"
    assert guard_self_test() == "the launch hook (GridExecutor.__call__) did not fire"
    assert len(runs) == 1


def test_it_refuses_to_run_inside_an_open_watch() -> None:
    with watch_kernels(True) as watch:
        assert run_guard_self_test() == "the self-test cannot run inside an open watch_kernels() block"
    assert watch.launches == [] and watch.violation is None


# ----- the warning line ----------------------------------------------------------------------------------
def test_the_status_line_says_checks_are_off_and_why() -> None:
    line = guard_status_line("3.10.0", "the launch hook (GridExecutor.__call__) did not fire")
    assert line.startswith(
        "triton-quest: WARNING: out-of-bounds checks are OFF for triton 3.10.0: "
        "the launch hook (GridExecutor.__call__) did not fire; report it at "
    )
    assert "\n" not in line


def test_guard_warning_is_none_when_the_guard_works_and_the_line_when_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard_selftest, "_cached", [None])
    assert guard_warning() is None
    monkeypatch.setattr(guard_selftest, "_cached", ["the out-of-bounds load was not caught"])
    from importlib.metadata import version

    assert guard_warning() == guard_status_line(version("triton"), "the out-of-bounds load was not caught")


# ----- simulated Triton changes ----------------------------------------------------------------------------
def _drop_init_args_hst(monkeypatch: pytest.MonkeyPatch) -> None:
    # A release that renamed GridExecutor._init_args_hst.
    monkeypatch.delattr(interpreter.GridExecutor, "_init_args_hst")


def _bypass_the_memory_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # A release whose memory operations no longer go through the module global `_interpreter`
    # (simulated: the launch puts the real C++ helpers back, under the guard's proxy).
    real = interpreter._interpreter
    original_call = interpreter.GridExecutor.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        interpreter._interpreter = real
        return original_call(self, *args, **kwargs)

    monkeypatch.setattr(interpreter.GridExecutor, "__call__", call)


def _drop_the_memory_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    # A release that moved the C++ helpers away from `_interpreter`.
    monkeypatch.delattr(interpreter, "_interpreter")


def _rename_grid_idx(monkeypatch: pytest.MonkeyPatch) -> None:
    # A release whose builder keeps the program id under another name than `grid_idx`.
    builder_class = interpreter.InterpreterBuilder

    def set_grid_idx(self: Any, x: int, y: int, z: int) -> None:
        self.program_index = (x, y, z)

    def create_get_program_id(self: Any, axis: int) -> Any:
        return interpreter.TensorHandle(np.array([self.program_index[axis]], dtype=np.int32), tl.int32)

    monkeypatch.setattr(interpreter.interpreter_builder, "program_index", None, raising=False)
    monkeypatch.delattr(interpreter.interpreter_builder, "grid_idx", raising=False)
    monkeypatch.setattr(builder_class, "set_grid_idx", set_grid_idx)
    monkeypatch.setattr(builder_class, "create_get_program_id", create_get_program_id)


def _lose_the_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    # A release that renamed InterpreterBuilder.set_grid_dim (the executor calls the new name).
    builder_class = interpreter.InterpreterBuilder
    monkeypatch.setattr(builder_class, "set_grid_dimensions", builder_class.set_grid_dim, raising=False)
    monkeypatch.setattr(interpreter.interpreter_builder, "set_grid_dim", interpreter.interpreter_builder.set_grid_dimensions, raising=False)


def _break_provenance(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pointer values that no longer pass through the builder operations the guard tags.
    monkeypatch.setattr(guard.provenance, "_tag_result", lambda *args: None)


def _break_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise IndexError("a numpy change")

    monkeypatch.setattr(guard.bounds, "_find_violation", broken)


def _break_triton_jit(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fn: Any) -> Any:
        raise RuntimeError("no interpreter")

    monkeypatch.setattr(triton, "jit", broken)


SIMULATIONS: list[tuple[Callable[[pytest.MonkeyPatch], None], str]] = [
    (_drop_init_args_hst, "this Triton has no `GridExecutor._init_args_hst` for the guard to hook"),
    (_bypass_the_memory_proxy, "a memory access (create_masked_load) bypassed the guard's checking proxy"),
    (_drop_the_memory_helpers, "this Triton has no `interpreter._interpreter` for the guard to hook"),
    (_rename_grid_idx, "the program id hook (interpreter_builder.grid_idx) gave (0, 0, 0), expected (1, 0, 0)"),
    (_lose_the_grid, "the grid hook (InterpreterBuilder.set_grid_dim) recorded (0, 0, 0), expected (2, 1, 1)"),
    (_break_provenance, "strays into another argument's memory was not caught: pointer provenance"),
    (_break_the_check, "the guard failed while checking a load (IndexError: a numpy change)"),
    (_break_triton_jit, "the self-test raised RuntimeError: no interpreter"),
]


@pytest.mark.parametrize(("simulate", "expected"), SIMULATIONS, ids=[simulate.__name__[1:] for simulate, _ in SIMULATIONS])
def test_a_simulated_triton_change_gives_the_reason_and_is_undone(
    simulate: Callable[[pytest.MonkeyPatch], None], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pristine = _hooked_objects()
    with monkeypatch.context() as change:
        simulate(change)
        simulated = _hooked_objects()
        reason = run_guard_self_test()
        assert reason is not None and expected in reason, reason
        assert "\n" not in reason
        assert _hooked_objects() == simulated, "the self-test left a hook of its own behind"
    assert _hooked_objects() == pristine
    assert run_guard_self_test() is None  # Triton as it was: the self-test passes again


def test_importing_the_self_test_imports_neither_torch_nor_triton() -> None:
    code = (
        "import sys, pytest_triton_quest.guard_selftest\n"
        "heavy = sorted({'torch', 'triton', 'numpy'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
