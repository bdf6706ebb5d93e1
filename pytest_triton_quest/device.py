"""Decide where the checks run: compiled on a CUDA GPU, or on the CPU through Triton's interpreter."""

from __future__ import annotations

import glob
import os
import shutil

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


def activate(mode: Mode) -> None:
    """Make kata imports follow the mode; must run before any kata module is imported."""
    if mode.interpreted:
        os.environ[INTERPRET_VARIABLE] = "1"
