"""Level 9 - Flash Attention backward: recompute P tile by tile from q, k and lse, walk the tiles twice.

Three launches: delta = rowsum(dO * O); a key-tile kernel accumulating dK, dV over query tiles; a
query-tile kernel accumulating dQ over key tiles. Masks are applied inline with tl.where.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634

if INTERPRETED:
    KV_KEYS, KV_QUERIES, Q_QUERIES, Q_KEYS = 32, 16, 32, 16
else:
    KV_KEYS, KV_QUERIES, Q_QUERIES, Q_KEYS = 64, 32, 64, 32
ROWS = 32


@triton.jit
def delta_kernel(o_ptr, do_ptr, delta_ptr, S, stride_bh, stride_s,
                 HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr):
    bh = tl.program_id(0).to(tl.int64)
    idx = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    dims = tl.arange(0, HEAD_DIM)
    live = idx < S
    off = bh * stride_bh + idx[:, None] * stride_s + dims[None, :]
    o = tl.load(o_ptr + off, mask=live[:, None], other=0.0).to(tl.float32)
    g = tl.load(do_ptr + off, mask=live[:, None], other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh * S + idx, tl.sum(o * g, axis=1), mask=live)


@triton.jit
def dkdv_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
                S, scale, qk_scale, stride_bh, stride_s,
                HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
                BLOCK_Q: tl.constexpr, BLOCK_K: tl.constexpr):
    bh = tl.program_id(0).to(tl.int64)
    kstart = tl.program_id(1) * BLOCK_K
    keys = kstart + tl.arange(0, BLOCK_K)
    dims = tl.arange(0, HEAD_DIM)
    key_live = keys < S
    head_off = bh * stride_bh
    kv_off = head_off + keys[:, None] * stride_s + dims[None, :]
    kt = tl.load(k_ptr + kv_off, mask=key_live[:, None], other=0.0)
    vt = tl.load(v_ptr + kv_off, mask=key_live[:, None], other=0.0)

    dk_acc = tl.zeros((BLOCK_K, HEAD_DIM), dtype=tl.float32)
    dv_acc = tl.zeros((BLOCK_K, HEAD_DIM), dtype=tl.float32)

    if CAUSAL:
        first = kstart
    else:
        first = 0
    for qstart in range(first, S, BLOCK_Q):
        qs = qstart + tl.arange(0, BLOCK_Q)
        q_live = qs < S
        q_off = head_off + qs[:, None] * stride_s + dims[None, :]
        qt = tl.load(q_ptr + q_off, mask=q_live[:, None], other=0.0)
        gt = tl.load(do_ptr + q_off, mask=q_live[:, None], other=0.0)
        lse_row = tl.load(lse_ptr + bh * S + qs, mask=q_live, other=0.0)
        dlt = tl.load(delta_ptr + bh * S + qs, mask=q_live, other=0.0)

        # transposed tile: keys along rows, queries along columns
        sT = tl.dot(kt, tl.trans(qt)) * qk_scale
        ok = q_live[None, :] & key_live[:, None]
        if CAUSAL:
            ok = ok & (qs[None, :] >= keys[:, None])
        pT = tl.where(ok, tl.math.exp2(sT - lse_row[None, :]), 0.0)

        dv_acc += tl.dot(pT.to(gt.dtype), gt)
        dpT = tl.dot(vt, tl.trans(gt))
        dsT = pT * (dpT - dlt[None, :])
        dk_acc += tl.dot(dsT.to(qt.dtype), qt)

    tl.store(dk_ptr + kv_off, (dk_acc * scale).to(dk_ptr.dtype.element_ty), mask=key_live[:, None])
    tl.store(dv_ptr + kv_off, dv_acc.to(dv_ptr.dtype.element_ty), mask=key_live[:, None])


@triton.jit
def dq_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
              S, scale, qk_scale, stride_bh, stride_s,
              HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
              BLOCK_Q: tl.constexpr, BLOCK_K: tl.constexpr):
    bh = tl.program_id(0).to(tl.int64)
    qstart = tl.program_id(1) * BLOCK_Q
    qs = qstart + tl.arange(0, BLOCK_Q)
    dims = tl.arange(0, HEAD_DIM)
    q_live = qs < S
    head_off = bh * stride_bh
    q_off = head_off + qs[:, None] * stride_s + dims[None, :]
    qt = tl.load(q_ptr + q_off, mask=q_live[:, None], other=0.0)
    gt = tl.load(do_ptr + q_off, mask=q_live[:, None], other=0.0)
    lse2 = tl.load(lse_ptr + bh * S + qs, mask=q_live, other=0.0) * 1.4426950408889634
    dlt = tl.load(delta_ptr + bh * S + qs, mask=q_live, other=0.0)

    dq_acc = tl.zeros((BLOCK_Q, HEAD_DIM), dtype=tl.float32)
    if CAUSAL:
        stop = tl.minimum(qstart + BLOCK_Q, S)
    else:
        stop = S
    for kstart in range(0, stop, BLOCK_K):
        keys = kstart + tl.arange(0, BLOCK_K)
        key_live = keys < S
        kv_off = head_off + keys[:, None] * stride_s + dims[None, :]
        kt = tl.load(k_ptr + kv_off, mask=key_live[:, None], other=0.0)
        vt = tl.load(v_ptr + kv_off, mask=key_live[:, None], other=0.0)

        s = tl.dot(qt, tl.trans(kt)) * qk_scale
        ok = key_live[None, :] & q_live[:, None]
        if CAUSAL:
            ok = ok & (keys[None, :] <= qs[:, None])
        p = tl.where(ok, tl.math.exp2(s - lse2[:, None]), 0.0)
        dp = tl.dot(gt, tl.trans(vt))
        ds = p * (dp - dlt[:, None])
        dq_acc += tl.dot(ds.to(kt.dtype), kt)

    tl.store(dq_ptr + q_off, (dq_acc * scale).to(dq_ptr.dtype.element_ty), mask=q_live[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q, k, v, o, do = (t.contiguous() for t in (q, k, v, o, do))
    lse = lse.contiguous().float()
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    sbh, ss = q.stride(1), q.stride(2)
    BH = B * H

    delta_kernel[(BH, triton.cdiv(S, ROWS))](o, do, delta, S, sbh, ss, HEAD_DIM=D, BLOCK=ROWS)
    dkdv_kernel[(BH, triton.cdiv(S, KV_KEYS))](
        q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, sbh, ss,
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_Q=KV_QUERIES, BLOCK_K=KV_KEYS)
    dq_kernel[(BH, triton.cdiv(S, Q_QUERIES))](
        q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, sbh, ss,
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_Q=Q_QUERIES, BLOCK_K=Q_KEYS)
    return dq, dk, dv
