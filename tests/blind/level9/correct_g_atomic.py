"""Level 9 - Flash Attention backward (seventh author's version).

Two launches: a delta kernel, then one kernel per key tile that accumulates dK and dV in registers
while scattering its dQ contributions into a float32 buffer with atomic adds (FlashAttention-1 style).
Probabilities are recomputed with the natural exp from the natural-log lse.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
if INTERPRETED:
    BLOCK_M, BLOCK_N, DELTA_BLOCK = 16, 32, 64
else:
    BLOCK_M, BLOCK_N, DELTA_BLOCK = 32, 64, 64


@triton.jit
def delta_kernel(o_ptr, do_ptr, delta_ptr, n_rows, HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr):
    # The (B*H*S) rows are treated as one flat list.
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    d = tl.arange(0, HEAD_DIM)
    mask = rows[:, None] < n_rows
    off = rows.to(tl.int64)[:, None] * HEAD_DIM + d[None, :]
    o = tl.load(o_ptr + off, mask=mask, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + off, mask=mask, other=0.0).to(tl.float32)
    tl.store(delta_ptr + rows, tl.sum(o * do, axis=1), mask=rows < n_rows)


@triton.jit
def bwd_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_acc_ptr, dk_ptr, dv_ptr,
    S, scale, stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_N % BLOCK_M == 0)
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1).to(tl.int64)
    head = bh * stride_bh
    row_base = bh * S
    d = tl.arange(0, HEAD_DIM)
    k_idx = start_n + tl.arange(0, BLOCK_N)
    k_ok = k_idx < S
    kv_off = head + k_idx[:, None] * stride_s + d[None, :]
    k = tl.load(k_ptr + kv_off, mask=k_ok[:, None], other=0.0)
    v = tl.load(v_ptr + kv_off, mask=k_ok[:, None], other=0.0)
    dk = tl.zeros((BLOCK_N, HEAD_DIM), tl.float32)
    dv = tl.zeros((BLOCK_N, HEAD_DIM), tl.float32)
    if CAUSAL:
        lo = start_n
    else:
        lo = 0
    for start_m in range(lo, S, BLOCK_M):
        q_idx = start_m + tl.arange(0, BLOCK_M)
        q_ok = q_idx < S
        q_off = head + q_idx[:, None] * stride_s + d[None, :]
        q = tl.load(q_ptr + q_off, mask=q_ok[:, None], other=0.0)
        do = tl.load(do_ptr + q_off, mask=q_ok[:, None], other=0.0)
        lse = tl.load(lse_ptr + row_base + q_idx, mask=q_ok, other=0.0)
        delta = tl.load(delta_ptr + row_base + q_idx, mask=q_ok, other=0.0)
        sT = tl.dot(k, tl.trans(q)) * scale  # (BLOCK_N, BLOCK_M)
        visible = k_ok[:, None] & q_ok[None, :]
        if CAUSAL:
            visible = visible & (q_idx[None, :] >= k_idx[:, None])
        pT = tl.where(visible, tl.exp(sT - lse[None, :]), 0.0)
        dv += tl.dot(pT.to(do.dtype), do)
        dpT = tl.dot(v, tl.trans(do))
        dsT = pT * (dpT - delta[None, :])
        dsT_lo = dsT.to(q.dtype)
        dk += tl.dot(dsT_lo, q)
        dq_part = tl.dot(tl.trans(dsT_lo), k) * scale  # (BLOCK_M, HEAD_DIM)
        tl.atomic_add(dq_acc_ptr + q_off, dq_part, mask=q_ok[:, None])
    tl.store(dk_ptr + kv_off, (dk * scale).to(dk_ptr.dtype.element_ty), mask=k_ok[:, None])
    tl.store(dv_ptr + kv_off, dv.to(dv_ptr.dtype.element_ty), mask=k_ok[:, None])


@triton.jit
def cast_kernel(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(dst_ptr + offs, tl.load(src_ptr + offs, mask=offs < n).to(dst_ptr.dtype.element_ty), mask=offs < n)


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dk, dv = torch.empty_like(k), torch.empty_like(v)
    dq_acc = torch.zeros((B, H, S, D), device=q.device, dtype=torch.float32)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    n_rows = B * H * S
    delta_kernel[(triton.cdiv(n_rows, DELTA_BLOCK),)](o, do, delta, n_rows, HEAD_DIM=D, BLOCK=DELTA_BLOCK)
    bwd_kernel[(triton.cdiv(S, BLOCK_N), B * H)](
        q, k, v, do, lse, delta, dq_acc, dk, dv,
        S, scale, q.stride(1), q.stride(2),
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    dq = torch.empty_like(q)
    cast_kernel[(triton.cdiv(dq.numel(), 1024),)](dq_acc, dq, dq.numel(), BLOCK=1024)
    return dq, dk, dv
