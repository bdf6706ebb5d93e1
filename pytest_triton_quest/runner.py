"""Run cases in a worker process (the default) or in this process.

The worker shields the pytest process: a segfault, a heap corrupted by a stray store, a CUDA error
that poisons the context, or a kernel that never returns fails only its own case. The worker is
restarted after a crash, and killed after the time limit.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

from .results import CRASHED, FAILED, TIMED_OUT, CaseResult
from .levels.base import Case, Level, Mode
from .registry import LevelRef


class Runner(Protocol):
    def run(self, level: Level, case: Case, kata_path: Path) -> tuple[CaseResult, str]: ...

    def close(self) -> None: ...


class InProcessRunner:
    """No isolation: faster to start and debuggable with pdb, but a crash takes pytest with it."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode

    def run(self, level: Level, case: Case, kata_path: Path) -> tuple[CaseResult, str]:
        from .checking import check_case  # imports the guard, only when cases run here

        return check_case(level, case, kata_path, self.mode), ""

    def close(self) -> None:
        pass


STARTUP_TIMEOUT_S = 120.0  # importing torch and triton on a cold, busy machine


class WorkerStartError(Exception):
    pass


class _Worker:
    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.log = tempfile.TemporaryFile(mode="w+b")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest_triton_quest.worker", str(write_end)],
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            pass_fds=(write_end,),
            start_new_session=True,  # its own process group, so a kill reaches kernels' children too
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        os.close(write_end)
        self.results = os.fdopen(read_end, "r", encoding="utf-8")
        self.log_offset = 0
        if self.receive(STARTUP_TIMEOUT_S) is None:
            output = self.new_output()
            self.stop()
            raise WorkerStartError(output.strip()[-2000:] or _exit_reason(self.process.returncode))

    def send(self, request: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()

    def receive(self, timeout_s: float) -> str | None:
        """One result line, or None if the worker died or the time ran out (then see `alive`)."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.results], [], [], remaining)
            if ready:
                line = self.results.readline()
                return line or None

    def new_output(self) -> str:
        self.log.seek(self.log_offset)
        data = self.log.read()
        self.log_offset += len(data)
        return data.decode("utf-8", errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        self.results.close()
        self.log.close()


def _exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "the worker stopped answering"
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"the process exited with code {returncode}"


class IsolatedRunner:
    def __init__(self, mode: Mode, timeout_s: float) -> None:
        self.mode = mode
        self.timeout_s = timeout_s
        self._worker: _Worker | None = None

    def run(self, level: Level, case: Case, kata_path: Path) -> tuple[CaseResult, str]:
        if self._worker is None or self._worker.process.poll() is not None:
            try:
                self._replace_worker()
            except WorkerStartError as error:
                return CaseResult(FAILED, f"the quest's worker process could not start:\n{error}", stops_level=True), ""
        worker = self._worker
        assert worker is not None
        request = {
            "level": vars(LevelRef.of(level)),
            "case": case.id,
            "kata": str(kata_path),
            "mode": {"device": self.mode.device, "interpreted": self.mode.interpreted, "reason": self.mode.reason},
        }
        started = time.monotonic()
        try:
            worker.send(request)
            line = worker.receive(self.timeout_s)
        except (BrokenPipeError, OSError):
            line = None
        if line is not None:
            result = CaseResult.from_dict(json.loads(line))
            if result.process_poisoned:
                self._retire_worker()
            return result, worker.new_output()
        elapsed = time.monotonic() - started
        timed_out = worker.process.poll() is None
        worker.kill()
        output = worker.new_output()
        self._retire_worker()
        if timed_out:
            result = CaseResult(
                TIMED_OUT,
                f"level {level.number}, case {case.id}: no answer after {self.timeout_s:g} s, so the kernel was stopped; "
                "likely an endless loop (check the loop bounds and that the loop variable advances)",
                stops_level=True,
            )
        else:
            result = CaseResult(
                CRASHED,
                f"the kernel crashed: {_exit_reason(worker.process.returncode)}; "
                "likely an out-of-bounds access: check the masks",
                stops_level=True,
            )
        result.duration_s = elapsed
        return result, output

    def _replace_worker(self) -> None:
        self._retire_worker()
        self._worker = _Worker()  # may raise WorkerStartError

    def _retire_worker(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def close(self) -> None:
        self._retire_worker()
