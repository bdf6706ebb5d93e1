"""A learner's mistakes never crash the quest or lose their work (issue 4).

Everything here is real: a kernel that kills its process with a true SIGSEGV, kernels that never
finish, kata files that are broken in every way a learner manages, state files that are damaged, and
several processes writing progress at once. Each run pairs the broken level with correct levels, and
checks that those still pass and that their progress is recorded.

Runtime: about two and a half minutes on two CPU cores, most of it one test that waits out the
default 60-second time limit (the acceptance criterion); every other test uses a short limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support import SOLUTIONS, QuestProject
from tests.mutants import level_module

from pytest_triton_quest import loading
from pytest_triton_quest.model import Mode
from pytest_triton_quest.progress import SCHEMA, LevelProgress, Progress, ProgressStore
from pytest_triton_quest.registry import level_by_number

ROBUSTNESS_KATAS = Path(__file__).resolve().parent / "robustness_katas"
REPO = Path(__file__).resolve().parent.parent


def _available(number: int) -> bool:
    return level_by_number(number) is not None and any(SOLUTIONS.glob(f"level{number}_*.py"))


# The correct levels checked beside a broken level 1: the acceptance criteria name levels 2 and 3;
# levels 4 and 5 stand in where those are not written yet.
GOOD = (2, 3) if _available(2) and _available(3) else (4, 5)
# A second broken level in the same run, after the good ones. Its misbehaviour happens before the
# real kernel would run, so it costs no interpreter time.
OTHER = 6


def _mode() -> Mode:
    # Case counts depend on the mode; these tests run wherever the suite runs (CPU in CI).
    from pytest_triton_quest.device import detect_mode

    return detect_mode("auto")


def cases(number: int) -> int:
    level = level_by_number(number)
    assert level is not None
    return len(level.cases(_mode()))


def state(project: QuestProject) -> dict:
    return json.loads(project.state_path.read_text())


def passed_levels(project: QuestProject) -> set[int]:
    return {int(key) for key, entry in state(project)["levels"].items() if entry.get("passed_at")}


def wrapped_solution(project: QuestProject, number: int, before: str = "", after: str = "") -> Path:
    """The reference solution of a level whose public function runs `before` ahead of the real call
    and `after` once it returned (`_result` holds the output). Works for any level, so the tests do
    not depend on what a level computes."""
    level = level_by_number(number)
    assert level is not None
    source = next(SOLUTIONS.glob(f"level{number}_*.py")).read_text()
    name = level.function
    body = [f"def {name}(*args, **kwargs):"]
    body += ["    " + line for line in textwrap.dedent(before).strip().splitlines()]
    body += [f"    _result = _original_{name}(*args, **kwargs)"]
    body += ["    " + line for line in textwrap.dedent(after).strip().splitlines()]
    body += ["    return _result"]
    code = f"{source}\n\n_original_{name} = {name}\n\n\n" + "\n".join(body) + "\n"
    target = project.katas / level.kata_file
    target.write_text(code)
    return target


def kata_line(path: Path, marker: str) -> int:
    """The line of `path` that contains `marker`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def add_good_levels(project: QuestProject) -> None:
    for number in GOOD:
        project.solution(number)


def assert_good_levels_passed(project: QuestProject, result: pytest.RunResult) -> None:
    for number in GOOD:
        level = level_by_number(number)
        assert level is not None
        result.stdout.fnmatch_lines([f"{level.title}: all {cases(number)} checks passed."])
    assert set(GOOD) <= passed_levels(project)



@pytest.fixture
def project(project: QuestProject) -> QuestProject:
    """These tests are about the worker process, so checks run in it, as in a learner's run."""
    project.configure("process")
    return project

# ----- crashes ------------------------------------------------------------------------------------
def test_an_unmasked_store_fails_level_1_and_the_other_levels_pass(project: QuestProject) -> None:
    """Acceptance: level 1 with an unmasked out-of-bounds store, checked with correct levels."""
    mutant = next(m for m in level_module(1).MUTANTS if m.name == "store_unmasked")
    solution = SOLUTIONS / "level1_vector_add.py"
    (project.katas / "level1_vector_add.py").write_text(mutant.apply(solution.read_text(), str(solution)))
    add_good_levels(project)
    result = project.pytester.runpytest("--unlock-all")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*out-of-bounds store in kernel `add_kernel`*",
            "*Mask the store with offsets < n.*",
            "Level 1, Vector Add: * checks passed, * failed.",
            "*likely: the store of `out_ptr` runs without a mask of offsets < n*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    assert_good_levels_passed(project, result)
    assert 1 not in passed_levels(project)
    assert state(project)["levels"]["1"]["attempts"] == 1


