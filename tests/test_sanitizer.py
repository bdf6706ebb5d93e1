"""Out-of-bounds checks of compiled kernels through compute-sanitizer (issue 14).

The log below is real: compute-sanitizer 2025 memcheck on an NVIDIA H200 (torch 2.11, triton 3.6),
`--print-limit 8`, for a level 1 style kernel whose load of `x` has no mask (n = 1000, BLOCK = 256,
so program 3 reads 24 elements past `x`), with PyTorch's caching allocator off; only the host
backtraces are left out, as `--show-backtrace no` leaves them out. Note the trap in it: from thread
122 on, the sanitizer calls `y`'s allocation the nearest, because the stray lanes are closer to the
start of `y` than to the end of `x`. The report must still name `x`.

The end-to-end tests run the real worker under a stand-in for compute-sanitizer (a script that
starts its target as a child, as the real tool does, and writes a log), so the plumbing is proved on
the CPU: the wrapped command, the environment, the result pipe through the wrapper, the worker's own
pid for stack dumps, the exit status of a child killed by a signal, and the log read after the
worker stopped. On a GPU, `tests/test_mutants.py` proves the real thing (the guard-only mutants).
"""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_triton_quest.model import FAILED, TIMED_OUT, Mode
from pytest_triton_quest.registry import level_by_number
from pytest_triton_quest.runner import IsolatedRunner
from pytest_triton_quest.model import CRASHED, CaseResult, LaunchRecord, TensorArg
from pytest_triton_quest.runner import _with_sanitizer_report
from pytest_triton_quest.sanitizer import (
    OFF,
    LaunchLog,
    LaunchedTensor,
    SanitizerError,
    SanitizerPlan,
    explain_log,
    parse_log,
    plan_sanitizer,
    read_launch_log,
)

ROBUSTNESS_KATAS = Path(__file__).resolve().parent / "robustness_katas"

H200_LOG = """\
========= COMPUTE-SANITIZER
========= Invalid __global__ read of size 8 bytes
=========     at add+0x120 in san_probe.py:7
=========     by thread (116,0,0) in block (3,0,0)
=========     Access to 0x7f85e2800fa0 is out of bounds
=========     and is 1 bytes after the nearest allocation at 0x7f85e2800000 of size 4,000 bytes
========= 
========= Invalid __global__ read of size 8 bytes
=========     at add+0x120 in san_probe.py:7
=========     by thread (117,0,0) in block (3,0,0)
=========     Access to 0x7f85e2800fa8 is out of bounds
=========     and is 9 bytes after the nearest allocation at 0x7f85e2800000 of size 4,000 bytes
========= 
========= Invalid __global__ read of size 8 bytes
=========     at add+0x120 in san_probe.py:7
=========     by thread (118,0,0) in block (3,0,0)
=========     Access to 0x7f85e2800fb0 is out of bounds
=========     and is 17 bytes after the nearest allocation at 0x7f85e2800000 of size 4,000 bytes
========= 
========= Invalid __global__ read of size 8 bytes
=========     at add+0x120 in san_probe.py:7
=========     by thread (119,0,0) in block (3,0,0)
=========     Access to 0x7f85e2800fb8 is out of bounds
=========     and is 25 bytes after the nearest allocation at 0x7f85e2800000 of size 4,000 bytes
========= 
========= Invalid __global__ read of size 8 bytes
=========     at add+0x120 in san_probe.py:7
=========     by thread (120,0,0) in block (3,0,0)
=========     Access to 0x7f85e2800fc0 is out of bounds
=========     and is 33 bytes after the nearest allocation at 0x7f85e2800000 of size 4,000 bytes
========= 
========= Invalid __global__ read of size 8 bytes
=========     at add+0x120 in san_probe.py:7
=========     by thread (121,0,0) in block (3,0,0)
=========     Access to 0x7f85e2800fc8 is out of bounds
=========     and is 41 bytes after the nearest allocation at 0x7f85e2800000 of size 4,000 bytes
========= 
========= Invalid __global__ read of size 8 bytes
=========     at add+0x120 in san_probe.py:7
=========     by thread (122,0,0) in block (3,0,0)
=========     Access to 0x7f85e2800fd0 is out of bounds
=========     and is 48 bytes before the nearest allocation at 0x7f85e2801000 of size 4,000 bytes
========= 
========= Invalid __global__ read of size 8 bytes
=========     at add+0x120 in san_probe.py:7
=========     by thread (123,0,0) in block (3,0,0)
=========     Access to 0x7f85e2800fd8 is out of bounds
=========     and is 40 bytes before the nearest allocation at 0x7f85e2801000 of size 4,000 bytes
========= 
========= ERROR SUMMARY: 16 errors
========= ERROR SUMMARY: 8 errors were not printed. Use --print-limit option to adjust the number of printed errors
"""

