"""Level 10 - Grouped-query attention: query head h reads key/value head h // (Hq // Hkv) in place.

One program per (batch * query head, query tile); a single loop over key tiles with the online
softmax in base 2, every tile masked (padding keys and, when causal, future keys).
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
    q_sb, q_sh, q_ss, kv_sb, kv_sh, kv_ss,
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_q = tl.program_id(1)
    batch = pid_bh // n_q_heads
    qhead = pid_bh % n_q_heads
    kvhead = qhead // (n_q_heads // n_kv_heads)

    q_base = batch.to(tl.int64) * q_sb + qhead.to(tl.int64) * q_sh
    kv_base = batch.to(tl.int64) * kv_sb + kvhead.to(tl.int64) * kv_sh

    rows = pid_q * TQ + tl.arange(0, TQ)
    dims = tl.arange(0, D)
    row_ok = rows < seq_len
    q = tl.load(Q + q_base + rows[:, None] * q_ss + dims[None, :], mask=row_ok[:, None], other=0.0)

    run_max = tl.full([TQ], float("-inf"), dtype=tl.float32)
    run_sum = tl.zeros([TQ], dtype=tl.float32)
    acc = tl.zeros([TQ, D], dtype=tl.float32)

    if IS_CAUSAL:
        kv_stop = tl.minimum((pid_q + 1) * TQ, seq_len)
    else:
        kv_stop = seq_len

    for kv_start in range(0, kv_stop, TK):
        cols = kv_start + tl.arange(0, TK)
        col_ok = cols < seq_len
        kv_ptrs = kv_base + cols[:, None] * kv_ss + dims[None, :]
        k = tl.load(K + kv_ptrs, mask=col_ok[:, None], other=0.0)
        v = tl.load(V + kv_ptrs, mask=col_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)) * sm_scale_log2
        keep = col_ok[None, :]
        if IS_CAUSAL:
            keep = keep & (cols[None, :] < rows[:, None])
        s = tl.where(keep, s, float("-inf"))

        new_max = tl.maximum(run_max, tl.max(s, axis=1))
        shrink = tl.exp2(run_max - new_max)
        p = tl.exp2(s - new_max[:, None])
        run_sum = run_sum * shrink + tl.sum(p, axis=1)
        acc = acc * shrink[:, None] + tl.dot(p.to(v.dtype), v)
        run_max = new_max

    res = acc / run_sum[:, None]
    tl.store(O + q_base + rows[:, None] * q_ss + dims[None, :], res.to(O.dtype.element_ty), mask=row_ok[:, None])


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (B * H_q, triton.cdiv(S, TILE_Q))
    _gqa_fwd[grid](
        q, k, v, out,
        S, H_q, H_kv, scale * LOG2E,
        q.stride(0), q.stride(1), q.stride(2), k.stride(0), k.stride(1), k.stride(2),
        D=D, IS_CAUSAL=bool(causal), TQ=TILE_Q, TK=TILE_K,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, H_q, H_kv, S, D = 2, 4, 2, 77, 32
    q = torch.randn(B, H_q, S, D, device=device)
    k, v = (torch.randn(B, H_kv, S, D, device=device) for _ in range(2))
    for causal in (True, False):
        k_rep, v_rep = (t.repeat_interleave(H_q // H_kv, dim=1) for t in (k, v))
        expected = torch.nn.functional.scaled_dot_product_attention(q, k_rep, v_rep, is_causal=causal)
        torch.testing.assert_close(gqa_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 10 self-check passed")