def test_a_kernel_that_kills_its_process_fails_only_its_own_level(project: QuestProject) -> None:
    """A real SIGSEGV in level 1, a learner's os._exit() in a later level: the session survives,
    the levels in between pass, and earlier progress in the state file is untouched."""
    kata = project.add(ROBUSTNESS_KATAS / "level1_wild_store.py", "level1_vector_add.py")
    add_good_levels(project)
    wrapped_solution(project, OTHER, before="import os\nos._exit(3)")
    earlier = Progress()
    earlier.level(8).hints_revealed = 2
    ProgressStore(project.state_path).save(earlier)

    result = project.pytester.runpytest("--unlock-all")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    line = kata_line(kata, "ctypes.memset(")
    crash = (
        f"level 1, case {level_by_number(1).cases(_mode())[0].id}: the kernel crashed at "
        f"katas/level1_vector_add.py:{line}: killed by SIGSEGV (segmentation fault); "
        "likely an out-of-bounds access: check the masks"
    )
    result.stdout.fnmatch_lines([crash, f"  {crash}; the rest of the level was not run."])
    result.stdout.fnmatch_lines(["*exited (code 3) before answering: a kata must return its result, never call sys.exit() or os._exit()*"])
    outcomes = result.parseoutcomes()
    # Level 1 and level OTHER each fail once; the rest of their cases are reported as not run.
    assert outcomes["failed"] == 2
    assert outcomes["skipped"] == cases(1) - 1 + cases(OTHER) - 1
    assert outcomes["passed"] == sum(cases(number) for number in GOOD)
    assert_good_levels_passed(project, result)
    saved = state(project)["levels"]
    assert saved["8"]["hints_revealed"] == 2
    assert saved["1"]["attempts"] == 1 and saved["1"]["passed_at"] is None
    assert saved[str(OTHER)]["attempts"] == 1 and saved[str(OTHER)]["passed_at"] is None


@pytest.mark.skipif(not os.path.exists("/dev/nvidiactl"), reason="needs a CUDA GPU")
def test_on_a_gpu_an_illegal_address_fails_its_level_and_later_levels_still_run(project: QuestProject) -> None:
    """A compiled kernel storing far outside its tensor poisons the CUDA context; the worker that
    saw it is replaced, so the levels after it run in a fresh context."""
    pytest.importorskip("torch")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    project.add(ROBUSTNESS_KATAS / "level1_illegal_address.py", "level1_vector_add.py")
    add_good_levels(project)
    result = project.pytester.runpytest("--unlock-all", "--quest-device", "cuda")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*level 1, case *: the kernel crashed*; likely an out-of-bounds access: check the masks*"])
    result.stdout.fnmatch_lines(["*illegal memory access*"])
    assert_good_levels_passed(project, result)


# ----- hangs --------------------------------------------------------------------------------------
def test_hanging_functions_are_stopped_at_the_time_limit(project: QuestProject) -> None:
    """Level 1 sleeps forever after launching its kernel; a later kata never finishes importing.
    Both are stopped after --quest-timeout with a message naming level and case."""
    kata = wrapped_solution(project, 1, after="import time\ntime.sleep(10**6)  # never returns")
    add_good_levels(project)
    other = project.solution(OTHER)
    other.write_text(other.read_text() + "\n\nwhile True:  # never finishes importing\n    pass\n")

    limit = "5" if not _mode().on_gpu else "20"  # compiling the good levels' kernels takes seconds on a GPU
    started = time.monotonic()
    result = project.pytester.runpytest("--unlock-all", "--quest-timeout", limit)
    elapsed = time.monotonic() - started

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    first = level_by_number(1).cases(_mode())[0].id
    first_other = level_by_number(OTHER).cases(_mode())[0].id
    line = kata_line(kata, "time.sleep(10**6)")
    # No kernel was at work, so no cause is named: only where it was, and how to allow more time.
    result.stdout.fnmatch_lines(
        [
            f"level 1, case {first}: no answer after {limit} s, so the case was stopped at katas/level1_vector_add.py:{line}; "
            "if it is only slow, allow more time with --quest-timeout SECONDS"
        ]
    )
    result.stdout.fnmatch_lines([f"level {OTHER}, case {first_other}: no answer after {limit} s, so the case was stopped at *"])
    result.stdout.no_fnmatch_line("*endless loop*")
    assert result.parseoutcomes()["failed"] == 2
    assert_good_levels_passed(project, result)
    assert elapsed < 2 * float(limit) + 75, f"two {limit}-second time limits took {elapsed:.0f} s"