X, Y, OUT = 0x7F85E2800000, 0x7F85E2801000, 0x7F85E2802000
TENSORS = [
    LaunchedTensor("add", "x_ptr", X, 1000, 4),
    LaunchedTensor("add", "y_ptr", Y, 1000, 4),
    LaunchedTensor("add", "out_ptr", OUT, 1000, 4),
]


def test_the_log_is_parsed_report_by_report() -> None:
    errors, total = parse_log(H200_LOG)
    assert total == 16  # not the 8 of "8 errors were not printed"
    assert len(errors) == 8
    first = errors[0]
    assert (first.kind, first.size, first.kernel, first.file, first.line) == ("read", 8, "add", "san_probe.py", 7)
    assert (first.thread, first.block, first.address) == ((116, 0, 0), (3, 0, 0), X + 4000)
    assert first.nearest == ("after", X, 4000)
    assert errors[-1].nearest == ("before", Y, 4000)


def test_a_stray_load_is_reported_like_the_cpu_guard_and_names_the_tensor_it_overran(tmp_path: Path) -> None:
    report = explain_log(H200_LOG, TENSORS, tmp_path / "san_probe.py")
    assert report is not None
    first, hint = report.splitlines()
    assert first.startswith("out-of-bounds load in kernel `add` (")
    assert "san_probe.py:7), program id (3, 0, 0): " in first
    assert "at least 8 threads read just past the end of `x_ptr` (element offsets 1000..1015 in the 8 reports printed; the tensor has 1000 elements)" in first
    assert first.endswith("; found by compute-sanitizer")
    assert "y_ptr" not in report  # the sanitizer's "nearest allocation" is y for half the lanes
    assert hint == "Mask the load (and give `other=`); if it has a mask, that mask does not cover these offsets."


def test_without_the_launch_the_report_says_only_what_the_sanitizer_saw() -> None:
    report = explain_log(H200_LOG, [])
    assert report is not None
    assert "outside every tensor argument (the first address is after an allocation of 4000 bytes)" in report
    assert "`" not in report.split("kernel `add`", 1)[1].split("\n")[0]  # no tensor named


def _write_error(address: int, kernel: str = "add_kernel", line: int = 21) -> str:
    return textwrap.dedent(
        f"""\
        ========= COMPUTE-SANITIZER
        ========= Invalid __global__ write of size 4 bytes
        =========     at {kernel}+0x2f0 in level1_vector_add.py:{line}
        =========     by thread (0,0,0) in block (0,0,0)
        =========     Access to {address:#x} is out of bounds
        ========= 
        ========= ERROR SUMMARY: 1 error
        """
    )


def test_a_stray_store_before_a_tensor_and_a_wild_pointer() -> None:
    kata = Path("katas/level1_vector_add.py")
    tensors = [LaunchedTensor("add_kernel", "out_ptr", OUT, 1000, 4)]
    before = explain_log(_write_error(OUT - 4), tensors, kata)
    assert before is not None
    assert "out-of-bounds store in kernel `add_kernel` (katas/level1_vector_add.py:21)" in before
    assert "1 thread wrote just before the start of `out_ptr` (element offset -1;" in before
    assert before.endswith("Mask the store so that offsets stay in 0..n-1.")
    wild = explain_log(_write_error(OUT + (1 << 42)), tensors, kata)
    assert wild is not None and "outside every tensor argument" in wild and "out_ptr" not in wild


