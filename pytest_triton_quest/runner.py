"""Run cases in a worker process (the default) or in this process.

The worker shields the pytest process: a segfault, a heap corrupted by a stray store, a CUDA error
that poisons the context, learner code that exits the process, or a kernel that never returns fails
only its own case (and the rest of its level). The worker is restarted after a crash, and killed
after the time limit.

Protocol (see worker.py): one JSON request per line on the worker's stdin, one JSON result per line
on a pipe of its own. The learner's prints go to the worker's stdout/stderr, which are a temporary
file here, so no print can ever be mistaken for a result.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Protocol

from .levels.base import Level
from .model import CRASHED, FAILED, TIMED_OUT, Case, CaseResult, Mode
from .paths import kata_line
from .registry import LevelRef
from .sanitizer import LAUNCH_LOG_VARIABLE, OFF, LaunchedTensor, SanitizerPlan, explain_log, read_launch_log
from .worker import WRAPPED_VARIABLE


class Runner(Protocol):
    def run(self, level: Level, case: Case, kata_path: Path) -> tuple[CaseResult, str]: ...

    def close(self) -> None: ...


class InProcessRunner:
    """No isolation: faster to start and debuggable with pdb, but a crash takes pytest with it."""

    def __init__(self, mode: Mode, pictures: bool = False) -> None:
        self.mode = mode
        self.pictures = pictures

    def run(self, level: Level, case: Case, kata_path: Path) -> tuple[CaseResult, str]:
        from .checking import check_case  # imports the guard, only when cases run here
        from .compat import take_notes

        result = check_case(level, case, kata_path, self.mode, pictures=self.pictures)
        result.notes.extend(take_notes())
        return result, ""

    def close(self) -> None:
        pass


STARTUP_TIMEOUT_S = 120.0  # importing torch and triton on a cold, busy machine
NOTICE_AFTER_S = 10.0  # a case still running after this long gets a line on the terminal: never silent
STOP_TIMEOUT_S = 5.0  # a worker asked to stop (stdin closed) gets this long before it is killed
# The learner's output shown with a case: its head and its tail, so a print in a loop cannot flood
# the report (or this process's memory).
OUTPUT_HEAD_CHARS = 4_000
OUTPUT_TAIL_CHARS = 8_000

# What a signal that ends the worker most likely means, in the learner's terms.
SIGNAL_MEANINGS = {
    "SIGSEGV": "segmentation fault",
    "SIGBUS": "bus error",
    "SIGABRT": "aborted, often a corrupted heap",
    "SIGILL": "illegal instruction",
    "SIGFPE": "arithmetic error",
}


class WorkerStartError(Exception):
    pass


class _Worker:
    def __init__(self, sanitizer: SanitizerPlan = OFF) -> None:
        read_end, write_end = os.pipe()
        self.log = tempfile.TemporaryFile(mode="w+b")
        self.sanitizer_log: Path | None = None
        self.sanitizer_text = ""  # the sanitizer's log, read once the worker has stopped
        self.launch_log: Path | None = None
        self.launch_rows: list[list] = []  # the last call's launched tensors (see sanitizer.LaunchLog)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if sanitizer.tool is not None:
            handle, name = tempfile.mkstemp(prefix="triton-quest-memcheck-", suffix=".log")
            os.close(handle)
            self.sanitizer_log = Path(name)
            handle, name = tempfile.mkstemp(prefix="triton-quest-launches-", suffix=".jsonl")
            os.close(handle)
            self.launch_log = Path(name)
            env[LAUNCH_LOG_VARIABLE] = name
            env.update(sanitizer.env)
            env[WRAPPED_VARIABLE] = "1"
        command = [*sanitizer.command(self.sanitizer_log or Path(os.devnull)), sys.executable, "-m", "pytest_triton_quest.worker"]
        try:
            self.process = subprocess.Popen(
                [*command, str(write_end), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_end,),
                start_new_session=True,  # its own process group, so a kill reaches kernels' children too
                env=env,
            )
        except OSError as error:
            os.close(read_end)
            os.close(write_end)
            self.log.close()
            self._remove_sanitizer_log()
            raise WorkerStartError(f"{command[0]} could not be started ({error})") from None
        os.close(write_end)
        self.results_fd = read_end
        self._buffer = b""
        self.closed = False  # the worker closed its end of the results pipe: it exited or died
        self.log_offset = 0
        self.pid = self.process.pid  # the worker's own pid, from its first message (a wrapper's differs)
        ready = self.receive(STARTUP_TIMEOUT_S)
        if ready is not None:
            try:
                self.pid = int(json.loads(ready).get("pid", self.pid))
            except (ValueError, TypeError, AttributeError):
                pass
        if ready is None:
            timed_out = not self.closed
            if self.closed:
                self.wait_for_exit()
            self.kill()
            output = self.new_output().strip()
            self.stop()
            reason = f"no sign of life after {STARTUP_TIMEOUT_S:g} s" if timed_out else _exit_reason(self.process.returncode)
            raise WorkerStartError(output[-2000:] or self.sanitizer_text[-2000:] or reason)

    def send(self, request: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()

    def receive(self, timeout_s: float) -> str | None:
        """One result line, or None if the worker died (then `closed` is set) or the time ran out.

        Reads the raw pipe with its own buffer, so that select() never waits on bytes that a
        buffered reader already holds, and a half-written line is never taken for a whole one."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                ready, _, _ = select.select([self.results_fd], [], [], remaining)
            except InterruptedError:  # pragma: no cover - retried by Python since 3.5
                continue
            if not ready:
                continue
            chunk = os.read(self.results_fd, 65536)
            if not chunk:
                self.closed = True
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", errors="replace")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and not self.closed

    def _log_size(self) -> int:
        return os.fstat(self.log.fileno()).st_size

    def _log_text(self, offset: int, size: int) -> str:
        # pread: the worker writes through the same open file, so this side must never move its offset.
        return os.pread(self.log.fileno(), size, offset).decode("utf-8", errors="replace")

    def new_output(self) -> str:
        """What the worker printed since the last call, shortened to its head and tail."""
        if self.log.closed:
            return ""
        end = self._log_size()
        size = end - self.log_offset
        if size <= OUTPUT_HEAD_CHARS + OUTPUT_TAIL_CHARS:
            text = self._log_text(self.log_offset, size)
        else:
            head = self._log_text(self.log_offset, OUTPUT_HEAD_CHARS)
            tail = self._log_text(end - OUTPUT_TAIL_CHARS, OUTPUT_TAIL_CHARS)
            omitted = size - OUTPUT_HEAD_CHARS - OUTPUT_TAIL_CHARS
            text = f"{head}\n[... {omitted} bytes of output left out ...]\n{tail}"
        self.log_offset = end
        return text

    def dump_stack(self, wait_s: float = 2.0) -> None:
        """Ask a live worker to print its Python stack (faulthandler, SIGUSR1) into the log."""
        if not hasattr(signal, "SIGUSR1") or self.process.poll() is not None:
            return
        before = self._log_size()
        try:
            os.kill(self.pid, signal.SIGUSR1)
        except OSError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self._log_size() > before:
                time.sleep(0.1)  # let the rest of the dump land
                return

    def wait_for_exit(self) -> None:
        """The pipe closes as the process dies, a moment before it can be reaped: wait for the exit
        status, which tells a signal from an exit."""
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass

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
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        if self.results_fd >= 0:
            os.close(self.results_fd)
            self.results_fd = -1
        self.log.close()
        if self.sanitizer_log is not None:
            try:
                self.sanitizer_text = self.sanitizer_log.read_text(encoding="utf-8", errors="replace")
            except OSError:
                pass
        if self.launch_log is not None:
            self.launch_rows = read_launch_log(self.launch_log)
        self._remove_sanitizer_log()

    def _remove_sanitizer_log(self) -> None:
        for path in (self.sanitizer_log, self.launch_log):
            if path is not None:
                path.unlink(missing_ok=True)
        self.sanitizer_log = self.launch_log = None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "the worker stopped answering"
    if returncode < 0:
        name = _signal_name(-returncode)
        meaning = SIGNAL_MEANINGS.get(name)
        return f"killed by {name}" + (f" ({meaning})" if meaning else "")
    return f"the process exited with code {returncode}"