def test_a_kernel_that_never_ends_is_stopped_within_two_minutes_by_default(project: QuestProject) -> None:
    """Acceptance, default settings: a kernel whose loop never advances, then correct levels."""
    if _mode().on_gpu:
        pytest.skip("the default limit on a GPU is 180 s: this acceptance check is for the CPU")
    kata = project.add(ROBUSTNESS_KATAS / "level1_spins_forever.py", "level1_vector_add.py")
    kata.write_text(kata.read_text().replace("    out = torch.empty_like(x)\n", "    out = torch.empty_like(x)\n    print('my own print')\n"))
    add_good_levels(project)

    started = time.monotonic()
    result = project.pytester.runpytest("--unlock-all")  # the default time limit
    elapsed = time.monotonic() - started

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    first = level_by_number(1).cases(_mode())[0].id
    # Issue 13: never silent. Ten seconds in, a line says which case is still running and the limit.
    result.stdout.fnmatch_lines(
        [
            f"triton-quest: level 1, case {first} is still running after 10 s "
            "(the limit is 60 s: --quest-timeout SECONDS changes it; Ctrl-C stops the run)",
            f"level 1, case {first}: no answer after 60 s, so the kernel was stopped at katas/level1_vector_add.py:*; likely an endless loop*",
        ]
    )
    # The report keeps the learner's print and shows no internal stack (pytest -v would add it).
    output = result.stdout.str()
    assert "my own print" in output
    assert "Stack (most recent call first)" not in output and "worker.py" not in output
    # The stack dump names a line inside the loop that never ends.
    stopped_at = int(result.stdout.str().split("stopped at katas/level1_vector_add.py:")[1].split(";")[0])
    loop = kata_line(kata, "while start < n:")
    assert loop <= stopped_at <= kata_line(kata, "start = start + 0")
    assert elapsed < 120, f"the hanging level was reported after {elapsed:.0f} s"
    assert_good_levels_passed(project, result)
    assert state(project)["levels"]["1"]["attempts"] == 1 and 1 not in passed_levels(project)


