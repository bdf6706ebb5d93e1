"""Level 9 - Flash Attention backward: recompute P from lse, one sweep for dK/dV, one for dQ.

Three launches: delta = rowsum(dO * O); a key-tile program accumulating dK and dV over the query
tiles that see it; a query-tile program accumulating dQ over the key tiles it sees.
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

ROWS = 32
TILE_Q, TILE_K = (32, 32) if INTERPRETED else (64, 64)


@triton.jit
def _row_dot_kernel(o_ptr, g_ptr, delta_ptr, S, head_stride, row_stride,
                    HEAD_DIM: tl.constexpr, ROWS: tl.constexpr):
    blk = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    r = blk * ROWS + tl.arange(0, ROWS)
    c = tl.arange(0, HEAD_DIM)
    live = r < S
    where = head * head_stride + r[:, None] * row_stride + c[None, :]
    o = tl.load(o_ptr + where, mask=live[:, None], other=0.0).to(tl.float32)
    g = tl.load(g_ptr + where, mask=live[:, None], other=0.0).to(tl.float32)
    tl.store(delta_ptr + r, tl.sum(o * g, axis=1), mask=live)


@triton.jit
def _key_side_kernel(q_ptr, k_ptr, v_ptr, g_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
                     S, sm_scale, head_stride, row_stride,
                     HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
                     TQ: tl.constexpr, TK: tl.constexpr):
    kb = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    base = head * head_stride
    c = tl.arange(0, HEAD_DIM)
    kj = kb * TK + tl.arange(0, TK)
    k_live = kj < S
    kv_where = base + kj[:, None] * row_stride + c[None, :]
    kt = tl.load(k_ptr + kv_where, mask=k_live[:, None], other=0.0)
    vt = tl.load(v_ptr + kv_where, mask=k_live[:, None], other=0.0)
    scale2 = sm_scale * 1.4426950408889634

    dk = tl.zeros((TK, HEAD_DIM), dtype=tl.float32)
    dv = tl.zeros((TK, HEAD_DIM), dtype=tl.float32)

    first_q = 0
    if CAUSAL:
        first_q = (kb * TK // TQ) * TQ
    for q0 in range(first_q, S, TQ):
        qi = q0 + tl.arange(0, TQ)
        q_live = qi < S
        q_where = base + qi[:, None] * row_stride + c[None, :]
        qt = tl.load(q_ptr + q_where, mask=q_live[:, None], other=0.0)
        gt = tl.load(g_ptr + q_where, mask=q_live[:, None], other=0.0)
        lse2 = tl.load(lse_ptr + head * S + qi, mask=q_live, other=0.0) * 1.4426950408889634
        dl = tl.load(delta_ptr + head * S + qi, mask=q_live, other=0.0)

        s = tl.dot(qt, tl.trans(kt)) * scale2                      # (TQ, TK)
        keep = q_live[:, None] & k_live[None, :]
        if CAUSAL:
            keep = keep & (kj[None, :] <= qi[:, None])
        p = tl.where(keep, tl.exp2(s - lse2[:, None]), 0.0)

        dv += tl.dot(tl.trans(p.to(gt.dtype)), gt)
        dp = tl.dot(gt, tl.trans(vt))                              # (TQ, TK)
        ds = p * (dp - dl[:, None])
        dk += tl.dot(tl.trans(ds.to(qt.dtype)), qt)

    tl.store(dk_ptr + kv_where, (dk * sm_scale).to(dk_ptr.dtype.element_ty), mask=k_live[:, None])
    tl.store(dv_ptr + kv_where, dv.to(dv_ptr.dtype.element_ty), mask=k_live[:, None])


@triton.jit
def _query_side_kernel(q_ptr, k_ptr, v_ptr, g_ptr, lse_ptr, delta_ptr, dq_ptr,
                       S, sm_scale, head_stride, row_stride,
                       HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
                       TQ: tl.constexpr, TK: tl.constexpr):
    qb = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    base = head * head_stride
    c = tl.arange(0, HEAD_DIM)
    qi = qb * TQ + tl.arange(0, TQ)
    q_live = qi < S
    q_where = base + qi[:, None] * row_stride + c[None, :]
    qt = tl.load(q_ptr + q_where, mask=q_live[:, None], other=0.0)
    gt = tl.load(g_ptr + q_where, mask=q_live[:, None], other=0.0)
    lse2 = tl.load(lse_ptr + head * S + qi, mask=q_live, other=0.0) * 1.4426950408889634
    dl = tl.load(delta_ptr + head * S + qi, mask=q_live, other=0.0)
    scale2 = sm_scale * 1.4426950408889634

    dq = tl.zeros((TQ, HEAD_DIM), dtype=tl.float32)
    last_k = S
    if CAUSAL:
        last_k = tl.minimum((qb + 1) * TQ, S)
    for k0 in range(0, last_k, TK):
        kj = k0 + tl.arange(0, TK)
        k_live = kj < S
        kv_where = base + kj[:, None] * row_stride + c[None, :]
        kt = tl.load(k_ptr + kv_where, mask=k_live[:, None], other=0.0)
        vt = tl.load(v_ptr + kv_where, mask=k_live[:, None], other=0.0)

        s = tl.dot(qt, tl.trans(kt)) * scale2
        keep = q_live[:, None] & k_live[None, :]
        if CAUSAL:
            keep = keep & (kj[None, :] <= qi[:, None])
        p = tl.where(keep, tl.exp2(s - lse2[:, None]), 0.0)
        dp = tl.dot(gt, tl.trans(vt))
        ds = p * (dp - dl[:, None])
        dq += tl.dot(ds.to(kt.dtype), kt)

    tl.store(dq_ptr + q_where, (dq * sm_scale).to(dq_ptr.dtype.element_ty), mask=q_live[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    hs, rs = q.stride(1), q.stride(2)

    _row_dot_kernel[(triton.cdiv(S, ROWS), B * H)](o, do, delta, S, hs, rs, HEAD_DIM=D, ROWS=ROWS)
    _key_side_kernel[(triton.cdiv(S, TILE_K), B * H)](
        q, k, v, do, lse, delta, dk, dv, S, scale, hs, rs,
        HEAD_DIM=D, CAUSAL=bool(causal), TQ=TILE_Q, TK=TILE_K,
    )
    _query_side_kernel[(triton.cdiv(S, TILE_Q), B * H)](
        q, k, v, do, lse, delta, dq, S, scale, hs, rs,
        HEAD_DIM=D, CAUSAL=bool(causal), TQ=TILE_Q, TK=TILE_K,
    )
    return dq, dk, dv
