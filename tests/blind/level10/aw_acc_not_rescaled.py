"""Level 10 - Grouped-query attention.

Query head h reads key/value head h // (Hq // Hkv) in place: one flash-attention launch, k and v never
repeated. One program per (batch * query head, query tile), online softmax in base 2.
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
BM, BN = (32, 32) if INTERPRETED else (64, 64)


@triton.jit
def _gqa_fwd(
    q_ptr, k_ptr, v_ptr, o_ptr,
    S, H_Q, H_KV, qk_scale,
    q_head_stride, kv_head_stride, row_stride,
    GROUP: tl.constexpr, D: tl.constexpr, CAUSAL: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
):
    bhq = tl.program_id(0)
    tile = tl.program_id(1)
    batch = bhq // H_Q
    qh = bhq % H_Q
    kv_row = batch * H_KV + qh // GROUP

    q_base = q_ptr + bhq.to(tl.int64) * q_head_stride
    o_base = o_ptr + bhq.to(tl.int64) * q_head_stride
    k_base = k_ptr + kv_row.to(tl.int64) * kv_head_stride
    v_base = v_ptr + kv_row.to(tl.int64) * kv_head_stride

    rows = tile * BM + tl.arange(0, BM)
    cols = tl.arange(0, D)
    row_ok = rows < S
    qt = tl.load(q_base + rows[:, None] * row_stride + cols[None, :], mask=row_ok[:, None], other=0.0)

    run_max = tl.full((BM,), float("-inf"), dtype=tl.float32)
    run_sum = tl.zeros((BM,), dtype=tl.float32)
    acc = tl.zeros((BM, D), dtype=tl.float32)

    end = S
    if CAUSAL:
        end = tl.minimum((tile + 1) * BM, S)
    for n0 in range(0, end, BN):
        keys = n0 + tl.arange(0, BN)
        key_ok = keys < S
        kt = tl.load(k_base + keys[:, None] * row_stride + cols[None, :], mask=key_ok[:, None], other=0.0)
        vt = tl.load(v_base + keys[:, None] * row_stride + cols[None, :], mask=key_ok[:, None], other=0.0)

        s = tl.dot(qt, tl.trans(kt)) * qk_scale
        vis = key_ok[None, :]
        if CAUSAL:
            vis = vis & (keys[None, :] <= rows[:, None])
        s = tl.where(vis, s, float("-inf"))

        new_max = tl.maximum(run_max, tl.max(s, axis=1))
        alpha = tl.exp2(run_max - new_max)
        p = tl.exp2(s - new_max[:, None])
        run_sum = run_sum * alpha + tl.sum(p, axis=1)
        acc = acc + tl.dot(p.to(vt.dtype), vt)
        run_max = new_max

    out = acc / run_sum[:, None]
    tl.store(o_base + rows[:, None] * row_stride + cols[None, :], out.to(o_ptr.dtype.element_ty),
             mask=row_ok[:, None])


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (B * H_q, triton.cdiv(S, BM))
    _gqa_fwd[grid](
        q, k, v, out, S, H_q, H_kv, scale * LOG2E,
        q.stride(1), k.stride(1), q.stride(2),
        GROUP=H_q // H_kv, D=D, CAUSAL=bool(causal), BM=BM, BN=BN,
    )
    return out
