"""A child process that runs cases, so a crashing or hanging kernel takes down only itself.

Protocol: one JSON request per line on stdin, one JSON result per line on the file descriptor given
as the first argument (the second is the parent's pid: the worker dies with its parent). The
learner's prints go to stdout/stderr, which the parent captures to a file.

The learner's code must not be able to disturb the protocol: before anything else runs, the requests
move to a private descriptor and stdin becomes /dev/null (so `input()` fails fast instead of eating a
request or waiting forever), and the results descriptor is not inherited by the learner's
subprocesses. A `sys.exit()` in the learner's function fails its case and the worker carries on.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, TextIO

# Set by the parent when a tool such as compute-sanitizer starts this worker.
WRAPPED_VARIABLE = "TRITON_QUEST_WRAPPED"
# For maintainers: a folder where each case's cProfile statistics are written (LEVEL-CASE.prof), to
# find where a slow case spends its time (checks, diagnosis, the sanitizer's cost per launch).
PROFILE_VARIABLE = "TRITON_QUEST_PROFILE_DIR"


def _private_streams(results_fd: int) -> tuple[TextIO, TextIO]:
    """The request and result streams, out of reach of the learner's prints and reads."""
    requests_fd = os.dup(0)
    os.set_inheritable(requests_fd, False)
    os.set_inheritable(results_fd, False)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(0, "r", encoding="utf-8", closefd=False)  # /dev/null now
    requests = os.fdopen(requests_fd, "r", encoding="utf-8")
    results = os.fdopen(results_fd, "w", encoding="utf-8", buffering=1)
    return requests, results


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent(parent: int, wrapped: bool = False) -> bool:
    """End this worker when pytest goes away (killed, terminal closed), so a hanging kernel never
    lives on as an orphan. Returns whether a watchdog thread was needed.

    `wrapped`: a tool (compute-sanitizer) started this process, so pytest is not its parent and the
    parent-death signal would watch the wrong process: a thread watches pytest's pid instead."""
    still_there: Callable[[], bool] = lambda: _alive(parent)
    if not wrapped:
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG: the kernel does it
                    if os.getppid() != parent:
                        os._exit(1)  # the parent died before the request took effect
                    return False
            except (OSError, AttributeError):
                pass
        still_there = lambda: os.getppid() == parent  # noqa: E731 - reparented: the parent is gone

    def watch() -> None:
        while still_there():
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="triton-quest-parent-watch", daemon=True).start()
    return True


def handle(request: dict[str, Any]) -> Any:
    from .checking import check_case
    from .model import Mode
    from .registry import LevelRef

    from .compat import take_notes

    mode = Mode(**request["mode"])
    level = LevelRef(**request["level"]).load()
    case = level.case_by_id(request["case"], mode)
    result = check_case(level, case, Path(request["kata"]), mode, pictures=bool(request.get("pictures")))
    result.notes.extend(take_notes())
    return result


def _kata_line(error: BaseException, kata: str) -> str:
    """`file:line` of the deepest frame of the kata file in the error's traceback, or the file."""
    from .paths import shown, traceback_kata_line

    return traceback_kata_line(error.__traceback__, Path(kata)) or shown(kata)


def _where(request: dict[str, Any]) -> str:
    qualname = str(request.get("level", {}).get("qualname", "?"))
    return f"case {request.get('case', '?')} of {qualname}"


def _result_for(request: dict[str, Any]) -> Any:
    from .checking import is_cuda_error
    from .model import CRASHED, FAILED, CaseResult

    try:
        return handle(request)
    except SystemExit as error:
        # The learner's function called sys.exit() (or exit()/quit()): fail the case, keep the worker.
        where = _kata_line(error, str(request.get("kata", "")))
        code = "" if error.code is None else repr(error.code)
        return CaseResult(
            FAILED,
            f"{where}: your function called sys.exit({code}): a kata must return its result, not exit",
        )
    except KeyboardInterrupt as error:
        where = _kata_line(error, str(request.get("kata", "")))
        return CaseResult(FAILED, f"{where}: your function raised KeyboardInterrupt")
    except Exception as error:  # noqa: BLE001 - a fault in a level definition, not in the learner's code
        if is_cuda_error(error):
            # Raised outside the learner's call (while reading the output back, say): the context
            # is poisoned all the same, so this worker must go.
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            return CaseResult(
                CRASHED,
                f"the kernel crashed: {first}; likely an out-of-bounds access: check the masks",
                stops_level=True,
                process_poisoned=True,
            )
        return CaseResult(
            FAILED,
            f"internal error in the quest while checking {_where(request)}:\n" + traceback.format_exc(limit=4),
        )


def _profiled(request: dict[str, Any], folder: str) -> Any:
    import cProfile
    import re

    profile = cProfile.Profile()
    result = profile.runcall(_result_for, request)
    level = str(request.get("level", {}).get("qualname", "level")).rsplit(".", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{level}-{request.get('case', 'case')}")
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(str(Path(folder) / f"{name}.prof"))
    except OSError:
        pass  # a maintainer's aid: never the reason a case fails
    return result


def _encode(result: Any) -> str:
    from .model import FAILED, CaseResult

    try:
        return json.dumps(result.to_dict())
    except (TypeError, ValueError) as error:
        fallback = CaseResult(FAILED, f"internal error in the quest: the result could not be sent ({error})")
        return json.dumps(fallback.to_dict())


def main() -> int:
    requests, results = _private_streams(int(sys.argv[1]))
    wrapped = os.environ.get(WRAPPED_VARIABLE) == "1"
    threaded = len(sys.argv) > 2 and _die_with_parent(int(sys.argv[2]), wrapped)
    # On a fatal signal, print the Python stack to stderr (the captured log): the parent shows it and
    # names the kata line that was running when the process died.
    faulthandler.enable(all_threads=threaded)
    if hasattr(signal, "SIGUSR1"):
        # The parent's "where are you?" before it stops a case that ran out of time.
        faulthandler.register(signal.SIGUSR1, all_threads=threaded)
    # Import the engine, torch and triton before saying "ready": the time limits start counting then,
    # so a slow import on a busy machine is never taken for a hanging kernel.
    from . import checking  # noqa: F401
    import torch  # noqa: F401
    import triton  # noqa: F401

    # The pid: under a wrapper the parent's Popen knows only the wrapper's, and "where are you?"
    # must reach this process.
    results.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    profile_dir = os.environ.get(PROFILE_VARIABLE, "")
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        result = _profiled(request, profile_dir) if profile_dir else _result_for(request)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()  # this case's prints land in the log before its answer
            except Exception:  # noqa: BLE001 - the learner may have closed or replaced the stream
                pass
        results.write(_encode(result) + "\n")
        results.flush()
        if result.process_poisoned:
            return 0  # a CUDA error poisons this process's context: the parent starts a fresh worker
    return 0


if __name__ == "__main__":
    sys.exit(main())
