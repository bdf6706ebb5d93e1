"""Level 9 - Flash Attention backward: recompute the probabilities, walk the tiles twice."""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634  # log2(e): exp(x) == exp2(x * LOG2E)

# square tiles: the same block size for queries and keys in both passes
BLOCK = 16 if INTERPRETED else 64


@triton.jit
def dq_delta_kernel(
    q_ptr, k_ptr, v_ptr, o_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
    S, scale, qk_scale,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """One tile of queries: delta = rowsum(dO * O) for its rows (stored for the next kernel), then dQ."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    head_off = bh * S * HEAD_DIM
    q_ptr += head_off
    k_ptr += head_off
    v_ptr += head_off
    o_ptr += head_off
    do_ptr += head_off
    dq_ptr += head_off

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    m_ok = offs_m < S
    tile_mq = offs_m[:, None] * HEAD_DIM + offs_d[None, :]

    q = tl.load(q_ptr + tile_mq, mask=m_ok[:, None], other=0.0)
    do = tl.load(do_ptr + tile_mq, mask=m_ok[:, None], other=0.0)
    o = tl.load(o_ptr + tile_mq, mask=m_ok[:, None], other=0.0)
    delta = tl.sum(do.to(tl.float32) * o.to(tl.float32), axis=1)
    tl.store(delta_ptr + bh * S + offs_m, delta, mask=m_ok)
    lse2 = tl.load(lse_ptr + bh * S + offs_m, mask=m_ok, other=0.0) * 1.4426950408889634

    dq = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)
    if CAUSAL:
        hi = pid_m * BLOCK_M
    else:
        hi = S
    for start_n in range(0, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        n_ok = offs_n < S
        tile_nk = offs_n[:, None] * HEAD_DIM + offs_d[None, :]
        k = tl.load(k_ptr + tile_nk, mask=n_ok[:, None], other=0.0)
        v = tl.load(v_ptr + tile_nk, mask=n_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k))
        p = tl.exp2(s * qk_scale - lse2[:, None])
        keep = m_ok[:, None] & n_ok[None, :]
        if CAUSAL:
            keep = keep & (offs_m[:, None] >= offs_n[None, :])
        p = tl.where(keep, p, 0.0)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k)
    dq = dq * scale
    tl.store(dq_ptr + tile_mq, dq.to(dq_ptr.dtype.element_ty), mask=m_ok[:, None])


@triton.jit
def dkdv_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
    S, scale, qk_scale,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """One tile of keys: dK and dV, walking the query tiles that can see them."""
    pid_n = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    head_off = bh * S * HEAD_DIM
    q_ptr += head_off
    k_ptr += head_off
    v_ptr += head_off
    do_ptr += head_off
    dk_ptr += head_off
    dv_ptr += head_off

    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    n_ok = offs_n < S
    tile_nk = offs_n[:, None] * HEAD_DIM + offs_d[None, :]
    k = tl.load(k_ptr + tile_nk, mask=n_ok[:, None], other=0.0)
    v = tl.load(v_ptr + tile_nk, mask=n_ok[:, None], other=0.0)

    dk = tl.zeros((BLOCK_N, HEAD_DIM), dtype=tl.float32)
    dv = tl.zeros((BLOCK_N, HEAD_DIM), dtype=tl.float32)
    if CAUSAL:
        lo = pid_n * BLOCK_N
    else:
        lo = 0
    for start_m in range(lo, S, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        m_ok = offs_m < S
        tile_mq = offs_m[:, None] * HEAD_DIM + offs_d[None, :]
        q = tl.load(q_ptr + tile_mq, mask=m_ok[:, None], other=0.0)
        do = tl.load(do_ptr + tile_mq, mask=m_ok[:, None], other=0.0)
        lse2 = tl.load(lse_ptr + bh * S + offs_m, mask=m_ok, other=0.0) * 1.4426950408889634
        delta = tl.load(delta_ptr + bh * S + offs_m, mask=m_ok, other=0.0)
        s = tl.dot(q, tl.trans(k))
        p = tl.exp2(s * qk_scale - lse2[:, None])
        keep = m_ok[:, None] & n_ok[None, :]
        if CAUSAL:
            keep = keep & (offs_m[:, None] >= offs_n[None, :])
        p = tl.where(keep, p, 0.0)
        dv += tl.dot(tl.trans(p.to(do.dtype)), do)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dk += tl.dot(tl.trans(ds.to(q.dtype)), q)
    dk = dk * scale
    tl.store(dk_ptr + tile_nk, dk.to(dk_ptr.dtype.element_ty), mask=n_ok[:, None])
    tl.store(dv_ptr + tile_nk, dv.to(dv_ptr.dtype.element_ty), mask=n_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    n_tiles = triton.cdiv(S, BLOCK)
    grid = (n_tiles, B * H)
    # the dq pass also writes delta, so it has to run before the dk/dv pass
    dq_delta_kernel[grid](
        q, k, v, o, do, lse, delta, dq,
        S, scale, scale * LOG2E,
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK, BLOCK_N=BLOCK,
    )
    dkdv_kernel[grid](
        q, k, v, do, lse, delta, dk, dv,
        S, scale, scale * LOG2E,
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK, BLOCK_N=BLOCK,
    )
    return dq, dk, dv


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, H, S, D = 1, 2, 77, 32
    for causal in (True, False):
        q, k, v = (torch.randn(B, H, S, D, device=device, dtype=torch.float64, requires_grad=True) for _ in range(3))
        scores = q @ k.transpose(-1, -2) / math.sqrt(D)
        if causal:
            scores = scores.masked_fill(torch.ones(S, S, dtype=torch.bool, device=device).triu(1), float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v
        lse = torch.logsumexp(scores, dim=-1)
        do = torch.randn_like(o)
        expected = torch.autograd.grad(o, (q, k, v), do)
        got = flash_attention_backward(
            *(t.detach().float() for t in (q, k, v, o)), lse.detach().float(), do.float(), causal=causal
        )
        for name, g, e in zip(("dq", "dk", "dv"), got, expected):
            torch.testing.assert_close(g, e.float(), atol=2e-3, rtol=2e-3, msg=lambda m: f"{name}: {m}")
    print("level 9 self-check passed: now run `pytest --level 9`")
