"""Level 4, correct: PyTorch scales q and lays k out transposed before the launch (as some published
kernels do), and the kernel only multiplies. Both are the inputs' own values, so this passes."""

import math

import torch
import triton
import triton.language as tl


@triton.jit
def scores_kernel(q_ptr, kt_ptr, out_ptr, S, D: tl.constexpr, BLOCK: tl.constexpr):
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    bh = tl.program_id(2).to(tl.int64)
    dims = tl.arange(0, D)
    q = tl.load(q_ptr + bh * S * D + rows[:, None] * D + dims[None, :], mask=rows[:, None] < S, other=0.0)
    kt = tl.load(kt_ptr + bh * D * S + dims[:, None] * S + cols[None, :], mask=cols[None, :] < S, other=0.0)
    # float32 copies: full precision, not TF32, so a half-precision case keeps its accuracy on a GPU.
    scores = tl.dot(q, kt, input_precision="ieee")
    tl.store(out_ptr + bh * S * S + rows[:, None] * S + cols[None, :], scores, mask=(rows[:, None] < S) & (cols[None, :] < S))


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    scale = 1.0 / math.sqrt(D) if scale is None else scale
    scaled = (q.float() * scale).contiguous()
    kt = k.float().transpose(-1, -2).contiguous()
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    BLOCK = 32
    scores_kernel[(triton.cdiv(S, BLOCK), triton.cdiv(S, BLOCK), B * H)](scaled, kt, out, S, D=D, BLOCK=BLOCK)
    return out
