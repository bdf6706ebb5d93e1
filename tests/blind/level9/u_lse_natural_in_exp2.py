"""Level 9 - Flash Attention backward: recompute the probabilities, walk the tiles twice."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634  # log2(e): exp(x) == exp2(x * LOG2E)

# square tiles everywhere: the key tile and the query tile have the same size
TILE = 16 if INTERPRETED else 64
DELTA_ROWS = 32


@triton.jit
def delta_kernel(
    o_ptr, do_ptr, delta_ptr,
    S, stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr,
):
    """delta[bh, i] = sum_d dO[bh, i, d] * O[bh, i, d], in float32."""
    bh = tl.program_id(1).to(tl.int64)
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    dims = tl.arange(0, HEAD_DIM)
    offs = bh * stride_bh + rows[:, None] * stride_s + dims[None, :]
    ok = rows[:, None] < S
    o = tl.load(o_ptr + offs, mask=ok, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + offs, mask=ok, other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh * S + rows, tl.sum(o * do, axis=1), mask=rows < S)


@triton.jit
def dkdv_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, T: tl.constexpr,
):
    """dK and dV for T keys of one (batch, head): walk every query tile that may see them."""
    start_n = tl.program_id(0) * T
    bh = tl.program_id(1).to(tl.int64)
    base = bh * stride_bh
    offs_n = start_n + tl.arange(0, T)
    dims = tl.arange(0, HEAD_DIM)
    kv_offs = base + offs_n[:, None] * stride_s + dims[None, :]
    k = tl.load(k_ptr + kv_offs, mask=offs_n[:, None] < S, other=0.0)
    v = tl.load(v_ptr + kv_offs, mask=offs_n[:, None] < S, other=0.0)
    dk = tl.zeros((T, HEAD_DIM), dtype=tl.float32)
    dv = tl.zeros((T, HEAD_DIM), dtype=tl.float32)

    lo = 0
    if CAUSAL:
        lo = start_n
    for start_m in range(lo, S, T):
        offs_m = start_m + tl.arange(0, T)
        row_ok = offs_m < S
        q_offs = base + offs_m[:, None] * stride_s + dims[None, :]
        q = tl.load(q_ptr + q_offs, mask=row_ok[:, None], other=0.0)
        do = tl.load(do_ptr + q_offs, mask=row_ok[:, None], other=0.0)
        lse2 = tl.load(lse_ptr + bh * S + offs_m, mask=row_ok, other=0.0)
        delta = tl.load(delta_ptr + bh * S + offs_m, mask=row_ok, other=0.0)

        s = tl.dot(q, tl.trans(k)) * qk_scale                   # (queries, keys)
        keep = row_ok[:, None] & (offs_n[None, :] < S)
        if CAUSAL:
            keep = keep & (offs_n[None, :] <= offs_m[:, None])
        p = tl.where(keep, tl.math.exp2(s - lse2[:, None]), 0.0)
        dv += tl.dot(tl.trans(p.to(do.dtype)), do)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dk += tl.dot(tl.trans(ds.to(q.dtype)), q)

    ok = offs_n[:, None] < S
    tl.store(dk_ptr + kv_offs, (dk * scale).to(dk_ptr.dtype.element_ty), mask=ok)
    tl.store(dv_ptr + kv_offs, dv.to(dv_ptr.dtype.element_ty), mask=ok)


@triton.jit
def dq_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, T: tl.constexpr,
):
    """dQ for T queries of one (batch, head): walk every key tile they may see."""
    start_m = tl.program_id(0) * T
    bh = tl.program_id(1).to(tl.int64)
    base = bh * stride_bh
    offs_m = start_m + tl.arange(0, T)
    dims = tl.arange(0, HEAD_DIM)
    row_ok = offs_m < S
    q_offs = base + offs_m[:, None] * stride_s + dims[None, :]
    q = tl.load(q_ptr + q_offs, mask=row_ok[:, None], other=0.0)
    do = tl.load(do_ptr + q_offs, mask=row_ok[:, None], other=0.0)
    lse2 = tl.load(lse_ptr + bh * S + offs_m, mask=row_ok, other=0.0)
    delta = tl.load(delta_ptr + bh * S + offs_m, mask=row_ok, other=0.0)
    dq = tl.zeros((T, HEAD_DIM), dtype=tl.float32)

    hi = S
    if CAUSAL:
        hi = tl.minimum(start_m + T, S)
    for start_n in range(0, hi, T):
        offs_n = start_n + tl.arange(0, T)
        col_ok = offs_n < S
        kv_offs = base + offs_n[:, None] * stride_s + dims[None, :]
        k = tl.load(k_ptr + kv_offs, mask=col_ok[:, None], other=0.0)
        v = tl.load(v_ptr + kv_offs, mask=col_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)) * qk_scale
        keep = row_ok[:, None] & col_ok[None, :]
        if CAUSAL:
            keep = keep & (offs_n[None, :] <= offs_m[:, None])
        p = tl.where(keep, tl.math.exp2(s - lse2[:, None]), 0.0)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k)

    tl.store(dq_ptr + q_offs, (dq * scale).to(dq_ptr.dtype.element_ty), mask=row_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    sbh, ss = q.stride(1), q.stride(2)
    delta_kernel[(triton.cdiv(S, DELTA_ROWS), B * H)](o, do, delta, S, sbh, ss, HEAD_DIM=D, BLOCK=DELTA_ROWS)
    grid = (triton.cdiv(S, TILE), B * H)
    dkdv_kernel[grid](
        q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, sbh, ss,
        HEAD_DIM=D, CAUSAL=bool(causal), T=TILE,
    )
    dq_kernel[grid](
        q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, sbh, ss,
        HEAD_DIM=D, CAUSAL=bool(causal), T=TILE,
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
