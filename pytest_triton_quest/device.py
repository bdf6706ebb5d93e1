"""Decide where the checks run: compiled on a CUDA GPU, or on the CPU through Triton's interpreter."""

from __future__ import annotations

import glob
import os
import shutil
import sys

from .model import Mode

INTERPRET_VARIABLE = "TRITON_INTERPRET"
CHOICES = ("auto", "cpu", "cuda")
# Where CUDA toolkits put their tools when they are not on PATH (the lent GPU image: the first).
CUDA_TOOL_FOLDERS = ("/usr/local/cuda/bin", "/opt/cuda/bin")


class DeviceError(Exception):
    pass


def _gpu_device_files_exist() -> bool:
    # Importing torch costs seconds; on a machine with no GPU driver at all, skip it.
    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/kfd")) or os.name == "nt"


def detect_mode(requested: str = "auto") -> Mode:
    if requested not in CHOICES:
        raise DeviceError(f"unknown device {requested!r}: choose one of {', '.join(CHOICES)}")
    if requested == "cpu":
        return Mode("cpu", True, "asked for with --quest-device cpu")
    if os.environ.get(INTERPRET_VARIABLE) == "1" and requested == "auto":
        return Mode("cpu", True, f"{INTERPRET_VARIABLE}=1 is set in the environment")
    if _gpu_device_files_exist():
        import torch

        if torch.cuda.is_available():
            return Mode("cuda", False, f"CUDA GPU found: {torch.cuda.get_device_name()}")
    if requested == "cuda":
        raise DeviceError("--quest-device cuda was asked for, but no CUDA GPU is available")
    return Mode("cpu", True, "no CUDA GPU found")


def find_cuda_tool(name: str) -> str | None:
    """A CUDA toolkit program (compute-sanitizer, ncu, nsys): on PATH, else in $CUDA_HOME/bin or a
    usual toolkit folder; None when it is nowhere."""
    found = shutil.which(name)
    if found:
        return found
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    folders = ([os.path.join(cuda_home, "bin")] if cuda_home else []) + list(CUDA_TOOL_FOLDERS)
    for folder in folders:
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


# Where the learner has not chosen a thread count, the CPU checks use one. Their tensors are small:
# torch's and numpy's thread pools cost more than they gain, and on a busy machine (pytest-xdist, or
# the learner's editor and browser) threads that wait for each other made a failing level's
# replays ten times slower (TESTING.md, "A failing check on the CPU").
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def activate(mode: Mode) -> None:
    """Make kata imports follow the mode; must run before any kata module is imported."""
    if mode.interpreted:
        os.environ[INTERPRET_VARIABLE] = "1"
        one_cpu_thread()


def one_cpu_thread() -> None:
    """One compute thread for torch and numpy in this process and the workers it starts, unless the
    environment already names a count."""
    if any(os.environ.get(name) for name in THREAD_VARIABLES):
        return
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"  # read by torch, numpy and BLAS when a process imports them
    torch = sys.modules.get("torch")
    if torch is not None:  # already imported here: its pool is sized, so resize it
        torch.set_num_threads(1)
