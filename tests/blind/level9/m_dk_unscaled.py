"""Level 9 - Flash Attention backward: delta, then dK/dV per key tile, then dQ per query tile."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634

# square tiles for both walks
if INTERPRETED:
    BLOCK = 16
else:
    BLOCK = 64
DELTA_BLOCK = 64


@triton.jit
def delta_kernel(
    o_ptr, do_ptr, delta_ptr,
    n_rows,
    HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr,
):
    """delta for the (B*H*S) rows seen as one flat list of rows of HEAD_DIM."""
    pid = tl.program_id(0)
    rows = pid * BLOCK + tl.arange(0, BLOCK)
    dims = tl.arange(0, HEAD_DIM)
    mask = rows[:, None] < n_rows
    offs = rows[:, None].to(tl.int64) * HEAD_DIM + dims[None, :]
    o = tl.load(o_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(delta_ptr + rows, tl.sum(o * do, axis=1), mask=rows < n_rows)


@triton.jit
def dkdv_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
    S, scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1)
    base = bh.to(tl.int64) * stride_bh
    row_base = bh.to(tl.int64) * S

    keys = start_n + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, HEAD_DIM)
    key_ok = keys < S
    kv_offs = keys[:, None] * stride_s + dims[None, :]
    k = tl.load(k_ptr + base + kv_offs, mask=key_ok[:, None], other=0.0)
    v = tl.load(v_ptr + base + kv_offs, mask=key_ok[:, None], other=0.0)

    dk = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)

    if CAUSAL:
        lo = (start_n // BLOCK_M) * BLOCK_M
    else:
        lo = 0
    for start_m in range(lo, S, BLOCK_M):
        qs = start_m + tl.arange(0, BLOCK_M)
        q_ok = qs < S
        q_offs = qs[:, None] * stride_s + dims[None, :]
        q = tl.load(q_ptr + base + q_offs, mask=q_ok[:, None], other=0.0)
        do = tl.load(do_ptr + base + q_offs, mask=q_ok[:, None], other=0.0)
        lse = tl.load(lse_ptr + row_base + qs, mask=q_ok, other=0.0)
        delta = tl.load(delta_ptr + row_base + qs, mask=q_ok, other=0.0)

        sT = tl.dot(k, tl.trans(q)) * scale                      # (BLOCK_N, BLOCK_M)
        visible = q_ok[None, :] & key_ok[:, None]
        if CAUSAL:
            visible = visible & (keys[:, None] <= qs[None, :])
        pT = tl.where(visible, tl.exp(sT - lse[None, :]), 0.0)

        dv += tl.dot(pT.to(do.dtype), do)
        dpT = tl.dot(v, tl.trans(do)).to(tl.float32)
        dsT = pT * (dpT - delta[None, :])
        dk += tl.dot(dsT.to(q.dtype), q)

    tl.store(dk_ptr + base + kv_offs, dk.to(dk_ptr.dtype.element_ty), mask=key_ok[:, None])
    tl.store(dv_ptr + base + kv_offs, dv.to(dv_ptr.dtype.element_ty), mask=key_ok[:, None])


@triton.jit
def dq_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
    S, scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    base = bh.to(tl.int64) * stride_bh
    row_base = bh.to(tl.int64) * S

    qs = start_m + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    q_ok = qs < S
    q_offs = qs[:, None] * stride_s + dims[None, :]
    q = tl.load(q_ptr + base + q_offs, mask=q_ok[:, None], other=0.0)
    do = tl.load(do_ptr + base + q_offs, mask=q_ok[:, None], other=0.0)
    lse = tl.load(lse_ptr + row_base + qs, mask=q_ok, other=0.0)
    delta = tl.load(delta_ptr + row_base + qs, mask=q_ok, other=0.0)

    dq = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)

    if CAUSAL:
        hi = tl.minimum(start_m + BLOCK_M, S)
    else:
        hi = S
    for start_n in range(0, hi, BLOCK_N):
        keys = start_n + tl.arange(0, BLOCK_N)
        key_ok = keys < S
        kv_offs = keys[:, None] * stride_s + dims[None, :]
        k = tl.load(k_ptr + base + kv_offs, mask=key_ok[:, None], other=0.0)
        v = tl.load(v_ptr + base + kv_offs, mask=key_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)) * scale                       # (BLOCK_M, BLOCK_N)
        visible = q_ok[:, None] & key_ok[None, :]
        if CAUSAL:
            visible = visible & (keys[None, :] <= qs[:, None])
        p = tl.where(visible, tl.exp(s - lse[:, None]), 0.0)

        dp = tl.dot(do, tl.trans(v)).to(tl.float32)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k)

    tl.store(dq_ptr + base + q_offs, (dq * scale).to(dq_ptr.dtype.element_ty), mask=q_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)

    n_rows = B * H * S
    delta_kernel[(triton.cdiv(n_rows, DELTA_BLOCK),)](o, do, delta, n_rows, HEAD_DIM=D, BLOCK=DELTA_BLOCK)

    grid = (triton.cdiv(S, BLOCK), B * H)
    dkdv_kernel[grid](
        q, k, v, do, lse, delta, dk, dv, S, scale, q.stride(1), q.stride(2),
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK, BLOCK_N=BLOCK,
    )
    dq_kernel[grid](
        q, k, v, do, lse, delta, dq, S, scale, q.stride(1), q.stride(2),
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
    print("level 9 self-check passed")