def _where(level: Level, case: Case) -> str:
    return f"level {level.number}, case {case.id}"


_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?: in (\S+))?')
# Where faulthandler's report starts in the worker's log: after it, nothing is the learner's.
_STACK_START = re.compile(r"^(Fatal Python error: |Current thread 0x|Thread 0x|Stack \(most recent call first\):)", re.M)


def _frames(stack: str) -> list[tuple[str, int, str]]:
    """(file, line, function) of each frame of a faulthandler dump, innermost first."""
    return [(match.group(1), int(match.group(2)), match.group(3) or "") for match in _FRAME.finditer(stack)]


def _crash_site(output: str, kata_path: Path) -> str | None:
    """`file:line` of the kata line that was running when the worker died or was stopped, from
    faulthandler's stack dump (innermost frame first, so it is read backwards)."""
    return kata_line(reversed([(file, line) for file, line, _ in _frames(output)]), kata_path)


def split_stack(output: str) -> tuple[str, str]:
    """The worker's log cut in two: the learner's own prints, then faulthandler's stack dump."""
    match = _STACK_START.search(output)
    if match is None:
        return output, ""
    return output[: match.start()], output[match.start() :]


# What the worker was doing when it was stopped, read from its stack (innermost frame first).
COMPILING = "compiling"
AUTOTUNING = "autotuning"
RUNNING = "running"


