"""Level 7 - Fused attention with an online softmax, one launch, no S x S buffer (author ao)."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def _attn_fwd(
    Q, K, V, O,
    seq_len, qk_scale,
    head_stride, row_stride,
    HD: tl.constexpr, IS_CAUSAL: tl.constexpr, BQ: tl.constexpr, BK: tl.constexpr,
):
    qblk = tl.program_id(0)
    bh = tl.program_id(1)
    off = bh * head_stride
    q_idx = qblk * BQ + tl.arange(0, BQ)
    d = tl.arange(0, HD)
    q_live = q_idx < seq_len
    qt = tl.load(Q + off + q_idx[:, None] * row_stride + d[None, :], mask=q_live[:, None], other=0.0)

    # work in base 2: exp(x) == exp2(x * log2(e)), so fold log2(e) into the scale once
    c = qk_scale * 1.4426950408889634
    run_max = tl.full((BQ,), float("-inf"), dtype=tl.float32)
    run_den = tl.zeros((BQ,), dtype=tl.float32)
    run_num = tl.zeros((BQ, HD), dtype=tl.float32)

    if IS_CAUSAL:
        kv_end = tl.minimum(seq_len, (qblk + 1) * BQ)  # keys past this block's last query are all hidden
    else:
        kv_end = seq_len
    for k0 in range(0, kv_end, BK):
        k_idx = k0 + tl.arange(0, BK)
        k_live = k_idx < seq_len
        kt = tl.load(K + off + k_idx[:, None] * row_stride + d[None, :], mask=k_live[:, None], other=0.0)
        vt = tl.load(V + off + k_idx[:, None] * row_stride + d[None, :], mask=k_live[:, None], other=0.0)
        logits = tl.dot(qt, tl.trans(kt)) * c
        hide = ~k_live[None, :]
        if IS_CAUSAL:
            hide = hide | (k_idx[None, :] > q_idx[:, None])
        logits = tl.where(hide, float("-inf"), logits)
        blk_max = tl.maximum(run_max, tl.max(logits, axis=1))
        corr = tl.exp2(run_max - blk_max)
        pr = tl.exp2(logits - blk_max[:, None])
        run_den = run_den * corr + tl.sum(pr, axis=1)
        run_num = run_num * corr[:, None] + tl.dot(pr.to(vt.dtype), vt)
        run_max = blk_max

    res = run_num / run_den[:, None]
    tl.store(O + off + q_idx[:, None] * row_stride + d[None, :], res.to(O.dtype.element_ty),
             mask=q_live[:, None])


def fused_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    if os.environ.get("TRITON_INTERPRET") == "1":
        BQ, BK = 32, 32
    else:
        BQ, BK = 64, 64
    grid = (triton.cdiv(S, BQ), B * H)
    _attn_fwd[grid](q, k, v, out, S, scale, q.stride(1), q.stride(2),
                    HD=D, IS_CAUSAL=bool(causal), BQ=BQ, BK=BK)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(fused_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("ok")
