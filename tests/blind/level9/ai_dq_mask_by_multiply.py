"""Level 9 - Flash Attention backward: recompute P from lse, one kernel for delta, one for dK/dV,
one for dQ (FlashAttention-2 split). No S x S buffer is ever stored."""

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
    ROWS_PER_DELTA = 32
    KV_TILE, KV_QSTEP = 32, 16      # dK/dV: keys owned, queries per step
    Q_TILE, Q_KSTEP = 32, 16        # dQ: queries owned, keys per step
else:
    ROWS_PER_DELTA = 64
    KV_TILE, KV_QSTEP = 64, 32
    Q_TILE, Q_KSTEP = 64, 32


@triton.jit
def _row_dot_kernel(o_ptr, do_ptr, delta_ptr, seq_len, head_stride, row_stride,
                    D: tl.constexpr, ROWS: tl.constexpr):
    pid_rows = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    r = pid_rows * ROWS + tl.arange(0, ROWS)
    c = tl.arange(0, D)
    ok = r < seq_len
    offs = head * head_stride + r[:, None] * row_stride + c[None, :]
    o_t = tl.load(o_ptr + offs, mask=ok[:, None], other=0.0).to(tl.float32)
    g_t = tl.load(do_ptr + offs, mask=ok[:, None], other=0.0).to(tl.float32)
    tl.store(delta_ptr + head * seq_len + r, tl.sum(o_t * g_t, axis=1), mask=ok)


@triton.jit
def _grad_kv_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
                    seq_len, sm_scale, log2_scale, head_stride, row_stride,
                    D: tl.constexpr, IS_CAUSAL: tl.constexpr,
                    KEYS: tl.constexpr, QSTEP: tl.constexpr):
    key0 = tl.program_id(0) * KEYS
    head = tl.program_id(1).to(tl.int64)
    base = head * head_stride
    kr = key0 + tl.arange(0, KEYS)
    c = tl.arange(0, D)
    k_ok = kr < seq_len
    kv_offs = base + kr[:, None] * row_stride + c[None, :]
    k_t = tl.load(k_ptr + kv_offs, mask=k_ok[:, None], other=0.0)
    v_t = tl.load(v_ptr + kv_offs, mask=k_ok[:, None], other=0.0)
    grad_k = tl.zeros((KEYS, D), dtype=tl.float32)
    grad_v = tl.zeros((KEYS, D), dtype=tl.float32)

    if IS_CAUSAL:
        first = key0
    else:
        first = 0
    for q0 in range(first, seq_len, QSTEP):
        qr = q0 + tl.arange(0, QSTEP)
        q_ok = qr < seq_len
        q_offs = base + qr[:, None] * row_stride + c[None, :]
        q_t = tl.load(q_ptr + q_offs, mask=q_ok[:, None], other=0.0)
        g_t = tl.load(do_ptr + q_offs, mask=q_ok[:, None], other=0.0)
        lse_r = tl.load(lse_ptr + head * seq_len + qr, mask=q_ok, other=0.0) * 1.4426950408889634
        dl_r = tl.load(delta_ptr + head * seq_len + qr, mask=q_ok, other=0.0)
        scores_t = tl.dot(k_t, tl.trans(q_t)) * log2_scale          # (KEYS, QSTEP)
        p_t = tl.math.exp2(scores_t - lse_r[None, :])
        if IS_CAUSAL:
            p_t = tl.where(qr[None, :] >= kr[:, None], p_t, 0.0)
        grad_v += tl.dot(p_t.to(g_t.dtype), g_t)
        dp_t = tl.dot(v_t, tl.trans(g_t))
        ds_t = p_t * (dp_t - dl_r[None, :])
        grad_k += tl.dot(ds_t.to(q_t.dtype), q_t)

    out_ty = dk_ptr.dtype.element_ty
    tl.store(dk_ptr + kv_offs, (grad_k * sm_scale).to(out_ty), mask=k_ok[:, None])
    tl.store(dv_ptr + kv_offs, grad_v.to(out_ty), mask=k_ok[:, None])


@triton.jit
def _grad_q_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
                   seq_len, sm_scale, log2_scale, head_stride, row_stride,
                   D: tl.constexpr, IS_CAUSAL: tl.constexpr,
                   QUERIES: tl.constexpr, KSTEP: tl.constexpr):
    q0 = tl.program_id(0) * QUERIES
    head = tl.program_id(1).to(tl.int64)
    base = head * head_stride
    qr = q0 + tl.arange(0, QUERIES)
    c = tl.arange(0, D)
    q_ok = qr < seq_len
    q_offs = base + qr[:, None] * row_stride + c[None, :]
    q_t = tl.load(q_ptr + q_offs, mask=q_ok[:, None], other=0.0)
    g_t = tl.load(do_ptr + q_offs, mask=q_ok[:, None], other=0.0)
    lse_r = tl.load(lse_ptr + head * seq_len + qr, mask=q_ok, other=0.0) * 1.4426950408889634
    dl_r = tl.load(delta_ptr + head * seq_len + qr, mask=q_ok, other=0.0)
    grad_q = tl.zeros((QUERIES, D), dtype=tl.float32)

    if IS_CAUSAL:
        last = tl.minimum(q0 + QUERIES, seq_len)
    else:
        last = seq_len
    for k0 in range(0, last, KSTEP):
        kr = k0 + tl.arange(0, KSTEP)
        k_ok = kr < seq_len
        kv_offs = base + kr[:, None] * row_stride + c[None, :]
        k_t = tl.load(k_ptr + kv_offs, mask=k_ok[:, None], other=0.0)
        v_t = tl.load(v_ptr + kv_offs, mask=k_ok[:, None], other=0.0)
        scores = tl.dot(q_t, tl.trans(k_t)) * log2_scale             # (QUERIES, KSTEP)
        p = tl.math.exp2(scores - lse_r[:, None])
        seen = k_ok[None, :]
        if IS_CAUSAL:
            seen = seen & (kr[None, :] <= qr[:, None])
        p = p * seen.to(tl.float32)
        dp = tl.dot(g_t, tl.trans(v_t))
        ds = p * (dp - dl_r[:, None])
        grad_q += tl.dot(ds.to(k_t.dtype), k_t)

    tl.store(dq_ptr + q_offs, (grad_q * sm_scale).to(dq_ptr.dtype.element_ty), mask=q_ok[:, None])


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
    _row_dot_kernel[(triton.cdiv(S, ROWS_PER_DELTA), B * H)](
        o, do, delta, S, hs, rs, D=D, ROWS=ROWS_PER_DELTA)
    _grad_kv_kernel[(triton.cdiv(S, KV_TILE), B * H)](
        q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, hs, rs,
        D=D, IS_CAUSAL=bool(causal), KEYS=KV_TILE, QSTEP=KV_QSTEP)
    _grad_q_kernel[(triton.cdiv(S, Q_TILE), B * H)](
        q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, hs, rs,
        D=D, IS_CAUSAL=bool(causal), QUERIES=Q_TILE, KSTEP=Q_KSTEP)
    return dq, dk, dv