def _compiles(file: str) -> bool:
    """A file of Triton's compiler: the frontend, a backend's compiler (ptxas, ...), or the build of
    the launcher. Not a backend's driver.py: the launch of a compiled kernel goes through it."""
    in_backend = "/triton/backends/" in file and file.endswith("/compiler.py")
    return "/triton/compiler/" in file or in_backend or file.endswith("/triton/runtime/build.py")


def stopped_while(stack: str) -> str | None:
    """Which of Triton's phases the stack shows, or None when it shows none of them.

    Compiling: a frame of Triton's compiler, its backends or its launcher build. Autotuning: a frame of
    the autotuner, which compiles and times every config. Running: the interpreter executing a kernel,
    or the host waiting for the GPU (a compiled kernel runs asynchronously until a synchronize)."""
    frames = [(file.replace("\\", "/"), function) for file, _, function in _frames(stack)]
    if any(_compiles(file) for file, _ in frames):
        return COMPILING
    if any(file.endswith("/triton/runtime/autotuner.py") for file, _ in frames):
        return AUTOTUNING
    if any(file.endswith("/triton/runtime/interpreter.py") for file, _ in frames):
        return RUNNING
    if any(function == "synchronize" and "/torch/cuda/" in file for file, function in frames):
        return RUNNING
    return None


def crash_result(level: Level, case: Case, returncode: int | None, site: str | None = None) -> CaseResult:
    """The verdict for a worker that died while running a case (`site`: the kata line, if known)."""
    where = _where(level, case)
    if returncode is not None and returncode < 0 and _signal_name(-returncode) == "SIGKILL":
        message = (
            f"{where}: the process running your kernel was killed (SIGKILL), often because memory ran out: "
            "check the sizes you allocate and the loop bounds"
        )
    elif returncode is not None and returncode >= 0:
        message = (
            f"{where}: the process running your function exited (code {returncode}) before answering: "
            "a kata must return its result, never call sys.exit() or os._exit()"
        )
    else:
        at = f" at {site}" if site else ""
        message = f"{where}: the kernel crashed{at}: {_exit_reason(returncode)}; likely an out-of-bounds access: check the masks"
    return CaseResult(CRASHED, message, stops_level=True)


