"""The pieces that touch Triton internals must work on the oldest supported Triton too.

`bash bootstrap.sh test` builds `.venv-triton36` with triton 3.6.0 (the version on the GPU image);
this test re-runs the guard and its self-test, the interpreter work-around and the level proofs
there. On CI the environment is required; on a developer's machine without it the test is skipped
with the reason.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support import REPO

OLD_TRITON = REPO / ".venv-triton36" / "bin" / "python"
SUITES = [
    "tests/test_guard.py",
    "tests/test_guard_selftest.py",
    "tests/test_compat.py",
    "tests/test_levels.py",
    "tests/test_mutants.py",
    "tests/test_traffic.py",
]


@pytest.mark.skipif(
    not OLD_TRITON.exists() and not os.environ.get("CI"),
    reason="no .venv-triton36 here: `bash bootstrap.sh test` builds it",
)
def test_guard_and_levels_pass_on_triton_3_6() -> None:
    assert OLD_TRITON.exists(), "CI must build .venv-triton36 (bash bootstrap.sh test)"
    version = subprocess.run([OLD_TRITON, "-c", "import triton; print(triton.__version__)"], capture_output=True, text=True)
    assert version.stdout.strip().startswith("3.6"), version.stdout + version.stderr
    run = subprocess.run(
        [OLD_TRITON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
