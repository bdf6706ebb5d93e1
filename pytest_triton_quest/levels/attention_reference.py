"""Attention in float64 on the CPU: the reference of levels 6 to 8, and the known wrong answers
their diagnosis rules compare a failed output with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import torch
from .base import default_scale

if TYPE_CHECKING:
    import torch as torch_types


def scale_of(inputs: dict[str, Any]) -> float:
    scale = inputs.get("scale")
    return default_scale(inputs["q"].shape[-1]) if scale is None else float(scale)


def float64(inputs: dict[str, Any]) -> tuple["torch_types.Tensor", ...]:
    return tuple(inputs[name].to(device="cpu", dtype=torch.float64) for name in ("q", "k", "v"))


def visible(S: int, kind: str, tile: int = 0) -> "torch_types.Tensor":
    """(S, S) bool: which keys j (columns) query i (rows) may see, for the right mask and known wrong ones.

    all: every key; causal: j <= i; strict: j < i (diagonal hidden too); below_tile: only keys before
    the query's own tile of `tile` rows (diagonal tile skipped); whole_tile: every key up to the end of
    the query's tile (diagonal tile left unmasked).
    """
    i = torch.arange(S)[:, None]
    j = torch.arange(S)[None, :]
    if kind == "all":
        return torch.ones(S, S, dtype=torch.bool)
    if kind == "causal":
        return j <= i
    if kind == "strict":
        return j < i
    if kind == "below_tile":
        return j < (i // tile) * tile
    if kind == "whole_tile":
        return j < (i // tile + 1) * tile
    raise ValueError(kind)


def attention64(
    q: "torch_types.Tensor", k: "torch_types.Tensor", v: "torch_types.Tensor", visible: "torch_types.Tensor", scale: float
) -> "torch_types.Tensor":
    """softmax(q @ k^T * scale) @ v in float64, keys outside `visible` hidden (rows with none give NaN)."""
    scores = (q @ k.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~visible, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
