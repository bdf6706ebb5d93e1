"""Level 10 - Grouped-query attention: Hq query heads share Hkv key/value heads, read in place.

Query head h reads key/value head h // (Hq // Hkv). One kernel launch, an online softmax in base 2
over key tiles, no repeated copy of k or v.
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
TILE_Q, TILE_K = (32, 16) if INTERPRETED else (64, 64)


@triton.jit
def _gqa_fwd(
    Q, K, V, O,
    seq_len, n_q_heads, n_kv_heads, sm_scale_log2,
    q_head_stride, kv_head_stride, row_stride,
    GROUP: tl.constexpr, DH: tl.constexpr, IS_CAUSAL: tl.constexpr,
    TQ: tl.constexpr, TK: tl.constexpr,
):
    head_id = tl.program_id(0)
    tile = tl.program_id(1)

    batch = head_id // n_q_heads
    qh = head_id % n_q_heads
    kvh = qh // GROUP
    kv_id = batch * n_kv_heads + kvh

    q_base = Q + head_id.to(tl.int64) * q_head_stride
    o_base = O + head_id.to(tl.int64) * q_head_stride
    k_base = K + kv_id.to(tl.int64) * kv_head_stride
    v_base = V + kv_id.to(tl.int64) * kv_head_stride

    q_idx = tile * TQ + tl.arange(0, TQ)
    d_idx = tl.arange(0, DH)
    q_ok = q_idx < seq_len

    q_tile = tl.load(q_base + q_idx[:, None] * row_stride + d_idx[None, :],
                     mask=q_ok[:, None], other=0.0)

    run_max = tl.full((TQ,), float("-inf"), dtype=tl.float32)
    run_sum = tl.zeros((TQ,), dtype=tl.float32)
    out_acc = tl.zeros((TQ, DH), dtype=tl.float32)

    if IS_CAUSAL:
        k_end = tl.minimum((tile + 1) * TQ, seq_len)
    else:
        k_end = seq_len

    for k0 in range(0, k_end, TK):
        k_idx = k0 + tl.arange(0, TK)
        k_ok = k_idx < seq_len
        k_tile = tl.load(k_base + k_idx[:, None] * row_stride + d_idx[None, :],
                         mask=k_ok[:, None], other=0.0)
        v_tile = tl.load(v_base + k_idx[:, None] * row_stride + d_idx[None, :],
                         mask=k_ok[:, None], other=0.0)

        logits = tl.dot(q_tile, tl.trans(k_tile)).to(tl.float32) * sm_scale_log2
        visible = k_ok[None, :]
        if IS_CAUSAL:
            visible = visible & (k_idx[None, :] <= q_idx[:, None])
        logits = tl.where(visible, logits, float("-inf"))

        new_max = tl.maximum(run_max, tl.max(logits, axis=1))
        corr = tl.exp2(run_max - new_max)
        probs = tl.exp2(logits - new_max[:, None])
        run_sum = run_sum * corr + tl.sum(probs, axis=1)
        out_acc = out_acc + tl.dot(probs.to(v_tile.dtype), v_tile).to(tl.float32)
        run_max = new_max

    result = out_acc / run_sum[:, None]
    tl.store(o_base + q_idx[:, None] * row_stride + d_idx[None, :],
             result.to(O.dtype.element_ty), mask=q_ok[:, None])


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, Hq, S, D = q.shape
    Hkv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (B * Hq, triton.cdiv(S, TILE_Q))
    _gqa_fwd[grid](
        q, k, v, out,
        S, Hq, Hkv, scale * LOG2E,
        q.stride(1), k.stride(1), q.stride(2),
        GROUP=Hq // Hkv, DH=D, IS_CAUSAL=bool(causal),
        TQ=TILE_Q, TK=TILE_K,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, Hq, Hkv, S, D = 2, 8, 2, 45, 32
    q = torch.randn(B, Hq, S, D, device=device)
    k, v = (torch.randn(B, Hkv, S, D, device=device) for _ in range(2))
    for causal in (True, False):
        kr, vr = (t.repeat_interleave(Hq // Hkv, dim=1) for t in (k, v))
        ref = torch.nn.functional.scaled_dot_product_attention(q, kr, vr, is_causal=causal)
        torch.testing.assert_close(gqa_attention(q, k, v, causal=causal), ref, atol=2e-3, rtol=2e-3)
    print("ok")