def test_the_kata_line_names_the_pointer_the_address_came_from(tmp_path: Path) -> None:
    """n = 1: the stray lanes run past `x` into the neighbouring allocations, so where an address lies
    says little; the kata line of the access names one tensor argument, and that settles it."""
    kata = tmp_path / "level1_vector_add.py"
    lines = [""] * 20 + ["    x = tl.load(x_ptr + offsets)  # out_ptr in a comment does not count"]
    kata.write_text("\n".join(lines) + "\n")
    tensors = [
        LaunchedTensor("add_kernel", "x_ptr", X, 1, 4),
        LaunchedTensor("add_kernel", "y_ptr", X + 512, 1, 4),
        LaunchedTensor("add_kernel", "out_ptr", X + 1024, 1, 4),
    ]
    read = _write_error(X + 516).replace("write", "read")
    log = read.rsplit("========= ERROR", 1)[0] + _write_error(X + 2044).replace("write", "read").split("\n", 1)[1]
    report = explain_log(log, tensors, kata)
    assert report is not None
    assert "2 threads read outside `x_ptr` (element offsets 129..511; the tensor has 1 element)" in report
    # Seen on the H200: a 16-byte access of a 1-element `x` starts at its element 0.
    vector = explain_log(_write_error(X).replace("write of size 4", "read of size 16"), tensors, kata)
    assert vector is not None and "1 thread read outside `x_ptr` (element offsets 1..3; the tensor has 1 element)" in vector
    # Another unmasked load on another line (of y) is another access: it does not widen x's offsets.
    y_line = read.rsplit("========= ERROR", 1)[0].replace(":21", ":22").replace(f"{X + 516:#x}", f"{X + 4000:#x}").split("\n", 1)[1]
    both = explain_log(log.rsplit("========= ERROR", 1)[0] + y_line + "========= ERROR SUMMARY: 3 errors\n", tensors, kata)
    assert both is not None and "(element offsets 129..511;" in both and "2 threads" in both
    elsewhere = explain_log(log.replace("level1_vector_add.py:21", "other.py:21"), tensors, kata)
    assert elsewhere is not None and "x_ptr" not in elsewhere


def test_the_launch_log_stands_in_for_a_worker_that_died_before_answering(tmp_path: Path) -> None:
    """A tensor freed while the stopped kernel's error is pending aborts the worker, even inside the
    learner's function: the tensors its launches got were logged as the launches happened."""
    path = tmp_path / "launches.jsonl"
    path.write_text("stale rows of the previous call\n")
    log = LaunchLog(path)
    assert path.read_text() == ""
    record = LaunchRecord("add", (4, 1, 1), (TensorArg("x_ptr", 1000, 4, X), TensorArg("y_ptr", 1000, 4, Y), TensorArg("out_ptr", 1000, 4, OUT)))
    log(record)
    log(record)  # an autotuner's timing runs: the same buffers again, written once
    with path.open("a") as cut:
        cut.write('["add", "out_p')  # the abort can cut the last row short
    rows = read_launch_log(path)
    assert rows == [["add", "x_ptr", X, 1000, 4], ["add", "y_ptr", Y, 1000, 4], ["add", "out_ptr", OUT, 1000, 4]]
    crashed = CaseResult(CRASHED, "level 1, case fp32-1000: the kernel crashed: killed by SIGABRT", stops_level=True)
    result = _with_sanitizer_report(crashed, (H200_LOG, rows), tmp_path / "san_probe.py")
    assert result.outcome == FAILED and "just past the end of `x_ptr` (element offsets 1000..1015" in result.message
    assert _with_sanitizer_report(crashed, ("", rows), tmp_path / "k.py") is crashed  # no sanitizer, no change


def test_a_log_without_memory_errors_changes_nothing() -> None:
    assert explain_log("========= COMPUTE-SANITIZER\n========= ERROR SUMMARY: 0 errors\n", TENSORS) is None


@pytest.mark.parametrize(
    ("setting", "on_gpu", "isolated", "tool", "wrapped", "note"),
    [
        ("auto", True, True, "/cuda/bin/compute-sanitizer", True, "checked by compute-sanitizer"),
        ("on", True, True, "/cuda/bin/compute-sanitizer", True, "checked by compute-sanitizer"),
        ("auto", True, True, None, False, "NOT checked on this GPU: compute-sanitizer was not found"),
        ("auto", True, False, "/cuda/bin/compute-sanitizer", False, "NOT checked: --quest-isolation none"),
        ("auto", False, True, "/cuda/bin/compute-sanitizer", False, None),  # the CPU guard checks
        ("on", False, True, None, False, None),
        ("off", True, True, "/cuda/bin/compute-sanitizer", False, None),
    ],
)
def test_when_the_sanitizer_runs(setting: str, on_gpu: bool, isolated: bool, tool: str | None, wrapped: bool, note: str | None) -> None:
    plan = plan_sanitizer(setting, on_gpu, isolated, tool)
    assert (plan.tool is not None) == wrapped
    assert (plan.note is None) == (note is None)
    if note is not None:
        assert plan.note is not None and note in plan.note
    if wrapped:
        assert plan.env == {"PYTORCH_NO_CUDA_MEMORY_CACHING": "1"}
        assert plan.command(Path("/tmp/x.log"))[:5] == [tool, "--tool", "memcheck", "--log-file", "/tmp/x.log"]