MORE_TIME = "allow more time with --quest-timeout SECONDS"


def timeout_result(level: Level, case: Case, timeout_s: float, site: str | None = None, phase: str | None = None) -> CaseResult:
    """The verdict for a case stopped at the time limit; `phase` is what its stack showed it doing
    (see `stopped_while`), and only a kernel seen running is called a likely endless loop."""
    where = f"{_where(level, case)}: no answer after {timeout_s:g} s"
    at = f" at {site}" if site else ""
    if phase == COMPILING:
        message = (
            f"{where}: Triton was still compiling the kernel{at}, so the case was stopped; large blocks or many "
            f"autotune configs can take longer than that to compile: try smaller BLOCK sizes or fewer configs, or {MORE_TIME}"
        )
    elif phase == AUTOTUNING:
        message = (
            f"{where}: Triton was still autotuning{at} (compiling and timing each config of @triton.autotune), "
            f"so the case was stopped; try fewer configs, or {MORE_TIME}"
        )
    elif phase == RUNNING:
        message = (
            f"{where}, so the kernel was stopped{at}; "
            "likely an endless loop (check the loop bounds and that the loop variable advances)"
        )
    else:  # the stack shows no kernel at work: say where it was, not why
        message = f"{where}, so the case was stopped{at}; if it is only slow, {MORE_TIME}"
    return CaseResult(TIMED_OUT, message, stops_level=True)


