"""Level 9 - Flash Attention backward (my version: square tiles, scores kept in (query, key) layout)."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634

BLOCK = 16 if INTERPRETED else 64


@triton.jit
def delta_kernel(o_ptr, do_ptr, delta_ptr, S, stride_bh, stride_s, HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr):
    rb = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    rows = rb * BLOCK + tl.arange(0, BLOCK)
    d = tl.arange(0, HEAD_DIM)
    offs = bh * stride_bh + rows[:, None] * stride_s + d[None, :]
    m = rows[:, None] < S
    o = tl.load(o_ptr + offs, mask=m, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + offs, mask=m, other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh * S + rows, tl.sum(o * do, axis=1), mask=rows < S)


@triton.jit
def dkdv_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK: tl.constexpr,
):
    nb = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    base = bh * stride_bh
    d = tl.arange(0, HEAD_DIM)
    kv_idx = nb * BLOCK + tl.arange(0, BLOCK)
    kv_ok = kv_idx < S
    k = tl.load(k_ptr + base + kv_idx[:, None] * stride_s + d[None, :], mask=kv_ok[:, None], other=0.0)
    v = tl.load(v_ptr + base + kv_idx[:, None] * stride_s + d[None, :], mask=kv_ok[:, None], other=0.0)
    dk = tl.zeros((BLOCK, HEAD_DIM), dtype=tl.float32)
    dv = tl.zeros((BLOCK, HEAD_DIM), dtype=tl.float32)

    first = nb * BLOCK if CAUSAL else 0
    for start in range(first, S, BLOCK):
        q_idx = start + tl.arange(0, BLOCK)
        q_ok = q_idx < S
        q = tl.load(q_ptr + base + q_idx[:, None] * stride_s + d[None, :], mask=q_ok[:, None], other=0.0)
        do = tl.load(do_ptr + base + q_idx[:, None] * stride_s + d[None, :], mask=q_ok[:, None], other=0.0)
        lse = tl.load(lse_ptr + bh * S + q_idx, mask=q_ok, other=0.0)
        dlt = tl.load(delta_ptr + bh * S + q_idx, mask=q_ok, other=0.0)

        s = tl.dot(q, tl.trans(k)) * qk_scale                      # (queries, keys)
        p = tl.exp2(s - lse[:, None] * 1.4426950408889634)
        keep = q_ok[:, None] & kv_ok[None, :]
        if CAUSAL:
            keep = keep & (q_idx[:, None] >= kv_idx[None, :])
        p = tl.where(keep, p, 0.0)

        dv += tl.dot(tl.trans(p.to(do.dtype)), do)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - dlt[:, None])
        dk += tl.dot(tl.trans(ds.to(q.dtype)), q)

    out_offs = base + kv_idx[:, None] * stride_s + d[None, :]
    tl.store(dk_ptr + out_offs, (dk * scale).to(dk_ptr.dtype.element_ty), mask=kv_ok[:, None])
    tl.store(dv_ptr + out_offs, dv.to(dv_ptr.dtype.element_ty), mask=kv_ok[:, None])


@triton.jit
def dq_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK: tl.constexpr,
):
    mb = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    base = bh * stride_bh
    d = tl.arange(0, HEAD_DIM)
    q_idx = mb * BLOCK + tl.arange(0, BLOCK)
    q_ok = q_idx < S
    q = tl.load(q_ptr + base + q_idx[:, None] * stride_s + d[None, :], mask=q_ok[:, None], other=0.0)
    do = tl.load(do_ptr + base + q_idx[:, None] * stride_s + d[None, :], mask=q_ok[:, None], other=0.0)
    lse2 = tl.load(lse_ptr + bh * S + q_idx, mask=q_ok, other=0.0) * 1.4426950408889634
    dlt = tl.load(delta_ptr + bh * S + q_idx, mask=q_ok, other=0.0)
    dq = tl.zeros((BLOCK, HEAD_DIM), dtype=tl.float32)

    last = mb * BLOCK if CAUSAL else S
    for start in range(0, last, BLOCK):
        kv_idx = start + tl.arange(0, BLOCK)
        kv_ok = kv_idx < S
        k = tl.load(k_ptr + base + kv_idx[:, None] * stride_s + d[None, :], mask=kv_ok[:, None], other=0.0)
        v = tl.load(v_ptr + base + kv_idx[:, None] * stride_s + d[None, :], mask=kv_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)) * qk_scale
        p = tl.exp2(s - lse2[:, None])
        keep = q_ok[:, None] & kv_ok[None, :]
        if CAUSAL:
            keep = keep & (q_idx[:, None] >= kv_idx[None, :])
        p = tl.where(keep, p, 0.0)

        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - dlt[:, None])
        dq += tl.dot(ds.to(k.dtype), k)

    tl.store(dq_ptr + base + q_idx[:, None] * stride_s + d[None, :], (dq * scale).to(dq_ptr.dtype.element_ty),
             mask=q_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    grid = (triton.cdiv(S, BLOCK), B * H)
    sbh, ss = q.stride(1), q.stride(2)
    delta_kernel[grid](o, do, delta, S, sbh, ss, HEAD_DIM=D, BLOCK=BLOCK)
    dkdv_kernel[grid](q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, sbh, ss,
                      HEAD_DIM=D, CAUSAL=bool(causal), BLOCK=BLOCK)
    dq_kernel[grid](q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, sbh, ss,
                    HEAD_DIM=D, CAUSAL=bool(causal), BLOCK=BLOCK)
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
    print("ok")
