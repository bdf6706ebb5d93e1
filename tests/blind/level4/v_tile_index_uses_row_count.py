"""Level 4 - Attention Scores: every query against every key, tile by tile."""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def scores_kernel(
    q_ptr, k_ptr, out_ptr,
    S, H, scale, n_tiles_n,
    sq_b, sq_h, sq_s, sq_d,
    sk_b, sk_h, sk_s, sk_d,
    so_b, so_h, so_i, so_j,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):
    # one flat program id per output tile, one grid axis per (batch, head)
    tile = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    tm = tile // n_tiles_n
    tn = tile % n_tiles_n

    rows = tm * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tn * BLOCK_N + tl.arange(0, BLOCK_N)
    rmask = rows < S
    cmask = cols < S

    q_base = q_ptr + b * sq_b + h * sq_h
    k_base = k_ptr + b * sk_b + h * sk_h

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for d0 in range(0, D, BLOCK_D):
        dd = d0 + tl.arange(0, BLOCK_D)
        qt = tl.load(q_base + rows[:, None] * sq_s + dd[None, :] * sq_d, mask=rmask[:, None], other=0.0)
        # k tile loaded already transposed: (BLOCK_D, BLOCK_N)
        kt = tl.load(k_base + cols[None, :] * sk_s + dd[:, None] * sk_d, mask=cmask[None, :], other=0.0)
        acc += tl.dot(qt, kt)
    acc = acc * scale

    o_base = out_ptr + b * so_b + h * so_h
    tl.store(o_base + rows[:, None] * so_i + cols[None, :] * so_j, acc, mask=rmask[:, None] & cmask[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    BLOCK_M, BLOCK_N, BLOCK_D = 32, 16, 16
    n_m = triton.cdiv(S, BLOCK_M)
    n_n = triton.cdiv(S, BLOCK_N)
    grid = (n_m * n_n, B * H)
    scores_kernel[grid](
        q, k, out,
        S, H, scale, n_m,
        *q.stride(), *k.stride(), *out.stride(),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_D=BLOCK_D,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q = torch.randn(2, 3, 77, 32, device=device)
    k = torch.randn(2, 3, 77, 32, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(attention_scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5, atol=1e-2, rtol=1e-2)
    print("level 4 self-check passed: now run `pytest --level 4`")