class IsolatedRunner:
    """`say` prints one line on the learner's terminal (while a case runs long); `verbose` (pytest -v)
    keeps the worker's Python stack in the output of a case that crashed or was stopped."""

    def __init__(
        self,
        mode: Mode,
        timeout_s: float,
        say: Callable[[str], None] | None = None,
        verbose: bool = False,
        sanitizer: SanitizerPlan = OFF,
        pictures: bool = False,
    ) -> None:
        self.mode = mode
        self.timeout_s = timeout_s
        self.say = say
        self.verbose = verbose
        self.sanitizer = sanitizer
        self.pictures = pictures  # --quest-picture: the worker records what the pictures need
        self._worker: _Worker | None = None

    def run(self, level: Level, case: Case, kata_path: Path) -> tuple[CaseResult, str]:
        if self._worker is None or not self._worker.alive:
            try:
                self._replace_worker()
            except WorkerStartError as error:
                message = f"{_where(level, case)}: the quest's worker process could not start:\n{error}"
                return CaseResult(FAILED, message, stops_level=True), ""
        worker = self._worker
        assert worker is not None
        request = {
            "level": vars(LevelRef.of(level)),
            "case": case.id,
            "kata": str(kata_path),
            "mode": {"device": self.mode.device, "interpreted": self.mode.interpreted, "reason": self.mode.reason},
            "pictures": self.pictures,
        }
        started = time.monotonic()
        try:
            worker.send(request)
            line = self._answer(worker, level, case)
        except OSError:  # BrokenPipeError: the worker died before reading the request
            worker.closed = True
            line = None
        if line is not None:
            result = _parse_result(line)
            if result is not None:
                if result.outcome in (CRASHED, TIMED_OUT) and not result.message.startswith(_where(level, case)):
                    result.message = f"{_where(level, case)}: {result.message}"  # a CUDA error, say
                output = worker.new_output()
                if result.process_poisoned:
                    # The next case gets a fresh worker with a clean CUDA context; the sanitizer's
                    # log is complete once this one has exited.
                    result = _with_sanitizer_report(result, self._retire_worker(), kata_path)
                    output = without_native_frames(output)
                return result, output
            # Not a result: the protocol is broken, and this worker cannot be trusted any more.
            worker.kill()
            output = worker.new_output()
            self._retire_worker()
            result = CaseResult(
                CRASHED, f"{_where(level, case)}: the worker process sent a garbled answer: {line[:200]!r}", stops_level=True
            )
            result.duration_s = time.monotonic() - started
            return result, output
        elapsed = time.monotonic() - started
        timed_out = not worker.closed
        if worker.closed:
            worker.wait_for_exit()
        prints = ""
        if timed_out:
            prints = worker.new_output()  # the learner's, before the stack dump lands in the same log
            worker.dump_stack()
        returncode = worker.process.poll()  # None: it closed the pipe but lives on; stopped below
        worker.kill()
        rest, stack = split_stack(worker.new_output())
        prints += rest
        logged = self._retire_worker()
        site = _crash_site(stack, kata_path)
        if self.sanitizer.tool is not None and returncode is not None and 0 < returncode < 64 and stack.startswith("Fatal Python error"):
            returncode = -returncode  # compute-sanitizer exits with the number of the signal that killed its target
        if timed_out:
            result = timeout_result(level, case, self.timeout_s, site, stopped_while(stack))
        else:
            result = _with_sanitizer_report(crash_result(level, case, returncode, site), logged, kata_path)
            prints = without_native_frames(prints)
        result.duration_s = elapsed
        if self.verbose and stack:
            prints += f"\n--- the worker's Python stack when it {'was stopped' if timed_out else 'died'} ---\n{stack}"
        return result, prints

    def _answer(self, worker: _Worker, level: Level, case: Case) -> str | None:
        """The worker's answer within the time limit; a case still running after NOTICE_AFTER_S gets
        one line on the terminal, so a long wait is never silent."""
        if self.say is None or self.timeout_s <= NOTICE_AFTER_S:
            return worker.receive(self.timeout_s)
        line = worker.receive(NOTICE_AFTER_S)
        if line is not None or worker.closed:
            return line
        self.say(
            f"triton-quest: {_where(level, case)} is still running after {NOTICE_AFTER_S:g} s "
            f"(the limit is {self.timeout_s:g} s: --quest-timeout SECONDS changes it; Ctrl-C stops the run)"
        )
        return worker.receive(self.timeout_s - NOTICE_AFTER_S)

    def _replace_worker(self) -> None:
        self._retire_worker()
        self._worker = _Worker(self.sanitizer)  # may raise WorkerStartError

    def _retire_worker(self) -> tuple[str, list[list]]:
        """Stop the worker; returns what its sanitizer logged ("" when it ran unwrapped) and the
        tensors its last call's launches were given."""
        if self._worker is None:
            return "", []
        self._worker.stop()
        logged = self._worker.sanitizer_text, self._worker.launch_rows
        self._worker = None
        return logged

    def close(self) -> None:
        self._retire_worker()


_NATIVE_FRAME = re.compile(r"^(frame #\d+: |Exception raised from )")


def without_native_frames(output: str) -> str:
    """The output without PyTorch's C++ backtrace of a CUDA error: dozens of `frame #N:` lines that
    say nothing to a learner (the report already says what happened)."""
    return "\n".join(line for line in output.splitlines() if not _NATIVE_FRAME.match(line))


def _with_sanitizer_report(result: CaseResult, logged: tuple[str, list[list]], kata_path: Path) -> CaseResult:
    """A crashed case whose sanitizer log shows a bad memory access becomes the out-of-bounds report
    the CPU guard would have given; any other result is returned as it is. `logged`: the sanitizer's
    log and the launch log's rows (the tensors the call's launches were given)."""
    sanitizer_log, launch_rows = logged
    if not sanitizer_log:
        return result
    tensors = [LaunchedTensor.from_list(row) for row in launch_rows]
    report = explain_log(sanitizer_log, tensors, kata_path)
    if report is None:
        return result
    return CaseResult(FAILED, report, stops_level=True, duration_s=result.duration_s)


def _parse_result(line: str) -> CaseResult | None:
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            return None
        return CaseResult.from_dict(data)
    except (ValueError, TypeError):
        return None
