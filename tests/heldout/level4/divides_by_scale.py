"""Level 4 - Attention Scores, indexing the 4-D tensors directly."""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def qk_kernel(
    q_ptr, k_ptr, o_ptr,
    S, scale,
    sqb, sqh, sqs, sqd,
    skb, skh, sks, skd,
    sob, soh, soi, soj,
    D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
):
    tile = tl.program_id(0)
    h = tl.program_id(1)
    b = tl.program_id(2)
    n_col_tiles = tl.cdiv(S, BN)
    tm = tile // n_col_tiles
    tn = tile % n_col_tiles

    i = tm * BM + tl.arange(0, BM)
    j = tn * BN + tl.arange(0, BN)
    d = tl.arange(0, D)

    q_base = q_ptr + b * sqb + h * sqh
    k_base = k_ptr + b * skb + h * skh
    qt = tl.load(q_base + i[:, None] * sqs + d[None, :] * sqd, mask=i[:, None] < S, other=0.0)
    kt = tl.load(k_base + j[:, None] * sks + d[None, :] * skd, mask=j[:, None] < S, other=0.0)

    acc = tl.dot(qt, tl.trans(kt)) / scale

    o_base = o_ptr + b * sob + h * soh
    tl.store(
        o_base + i[:, None] * soi + j[None, :] * soj,
        acc,
        mask=(i[:, None] < S) & (j[None, :] < S),
    )


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    BM, BN = 32, 32
    grid = (triton.cdiv(S, BM) * triton.cdiv(S, BN), H, B)
    qk_kernel[grid](
        q, k, out,
        S, scale,
        q.stride(0), q.stride(1), q.stride(2), q.stride(3),
        k.stride(0), k.stride(1), k.stride(2), k.stride(3),
        out.stride(0), out.stride(1), out.stride(2), out.stride(3),
        D=D, BM=BM, BN=BN,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q = torch.randn(2, 3, 77, 32, device=device)
    k = torch.randn(2, 3, 77, 32, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(attention_scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5, atol=1e-2, rtol=1e-2)
    print("ok")
