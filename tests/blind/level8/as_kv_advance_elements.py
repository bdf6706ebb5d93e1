"""Level 8 - Flash Attention: one launch, query tiles streaming key/value tiles, base-2 online softmax.

Each program owns BLOCK_M query rows of one (batch, head) and walks the key tiles those rows can
see (causal: up to the diagonal), keeping a running max, a running sum and an fp32 accumulator.
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

BM, BN = (32, 16) if INTERPRETED else (64, 64)


@triton.jit
def _flash_fwd(Q, K, V, O, seq_len, qk_scale, head_stride, row_stride, n_qtiles,
               HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    pid = tl.program_id(0)
    head = (pid // n_qtiles).to(tl.int64)
    tile = pid % n_qtiles

    rows = tile * BM + tl.arange(0, BM)
    cols = tl.arange(0, HEAD_DIM)
    offset = head * head_stride
    row_ok = rows < seq_len

    q = tl.load(Q + offset + rows[:, None] * row_stride + cols[None, :], mask=row_ok[:, None], other=0.0)

    m = tl.full((BM,), float("-inf"), dtype=tl.float32)
    l = tl.zeros((BM,), dtype=tl.float32)
    acc = tl.zeros((BM, HEAD_DIM), dtype=tl.float32)

    stop = seq_len
    if CAUSAL:
        stop = tl.minimum((tile + 1) * BM, seq_len)

    k_ptrs = K + offset + tl.arange(0, BN)[:, None] * row_stride + cols[None, :]
    v_ptrs = V + offset + tl.arange(0, BN)[:, None] * row_stride + cols[None, :]
    for start in range(0, stop, BN):
        keys = start + tl.arange(0, BN)
        key_ok = keys < seq_len
        kt = tl.load(k_ptrs, mask=key_ok[:, None], other=0.0)
        vt = tl.load(v_ptrs, mask=key_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(kt)) * qk_scale
        visible = key_ok[None, :]
        if CAUSAL:
            visible = visible & (keys[None, :] <= rows[:, None])
        s = tl.where(visible, s, float("-inf"))

        m_next = tl.maximum(m, tl.max(s, axis=1))
        alpha = tl.exp2(m - m_next)
        p = tl.exp2(s - m_next[:, None])
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None]
        acc = tl.dot(p.to(vt.dtype), vt, acc)
        m = m_next

        k_ptrs += BN
        v_ptrs += BN

    out = acc / l[:, None]
    tl.store(O + offset + rows[:, None] * row_stride + cols[None, :], out.to(O.dtype.element_ty),
             mask=row_ok[:, None])


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    n_qtiles = triton.cdiv(S, BM)
    _flash_fwd[(n_qtiles * B * H,)](
        q, k, v, out, S, scale * LOG2E, q.stride(1), q.stride(2), n_qtiles,
        HEAD_DIM=D, CAUSAL=bool(causal), BM=BM, BN=BN,
    )
    return out
