"""Decide where the checks run: compiled on a CUDA GPU, or on the CPU through Triton's interpreter."""

from __future__ import annotations

import glob
import os

from .model import Mode

INTERPRET_VARIABLE = "TRITON_INTERPRET"
CHOICES = ("auto", "cpu", "cuda")


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


def activate(mode: Mode) -> None:
    """Make kata imports follow the mode; must run before any kata module is imported."""
    if mode.interpreted:
        os.environ[INTERPRET_VARIABLE] = "1"