def _worker_of(parent: int) -> int | None:
    """The pid of the quest worker that `parent` started, if it runs."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"pytest_triton_quest.worker" in command and str(parent).encode() in command:
            return int(entry.name)
    return None


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended; only its exit status is left


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find the worker")
def test_a_hanging_worker_never_outlives_pytest(project: QuestProject) -> None:
    """pytest killed outright (closed terminal, kill -9) while a kernel spins: the worker goes too."""
    started = project.root / "kernel-started"
    kata = project.add(ROBUSTNESS_KATAS / "level1_spins_forever.py", "level1_vector_add.py")
    kata.write_text(
        kata.read_text()
        + f"\n\n_spin = vector_add\n\n\ndef vector_add(x, y):\n    open({str(started)!r}, 'w').close()\n    return _spin(x, y)\n"
    )
    pytest_process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--level", "1", "--quest-timeout", "600", "-p", "no:cacheprovider"],
        cwd=project.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and pytest_process.poll() is None:
            time.sleep(0.2)
        assert started.exists(), "the kernel never started"
        time.sleep(0.5)  # well inside the endless loop now
        worker = _worker_of(pytest_process.pid)
        assert worker is not None and _running(worker)
    finally:
        pytest_process.kill()
        pytest_process.wait()
    deadline = time.monotonic() + 15
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(worker), "the worker lived on after pytest was killed"


def test_crash_messages_say_what_happened() -> None:
    from pytest_triton_quest.runner import _crash_site, _parse_result, crash_result, timeout_result

    level = level_by_number(1)
    assert level is not None
    case = level.cases(Mode("cpu", True))[0]
    where = f"level 1, case {case.id}"
    assert crash_result(level, case, -11).message == (
        f"{where}: the kernel crashed: killed by SIGSEGV (segmentation fault); likely an out-of-bounds access: check the masks"
    )
    assert "aborted, often a corrupted heap" in crash_result(level, case, -6, "k.py:3").message
    assert "crashed at k.py:3" in crash_result(level, case, -6, "k.py:3").message
    assert "killed (SIGKILL), often because memory ran out" in crash_result(level, case, -9).message
    assert "exited (code 0) before answering" in crash_result(level, case, 0).message
    assert timeout_result(level, case, 2.5).message == f"{where}: no answer after 2.5 s, so the case was stopped; if it is only slow, allow more time with --quest-timeout SECONDS"
    kata = REPO / "katas" / "level1_vector_add.py"
    dump = f'Stack (most recent call first):\n  File "/x/triton/core.py", line 9 in f\n  File "{kata}", line 42 in add_kernel\n  File "{kata}", line 50 in vector_add\n'
    assert _crash_site(dump, kata) is not None and _crash_site(dump, kata).endswith("level1_vector_add.py:42")
    assert _crash_site("no stack here", kata) is None
    for garbage in ["", "not json", "[1, 2]", '{"outcome": "passed", "unknown": 1}', '"passed"']:
        assert _parse_result(garbage) is None


def _dump(*frames: tuple[str, str]) -> str:
    """A faulthandler stack dump (innermost frame first) of (file, function) frames."""
    return "Stack (most recent call first):\n" + "".join(f'  File "{file}", line 7 in {function}\n' for file, function in frames)


SITE = "/venv/lib/python3.11/site-packages"
KATA_FRAMES = (("/p/katas/level3_softmax.py", "softmax"), (f"{SITE}/pytest_triton_quest/checking.py", "_call"))


@pytest.mark.parametrize(
    ("innermost", "phase", "said", "not_said"),
    [
        # Issue 13: a GPU softmax compiling and autotuning six configs of a 131072-wide block was
        # reported as "likely an endless loop"; it has no loop. These frames are those of a real dump
        # taken 4 s into compiling and autotuning such a softmax (H200, triton 3.6.0): ptxas running.
        (
            [("/usr/lib/python3.12/subprocess.py", "_try_wait"), ("/usr/lib/python3.12/subprocess.py", "run"),
             (f"{SITE}/triton/backends/nvidia/compiler.py", "make_cubin"), (f"{SITE}/triton/backends/nvidia/compiler.py", "<lambda>"),
             (f"{SITE}/triton/compiler/compiler.py", "compile"), (f"{SITE}/triton/runtime/jit.py", "_do_compile"),
             (f"{SITE}/triton/runtime/jit.py", "run"), (f"{SITE}/triton/runtime/autotuner.py", "kernel_call"),
             (f"{SITE}/triton/testing.py", "do_bench"), (f"{SITE}/triton/runtime/autotuner.py", "_bench"),
             (f"{SITE}/triton/runtime/autotuner.py", "benchmark"), (f"{SITE}/triton/runtime/autotuner.py", "run")],
            "compiling",
            "Triton was still compiling the kernel at ",
            "endless loop",
        ),
        (
            [(f"{SITE}/torch/cuda/__init__.py", "synchronize"), (f"{SITE}/triton/testing.py", "do_bench"),
             (f"{SITE}/triton/runtime/autotuner.py", "_bench"), (f"{SITE}/triton/runtime/autotuner.py", "run")],
            "autotuning",
            "Triton was still autotuning at ",
            "endless loop",
        ),
        (
            [(f"{SITE}/triton/runtime/build.py", "_build"), (f"{SITE}/triton/backends/nvidia/driver.py", "__init__")],
            "compiling",
            "still compiling",
            "endless loop",
        ),
        # A compiled kernel that never ends: the host waits for it at the next synchronize.
        ([(f"{SITE}/torch/cuda/__init__.py", "synchronize")], "running", "likely an endless loop", "compiling"),
        ([(f"{SITE}/triton/runtime/interpreter.py", "__call__")], "running", "likely an endless loop", "compiling"),
        # Host code that sleeps or waits: where it was, and no cause.
        ([("/usr/lib/python3.11/time.py", "sleep")], None, "so the case was stopped at ", "likely"),
    ],
)
def test_a_time_out_names_what_the_stack_shows_and_nothing_more(
    innermost: list[tuple[str, str]], phase: str | None, said: str, not_said: str
) -> None:
    from pytest_triton_quest.runner import stopped_while, timeout_result

    level = level_by_number(3)
    assert level is not None
    stack = _dump(*innermost, *KATA_FRAMES)
    assert stopped_while(stack) == phase
    message = timeout_result(level, level.cases(Mode("cuda", False))[0], 180, "katas/level3_softmax.py:7", phase).message
    assert said in message and not_said not in message


def test_the_stack_dump_is_cut_from_the_learners_prints() -> None:
    from pytest_triton_quest.runner import split_stack

    prints = "step 1\nstep 2\n"
    fatal = 'Fatal Python error: Segmentation fault\n\nCurrent thread 0x00007f (most recent call first):\n  File "k.py", line 3 in f\n'
    assert split_stack(prints + fatal) == (prints, fatal)
    assert split_stack(prints + _dump(("k.py", "f"))) == (prints, _dump(("k.py", "f")))
    assert split_stack(prints) == (prints, "")


# ----- learner code that misbehaves in the worker --------------------------------------------------
NOISE = r'''
import os, sys
for i in range(1000):
    print(json.dumps({"outcome": "passed", "message": "a learner's print"}))
    print('{"outcome": "failed"}', file=sys.stderr)
os.write(1, b'{"ready": true}\n')
os.write(2, b"\x00\xff raw bytes\n")
try:
    input("a learner's prompt> ")
except EOFError:
    print("stdin is closed, as it should be")
'''


def test_prints_input_and_sys_exit_never_break_the_protocol(project: QuestProject) -> None:
    """Level 1 floods stdout and stderr with result-shaped JSON and reads stdin, then answers
    correctly: it passes. Level OTHER prints and calls sys.exit(): its cases fail, one line each,
    and the same worker goes on. A corrupt state file is kept as a backup and progress recorded."""
    wrapped_solution(project, 1, before="import json\n" + NOISE)
    add_good_levels(project)
    other = wrapped_solution(project, OTHER, before='import sys\nprint("x" * 100_000)\nsys.exit(2)')
    project.state_path.write_text('{"schema": 1, "levels": {"1": {"attempts": "many"}}}')

    result = project.pytester.runpytest("--unlock-all", "--quest-timeout", "30")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    line = kata_line(other, "sys.exit(2)")
    message = f"katas/{other.name}:{line}: your function called sys.exit(2): a kata must return its result, not exit"
    result.stdout.fnmatch_lines([message])
    result.stdout.fnmatch_lines(["*[[]... * bytes of output left out ...[]]*"])  # a long print is shortened
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == cases(OTHER)  # every case ran: sys.exit() did not end the worker
    assert outcomes["passed"] == cases(1) + sum(cases(number) for number in GOOD)
    result.stdout.no_fnmatch_line("*crashed*")
    result.stdout.fnmatch_lines(["warning: .triton-quest.json was unreadable (level 1 has a value of the wrong type); it is kept as .triton-quest.json.bad-*, and progress starts fresh"])
    backups = list(project.root.glob(".triton-quest.json.bad-*"))
    assert len(backups) == 1 and "many" in backups[0].read_text()
    assert {1, *GOOD} <= passed_levels(project)


# ----- broken kata files --------------------------------------------------------------------------
def test_broken_katas_fail_their_level_in_one_line_and_collection_survives(project: QuestProject) -> None:
    """A syntax error in level 1 and a None-returning later level, beside correct levels, with a
    state path that cannot be written: every level is collected, the good ones pass, each broken
    one says what is wrong in one line, and the unwritable state is a warning."""
    kata = project.template(1)
    kata.write_text(kata.read_text().replace("def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:", "def vector_add(x, y)\n"))
    add_good_levels(project)
    wrapped_solution(project, OTHER, before="return None  # forgot to call the kernel and return its output")
    blocker = project.root / "not-a-folder"
    blocker.write_text("a file where the state's folder should be")

    collected = project.pytester.runpytest("--unlock-all", "--collect-only", "-q")
    total = cases(1) + sum(cases(number) for number in GOOD) + cases(OTHER)
    collected.stdout.fnmatch_lines([f"{total} tests collected*"])

    result = project.pytester.runpytest("--unlock-all", "--quest-state", str(blocker / "state.json"))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    line = kata_line(kata, "def vector_add(x, y)")
    result.stdout.fnmatch_lines([f"Level 1, Vector Add: katas/level1_vector_add.py:{line}: syntax error: expected ':'"])
    result.stdout.fnmatch_lines([f"*`{level_by_number(OTHER).function}` returned None: return the output tensor*"])
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    for number in GOOD:
        result.stdout.fnmatch_lines([f"{level_by_number(number).title}: all {cases(number)} checks passed."])
    result.stdout.fnmatch_lines([f"warning: progress not saved: {blocker} is not writable*"])
    assert not project.state_path.exists()


def _check_in_process(path: Path, number: int = 1) -> object:
    """Run the first case of a level against `path` in this process, as the worker would."""
    from pytest_triton_quest.checking import check_case
    from pytest_triton_quest.device import activate

    mode = _mode()
    activate(mode)
    level = level_by_number(number)
    assert level is not None
    return check_case(level, level.cases(mode)[0], path, mode)


SOLUTION_1 = (SOLUTIONS / "level1_vector_add.py").read_text()
RETURN = "    return out\n"
DEF = "def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:"

# name: (how to break the solution, what the one-line reason says, the marker of the line it names)
BROKEN = {
    "syntax error": (lambda s: s.replace(DEF, DEF[:-1]), "syntax error: expected ':'", DEF[:-1]),
    "indentation": (lambda s: s.replace("    n = x.numel()", "      n = x.numel()"), "indentation error: unexpected indent", "      n = x.numel()"),
    "import error": (lambda s: s.replace("import triton  #", "import triton_quest_no_such_module  #"), "importing the kata failed: ModuleNotFoundError: No module named 'triton_quest_no_such_module'", "triton_quest_no_such_module"),
    "error at import": (lambda s: s + "\nraise RuntimeError('first line\\nsecond line')\n", "importing the kata failed: RuntimeError: first line ...", "raise RuntimeError"),
    "exit at import": (lambda s: s + "\nimport sys\nsys.exit('bye')\n", "the kata calls sys.exit() while it is imported", "sys.exit('bye')"),
    "wrong signature": (lambda s: s.replace(DEF, "def vector_add(x):"), "`vector_add(x)` does not match the contract `vector_add(x, y)`", "def vector_add(x):"),
}
NO_LINE = {
    "missing function": (lambda s: s.replace("def vector_add(", "def vectoradd("), "defines no function `vector_add` (is `vectoradd` meant to be it?)"),
    "not a function": (lambda s: s + "\nvector_add = 3\n", "`vector_add` must be a function, but it is of type int"),
}
WRONG_OUTPUT = {
    "None": (lambda s: s.replace(RETURN, "    out\n"), "`vector_add` returned None: return the output tensor"),
    "a list": (lambda s: s.replace(RETURN, "    return [out]\n"), "`vector_add` returned a list, expected a torch.Tensor"),
    "wrong shape": (lambda s: s.replace(RETURN, "    return out.reshape(1, -1)\n"), "the output has shape (1, *), expected (*,)"),
    "wrong dtype": (lambda s: s.replace(RETURN, "    return out.double()\n"), "the output has dtype torch.float64, expected torch.float32"),
    "wrong device": (lambda s: s.replace(RETURN, "    return torch.empty_like(out, device='meta')\n"), "the output is on meta, expected *"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_kata_file_is_one_line_with_file_and_line(tmp_path: Path, name: str) -> None:
    from pytest_triton_quest.model import BROKEN_KATA

    breaking, reason, marker = BROKEN[name]
    path = tmp_path / "level1_vector_add.py"
    path.write_text(breaking(SOLUTION_1))
    result = _check_in_process(path)
    assert result.outcome == BROKEN_KATA and result.stops_level
    assert "\n" not in result.message and "Traceback" not in result.message
    assert result.message.startswith(f"{path}:{kata_line(path, marker)}: "), result.message
    assert reason in result.message


@pytest.mark.parametrize("name", sorted(NO_LINE))
def test_a_kata_without_the_function_says_so_in_one_line(tmp_path: Path, name: str) -> None:
    from pytest_triton_quest.model import BROKEN_KATA

    breaking, reason = NO_LINE[name]
    path = tmp_path / "level1_vector_add.py"
    path.write_text(breaking(SOLUTION_1))
    result = _check_in_process(path)
    assert result.outcome == BROKEN_KATA and "\n" not in result.message
    assert str(path) in result.message and reason in result.message


def test_a_syntax_error_in_a_helper_module_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "my_helpers.py").write_text("BLOCK = 1024\ndef broken(:\n    pass\n")
    path = tmp_path / "level1_vector_add.py"
    path.write_text(SOLUTION_1.replace("import triton  #", "import my_helpers\nimport triton  #"))
    result = _check_in_process(path)
    assert "\n" not in result.message
    assert result.message.startswith(f"{path}:{kata_line(path, 'import my_helpers')}: importing the kata failed: syntax error in ")
    assert "my_helpers.py:2: " in result.message


@pytest.mark.parametrize("name", sorted(WRONG_OUTPUT))
def test_a_wrong_output_is_one_line(tmp_path: Path, name: str) -> None:
    import fnmatch

    from pytest_triton_quest.model import FAILED

    breaking, reason = WRONG_OUTPUT[name]
    path = tmp_path / "level1_vector_add.py"
    path.write_text(breaking(SOLUTION_1))
    result = _check_in_process(path)
    assert result.outcome == FAILED and "\n" not in result.message
    assert fnmatch.fnmatch(result.message, f"*{reason}"), result.message


def test_a_wrong_output_names_the_return_line(tmp_path: Path) -> None:
    path = tmp_path / "level1_vector_add.py"
    path.write_text(SOLUTION_1.replace(RETURN, "    return out.double()\n"))
    result = _check_in_process(path)
    assert result.message.startswith(f"{path}:{kata_line(path, 'return out.double()')}: ")


def test_function_site_names_the_one_return_or_the_def_line(tmp_path: Path) -> None:
    path = tmp_path / "kata.py"
    path.write_text(
        textwrap.dedent(
            """
            import functools

            @functools.lru_cache
            def one(x):
                def inner():
                    return 1
                return x

            def two(x):
                if x:
                    return 1
                return 2

            def none(x):
                x + 1
            """
        )
    )
    module = loading.import_kata(path)
    assert loading.function_site(module.one.__wrapped__, path) == f"{path}:{kata_line(path, 'return x')}"
    assert loading.function_site(module.two, path) == f"{path}:{kata_line(path, 'def two')}"
    assert loading.function_site(module.none, path) == f"{path}:{kata_line(path, 'def none')}"
    assert loading.function_site(len, path) == str(path)


# ----- the state file -----------------------------------------------------------------------------
def test_a_missing_state_file_is_a_fresh_start_without_a_warning(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "state.json")
    assert store.load().levels == {} and store.warnings == []


DAMAGED = {
    "empty": (b"", "the file is empty"),
    "blank": (b"  \n\n", "the file is empty"),
    "invalid JSON": (b"{ this is not json", "invalid JSON at line 1, column 3"),
    "truncated": (b'{"schema": 1, "levels": {"1": {"attem', "invalid JSON"),
    "not UTF-8": (b"\xff\xfe\x00garbage", "it is not UTF-8 text"),
    "nested too deeply": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "a list": (b"[1, 2, 3]", "the top level is not an object"),
    "no schema": (b'{"levels": {}}', "it has no schema number"),
    "schema not a number": (b'{"schema": "1", "levels": {}}', "it has no schema number"),
    "schema a boolean": (b'{"schema": true, "levels": {}}', "it has no schema number"),
    "schema zero": (b'{"schema": 0, "levels": {}}', "schema 0 is not a valid schema number"),
    "future version": (json.dumps({"schema": SCHEMA + 1, "levels": {}}).encode(), f"written by a newer Triton Quest (schema {SCHEMA + 1}"),
    "levels a list": (b'{"schema": 1, "levels": []}', "`levels` is not an object"),
    "level key not a number": (b'{"schema": 1, "levels": {"one": {}}}', "level entry 'one' is malformed"),
    "level entry not an object": (b'{"schema": 1, "levels": {"1": 7}}', "level entry '1' is malformed"),
    "attempts a string": (b'{"schema": 1, "levels": {"1": {"attempts": "3"}}}', "level 1 has a value of the wrong type"),
    "attempts negative": (b'{"schema": 1, "levels": {"1": {"attempts": -1}}}', "level 1 has a value of the wrong type"),
    "attempts a boolean": (b'{"schema": 1, "levels": {"1": {"attempts": true}}}', "level 1 has a value of the wrong type"),
    "passed_at a number": (b'{"schema": 1, "levels": {"1": {"passed_at": 5}}}', "level 1 has a value of the wrong type"),
    "timings not numbers": (b'{"schema": 1, "levels": {"1": {"best_timings": {"a": "fast"}}}}', "level 1 has a value of the wrong type"),
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_a_damaged_state_file_is_kept_as_a_backup_and_progress_starts_fresh(tmp_path: Path, name: str) -> None:
    content, reason = DAMAGED[name]
    path = tmp_path / ".triton-quest.json"
    path.write_bytes(content)
    store = ProgressStore(path)

    assert store.load().levels == {}

    (warning,) = store.warnings
    assert warning.startswith(".triton-quest.json was unreadable (") and reason in warning
    assert warning.endswith(", and progress starts fresh") and "\n" not in warning
    (backup,) = tmp_path.glob(".triton-quest.json.bad-*")
    assert backup.read_bytes() == content and backup.name in warning
    # The run goes on and records progress in a fresh file.
    with store.update() as progress:
        progress.level(1).attempts += 1
    assert ProgressStore(path).load().level(1).attempts == 1


def test_a_bad_file_that_cannot_be_backed_up_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / ".triton-quest.json"
    path.write_text("{ precious but broken")
    monkeypatch.setattr(ProgressStore, "_back_up", lambda self: None)
    store = ProgressStore(path)
    with store.update() as progress:
        progress.level(1).attempts += 1
    assert path.read_text() == "{ precious but broken"
    assert store.warnings == [
        ".triton-quest.json was unreadable (invalid JSON at line 1, column 3: Expecting property name enclosed in double quotes); "
        "it could not be backed up, so it is left as it is, and progress starts fresh",
        f"progress not saved: {path} is unreadable and could not be backed up; move it away to save progress again",
    ]


def test_a_newer_field_in_a_level_entry_is_ignored_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"schema": SCHEMA, "levels": {"3": {"attempts": 2, "from_the_future": [1]}}}))
    store = ProgressStore(path)
    assert store.load().level(3).attempts == 2 and store.warnings == []


def test_saving_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = ProgressStore(path)
    progress = Progress()
    progress.level(2).passed_at = "2026-01-01T00:00:00+00:00"
    assert store.save(progress)
    path.chmod(0o640)
    assert store.save(progress)
    assert path.stat().st_mode & 0o777 == 0o640  # the learner's permissions survive a save
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    assert json.loads(path.read_text())["levels"]["2"]["passed_at"].startswith("2026")


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    store = ProgressStore(path)
    first = Progress()
    first.level(1).attempts = 1
    store.save(first)

    def refuse(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    second = Progress()
    second.level(1).attempts = 2
    assert not store.save(second)
    monkeypatch.undo()
    assert ProgressStore(path).load().level(1).attempts == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    assert store.warnings == [f"progress not saved to {path} (No space left on device)"]


def test_an_unwritable_folder_is_a_warning_and_the_update_still_runs(tmp_path: Path) -> None:
    # The suite may run as root, whom chmod does not stop: a state path below a regular file
    # cannot be written by anyone.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    store = ProgressStore(blocker / "state.json")
    with store.update() as progress:
        progress.level(1).attempts += 1  # the run goes on
    assert progress.level(1).attempts == 1
    assert len(store.warnings) == 1 and store.warnings[0].startswith(f"progress not saved: {blocker} is not writable")
    assert store.save(progress) is False
    assert len(store.warnings) == 2 and store.warnings[1].startswith(f"progress not saved: cannot write in {blocker}")


def test_a_lock_held_too_long_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    from pytest_triton_quest import progress as progress_module

    monkeypatch.setattr(progress_module, "LOCK_TIMEOUT_S", 0.2)
    path = tmp_path / "state.json"
    holder = FileLock(str(path) + ".lock")
    with holder:
        store = ProgressStore(path)
        with store.update() as progress:
            progress.level(1).attempts += 1
    assert not path.exists()
    assert store.warnings == ["progress not saved: another Triton Quest run held the lock state.json.lock for 0.2 s"]


WRITER = """
import sys
from pathlib import Path
from pytest_triton_quest.progress import ProgressStore

