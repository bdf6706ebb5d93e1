"""Which strides did the output's stores use? A replay of the store's addresses, from the outputs alone.

A kernel handed the wrong stride for its output (`q.stride(1)` where `out.stride(1)` belongs, or q's
strides for every axis) computes right answers and writes them to places of its own: heads overlap,
rows land inside other rows, parts of the output are never written. The values are right, so the
output says where they were sent. For every input of the output's rank, the reference is scattered
with that input's stride on one axis (or its strides on all), and the places that one element alone
lands on are compared with the learner's output there. A stride is named only when it reproduces
the output on many wrong elements and contradicts it almost nowhere.

It needs nothing from the interpreter, so it works the same on compiled kernels on a GPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lazy import torch
from .model import Tolerance

if TYPE_CHECKING:
    import torch as torch_types

# Wrong elements a replayed stride must reproduce before it is named: random values do not agree
# with another place's answer within tolerance this often by chance.
MIN_REPRODUCED = 32
# Share of the places written once by the replay where the learner's output must agree with it.
MIN_AGREEMENT = 0.95
# Share of the wrong elements the replay may leave unexplained (a value it puts there, another found).
_UNEXPLAINED = 0.05
# Larger outputs are not replayed (a scatter per candidate stride).
_MAX_ELEMENTS = 1 << 22


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def _scattered(ref: "torch_types.Tensor", strides: tuple[int, ...]) -> tuple["torch_types.Tensor", "torch_types.Tensor"]:
    """(value, writers) for each flat place of the output: how many elements of `ref` land there when
    stored with `strides`, and the value of the one that does where that is one (the last of several
    writers is not known)."""
    numel = ref.numel()
    index = torch.zeros(ref.shape, dtype=torch.int64)
    for axis, (size, stride) in enumerate(zip(ref.shape, strides)):
        shape = [1] * ref.dim()
        shape[axis] = size
        index = index + (torch.arange(size, dtype=torch.int64) * stride).reshape(shape)
    index, values = index.flatten(), ref.flatten()
    inside = (index >= 0) & (index < numel)
    counts = torch.bincount(index[inside], minlength=numel)
    value = torch.full((numel,), float("nan"), dtype=ref.dtype)
    value[index[inside]] = values[inside]
    return value, counts


def _candidates(shape: tuple[int, ...], inputs: dict[str, Any]) -> list[tuple[tuple[int, ...], str]]:
    """(strides, what they are) for every input of the output's rank: its stride on one axis where
    the output's differs, and its strides on every axis."""
    own = _contiguous_strides(shape)
    found: list[tuple[tuple[int, ...], str]] = []
    for name, value in inputs.items():
        if not hasattr(value, "stride") or value.dim() != len(shape):
            continue
        theirs = tuple(int(stride) for stride in value.stride())
        differing = [axis for axis in range(len(shape)) if theirs[axis] != own[axis]]
        for axis in differing:
            found.append((tuple(theirs[axis] if index == axis else own[index] for index in range(len(shape))), f"{name}:{axis}"))
        if len(differing) > 1:
            found.append((theirs, f"{name}:all"))
    return found


def stride_slip_note(
    out: "torch_types.Tensor", ref: "torch_types.Tensor", inputs: dict[str, Any], tolerance: Tolerance, axes: tuple[str, ...]
) -> str | None:
    """The `likely:` line for an output stored with another input's stride (one axis) or strides (all),
    when the replay of that store reproduces the output; None when none does, or several do."""
    if out.dim() < 2 or out.shape != ref.shape or out.numel() > _MAX_ELEMENTS:
        return None
    shape = tuple(out.shape)
    flat_out, flat_ref = out.flatten(), ref.flatten()
    wrong = ~(torch.isclose(flat_out, flat_ref, rtol=tolerance.rtol, atol=tolerance.atol) | (flat_out.isnan() & flat_ref.isnan()))
    if int(wrong.sum()) < MIN_REPRODUCED:
        return None
    owners: dict[tuple[int, ...], list[str]] = {}
    for strides, what in _candidates(shape, inputs):
        owners.setdefault(strides, []).append(what)  # q and k of one shape give one stride: both own it
    named = []
    for strides, whats in owners.items():
        value, writers = _scattered(ref, strides)
        agree = torch.isclose(flat_out, value, rtol=tolerance.rtol, atol=tolerance.atol)
        compared = (writers == 1) & torch.isfinite(value)
        reproduced = compared & agree & wrong
        if int(reproduced.sum()) < MIN_REPRODUCED or int((compared & agree).sum()) < MIN_AGREEMENT * int(compared.sum()):
            continue
        # The wrong elements the replay leaves unexplained: those it says one element lands on, with
        # another value there. Places none lands on (memory never written) or several do (the last
        # writer unknown) are what such a store leaves, and say nothing against it.
        accounted = reproduced | (writers != 1) | ~torch.isfinite(value)
        if int((wrong & accounted).sum()) < (1 - _UNEXPLAINED) * int(wrong.sum()):
            continue
        named.append((strides, whats))
    if len(named) != 1:
        return None  # none, or several that the output cannot tell apart
    strides, whats = named[0]
    who = " or ".join(f"`{what.split(':')[0]}`" for what in whats)
    axis = whats[0].split(":")[1]
    own = _contiguous_strides(shape)
    if axis == "all":
        return (
            f"likely: the output is stored with the strides of {who}, {list(strides)}, not its own, {list(own)}: "
            "right answers land in the wrong places; pass the output's own strides, out.stride(...)"
        )
    index = int(axis)
    axis_name = axes[index] if index < len(axes) else f"axis {index}"
    return (
        f"likely: the output's {axis_name} stride is taken from {who}: its stores step {strides[index]} elements "
        f"per {axis_name}, but the output's {axis_name}s are {own[index]} apart; pass out.stride({index})"
    )