@pytest.mark.parametrize(("isolated", "tool", "words"), [(True, None, "was not found"), (False, "/cuda/bin/compute-sanitizer", "drop --quest-isolation none")])
def test_on_is_refused_in_one_line_when_it_cannot_be_honoured(isolated: bool, tool: str | None, words: str) -> None:
    with pytest.raises(SanitizerError, match=words):
        plan_sanitizer("on", True, isolated, tool)


# ----- the worker under a wrapper -------------------------------------------------------------------
FAKE_TOOL = """\
#!{python}
# A stand-in for compute-sanitizer: start the target as a child (keeping every descriptor, as the
# real tool does), wait, write a memcheck-style log, and exit with the child's code, or the number
# of the signal that killed it.
import os, subprocess, sys
args = sys.argv[1:]
log = args[args.index("--log-file") + 1]
with_values = {{"--tool", "--log-file", "--print-limit", "--show-backtrace"}}
i = 0
while args[i].startswith("--"):
    i += 2 if args[i] in with_values else 1
child = subprocess.Popen(args[i:], close_fds=False)
code = child.wait()
with open(log, "w") as f:
    f.write("========= COMPUTE-SANITIZER\\n")
    if os.environ.get("PYTORCH_NO_CUDA_MEMORY_CACHING") == "1" and os.environ.get("TRITON_QUEST_LAUNCH_LOG"):
        f.write({error!r})
    f.write("========= ERROR SUMMARY: 1 error\\n")
sys.exit(-code if code < 0 else code)
"""


def _fake_tool(tmp_path: Path) -> str:
    path = tmp_path / "compute-sanitizer"
    path.write_text(FAKE_TOOL.format(python=sys.executable, error=_write_error(0x7000_0000_0FA0).split("\n", 1)[1].rsplit("=========", 2)[0]))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _run(tmp_path: Path, kata: str, timeout_s: float, monkeypatch: pytest.MonkeyPatch) -> tuple[object, str]:
    monkeypatch.setenv("TRITON_INTERPRET", "1")  # the robustness katas run compiled where there is a GPU
    level = level_by_number(1)
    assert level is not None
    mode = Mode("cpu", True, "tests")
    target = tmp_path / "katas" / level.kata_file
    target.parent.mkdir()
    target.write_text((ROBUSTNESS_KATAS / kata).read_text())
    runner = IsolatedRunner(mode, timeout_s, sanitizer=SanitizerPlan(_fake_tool(tmp_path), None))
    try:
        return runner.run(level, level.cases(mode)[0], target)
    finally:
        runner.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a real SIGSEGV and a POSIX wrapper script")
def test_a_crash_under_the_sanitizer_becomes_its_out_of_bounds_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = _run(tmp_path, "level1_wild_store.py", 60.0, monkeypatch)
    assert result.outcome == FAILED and result.stops_level
    first = result.message.splitlines()[0]
    assert first.startswith("out-of-bounds store in kernel `add_kernel` (")
    assert "level1_vector_add.py:21), program id (0, 0, 0): 1 thread wrote outside every tensor argument; found by compute-sanitizer" in first


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_a_hang_under_the_sanitizer_is_located_by_the_workers_own_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack dump must reach the worker, not the wrapper (which SIGUSR1 would simply kill)."""
    result, output = _run(tmp_path, "level1_spins_forever.py", 4.0, monkeypatch)
    assert result.outcome == TIMED_OUT
    assert "likely an endless loop" in result.message
    assert "level1_vector_add.py:" in result.message


def test_off_leaves_the_worker_unwrapped() -> None:
    assert OFF.command(Path("/tmp/x.log")) == [] and OFF.env == {}


def test_cuda_tools_are_found_on_path_or_under_cuda_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_triton_quest.device import find_cuda_tool

    tool = tmp_path / "bin" / "ncu"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    monkeypatch.delenv("CUDA_PATH", raising=False)
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "elsewhere"))
    assert find_cuda_tool("ncu") in (None, "/usr/local/cuda/bin/ncu", "/opt/cuda/bin/ncu")
    monkeypatch.setenv("CUDA_HOME", str(tmp_path))
    assert find_cuda_tool("ncu") == str(tool)
    monkeypatch.setenv("PATH", str(tool.parent))
    assert find_cuda_tool("ncu") == str(tool)