path, name, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for _ in range(count):
    store = ProgressStore(path)
    with store.update() as progress:
        progress.level(1).attempts += 1
        progress.level(100 + name).attempts += 1
    assert not store.warnings, store.warnings
"""

READER = """
import sys, time
from pathlib import Path
from pytest_triton_quest.progress import ProgressStore

path, stop = Path(sys.argv[1]), Path(sys.argv[2])
reads = 0
while not stop.exists() or reads < 10:
    store = ProgressStore(path)
    store.load()  # without the lock, as `pytest` does at start: must never see half a file
    assert not store.warnings, store.warnings
    reads += 1
print(reads)
"""


def test_concurrent_runs_never_lose_an_update(tmp_path: Path) -> None:
    """Several processes increment the same counters at once (two terminals, xdist workers), while
    another keeps reading the file without the lock: no update is lost, no read sees a torn file,
    and nothing is ever moved aside as a backup."""
    path = tmp_path / ".triton-quest.json"
    writers, count = 4, 40
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), str(stop)], env=env, stdout=subprocess.PIPE, text=True)
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(index), str(count)], env=env)
        for index in range(writers)
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    stop.touch()
    out, _ = reader.communicate(timeout=120)
    assert reader.returncode == 0 and int(out) > 0

    progress = ProgressStore(path).load()
    assert progress.level(1).attempts == writers * count
    assert all(progress.level(100 + index).attempts == count for index in range(writers))
    assert not list(tmp_path.glob("*.bad-*")) and not list(tmp_path.glob("*.tmp"))


def test_pytest_xdist_checks_each_level_in_one_worker_and_records_it_once(project: QuestProject) -> None:
    """`pytest -n 2`: each level goes whole to one worker, so it can pass, counts one attempt, and its
    summary (printed by the workers' controller) is the same as without xdist."""
    pytest.importorskip("xdist")
    add_good_levels(project)
    project.template(1)
    result = project.pytester.runpytest_subprocess("-n", "2", "--unlock-all", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*level 1 is not implemented yet*"])
    assert_good_levels_passed(project, result)
    summary = result.stdout.str().split("triton quest")[-1]
    titles = [level_by_number(number).title for number in (1, *GOOD)]  # type: ignore[union-attr]
    assert [summary.index(title) for title in titles] == sorted(summary.index(title) for title in titles), "levels in order"
    saved = state(project)["levels"]
    assert {number: saved[str(number)]["attempts"] for number in (1, *GOOD)} == dict.fromkeys((1, *GOOD), 1)
    assert saved["1"]["passed_at"] is None


def test_a_good_file_written_by_another_run_is_never_moved_aside(tmp_path: Path) -> None:
    """Two runs start on a corrupt file: the first moves it aside and writes good progress; the
    second, which read the corrupt bytes earlier, must not move that good file away."""
    path = tmp_path / ".triton-quest.json"
    path.write_text("{ corrupt")
    late = ProgressStore(path)
    early = ProgressStore(path)
    assert early.load().levels == {}
    with early.update() as progress:
        progress.level(1).passed_at = "2026-01-01T00:00:00+00:00"
    # `late` read the corrupt bytes before `early` replaced them, and now decides what to do.
    from pytest_triton_quest.progress import _Unreadable

    real_read = late._read
    calls = []

    def read_once_stale() -> Progress | None:
        calls.append(1)
        if len(calls) == 1:
            raise _Unreadable("invalid JSON")
        return real_read()

    late._read = read_once_stale  # type: ignore[method-assign]
    assert late.load().is_passed(1)
    assert late.warnings == []
    assert len(list(tmp_path.glob("*.bad-*"))) == 1  # only the original corrupt file


def test_level_progress_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    progress = Progress()
    progress.levels[3] = LevelProgress(passed_at="2026-01-01T00:00:00+00:00", attempts=4, hints_revealed=2, best_speedup=1.5, best_timings={"fp16": 0.001})
    ProgressStore(path).save(progress)
    assert ProgressStore(path).load().levels == progress.levels
