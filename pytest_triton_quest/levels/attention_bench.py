"""Benchmark shapes and PyTorch baselines shared by the attention levels (4 to 8).

The grid follows the FlashAttention papers' benchmarks: batch x sequence = 16k tokens and heads x
head_dim = 2048, so every shape does comparable work per token; fp16, D in {64, 128}.
"""

from __future__ import annotations

from typing import Any

from .._lazy import torch
from .base import Baseline, Case, Work, default_scale

TOKENS = 16384
MODEL_WIDTH = 2048


def attention_cases(seq_lengths: tuple[int, ...], causal_options: tuple[bool, ...] = (False, True)) -> list[Case]:
    cases = []
    for dim in (64, 128):
        heads = MODEL_WIDTH // dim
        for causal in causal_options:
            for seq in seq_lengths:
                batch = TOKENS // seq
                params: dict[str, Any] = {"B": batch, "H": heads, "S": seq, "D": dim, "causal": causal}
                case_id = f"fp16-{batch}x{heads}x{seq}x{dim}-{'causal' if causal else 'full'}"
                cases.append(Case(id=case_id, dtype="fp16", purpose="benchmark", params=params))
    return cases


def _sdpa(inputs: dict[str, Any]) -> Any:
    return torch.nn.functional.scaled_dot_product_attention(
        inputs["q"], inputs["k"], inputs["v"], is_causal=inputs["causal"], scale=inputs.get("scale")
    )


def _sdpa_flash(inputs: dict[str, Any]) -> Any:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return _sdpa(inputs)


def sdpa_baselines() -> dict[str, Baseline]:
    """SDPA with its default backend (cuDNN on an H100), then the FlashAttention-2 backend."""
    return {"sdpa": _sdpa, "sdpa-flash": _sdpa_flash}


def attention_work(case: Case) -> Work:
    p = case.params
    flops = 4.0 * p["B"] * p["H"] * p["S"] * p["S"] * p["D"]
    if p.get("causal"):
        flops /= 2
    element = 2 if case.dtype in ("fp16", "bf16") else 4
    return Work(flops=flops, bytes=4.0 * p["B"] * p["H"] * p["S"] * p["D"] * element)


def scores_baseline(inputs: dict[str, Any]) -> Any:
    q, k = inputs["q"], inputs["k"]
    scale = inputs.get("scale", default_scale(q.shape[-1]))
    return torch.matmul(q, k.transpose(-1, -2)).float() * scale
