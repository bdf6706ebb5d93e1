"""Level 10 - Grouped-query attention: many query heads, few key/value heads, no copies.

THE IDEA
    At inference time the keys and values of every past token are kept in memory (the KV cache), and
    reading them is what costs. Grouped-query attention (GQA) shrinks that cache: the model has Hq
    query heads but only Hkv key/value heads, and each key/value head serves a GROUP of
    Hq // Hkv consecutive query heads:

        group = Hq // Hkv                 query heads per key/value head
        query head h  uses  key/value head  h // group

    Hkv = Hq is ordinary multi-head attention; Hkv = 1 is multi-query attention (every query head
    shares one key/value head). With Hq = 8, Hkv = 2: query heads 0-3 read kv head 0, 4-7 kv head 1.

    The easy way out is to repeat k and v Hq // Hkv times and run level 8 on the copies: that writes
    and re-reads group times the memory GQA was invented to save. Here the kernel reads k and v as
    they are: the program for query head h simply computes where kv head h // group lives. Programs of
    the same group run side by side and ask for the same key tiles, which the GPU's L2 cache then
    serves once to all of them.

    Everything else is level 8: a 2-D grid (query tiles x batch*query heads), the online softmax in
    base 2, causal key tiles split into fully visible (no mask), diagonal (masked) and future (skipped).

THE ALGORITHM
    One program per (query tile start_m, b * Hq + h):
    1. b = bhq // Hq, h = bhq % Hq, kv head hk = h // group; q is read at (b, h), k and v at (b, hk),
       i.e. at row b * Hkv + hk of k and v seen as (B * Hkv, S, D).
    2. Load the q tile once; m = -inf, l = 0, acc = 0 (float32); qk_scale = scale * log2(e).
    3. Stage 1, unmasked: keys [0, lo_end); stage 2, masked: keys [lo_end, hi_end):
           causal:     lo_end = start_m * BLOCK_M,          hi_end = min((start_m + 1) * BLOCK_M, S)
           non-causal: lo_end = (S // BLOCK_N) * BLOCK_N,    hi_end = S
    4. Each key tile: s = q @ k^T * qk_scale, m_new = max(m, rowmax(s)), alpha = exp2(m - m_new),
       p = exp2(s - m_new), l = l * alpha + rowsum(p), acc = acc * alpha + p @ v, m = m_new.
    5. Store acc / l at (b, h) for the query rows i < S.

SHAPES AND DTYPES
    q      : (B, Hq, S, D) contiguous
    k, v   : (B, Hkv, S, D) contiguous, Hq a multiple of Hkv; all three the same dtype: float32 or
             float16 (bfloat16 on a GPU); S >= 1; D a power of two, 16..128
    causal : True hides every key j > i from query i
    scale  : a float (negative too), or None for 1 / sqrt(D)
    returns a new (B, Hq, S, D) tensor in q's dtype, from ONE kernel launch; k and v are never
    repeated or copied

CHECK YOUR WORK
    pytest --level 10         the quest's checks (Hq / Hkv of 1/1, 2/1, 8/1, 8/2, 4/4; ragged S;
                              causal and not; large logits; explicit and negative scale)
    pytest --hint 10          the next hint, if you are stuck
    python katas/level10_gqa_attention.py    a quick local self-check
    pytest --level 10 --benchmark    on a GPU: time it against SDPA with enable_gqa=True
"""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634  # log2(e): exp(x) == exp2(x * LOG2E)
# BLOCK_M a multiple of BLOCK_N (stage 1 ends on a key-tile boundary), every tl.dot dimension >= 16.
BLOCK_M, BLOCK_N = (32, 16) if INTERPRETED else (128, 64)


@triton.jit
def _attend_tile(
    acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, rows, S, qk_scale,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    cols = start_n + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, HEAD_DIM)
    kv_offs = cols[:, None] * stride_s + dims[None, :]
    if MASKED:
        k = tl.load(k_base + kv_offs, mask=cols[:, None] < S, other=0.0)
        v = tl.load(v_base + kv_offs, mask=cols[:, None] < S, other=0.0)
    else:
        k = tl.load(k_base + kv_offs)
        v = tl.load(v_base + kv_offs)

    s = tl.dot(q, tl.trans(k)) * qk_scale
    if MASKED:
        keep = cols[None, :] < S
        if CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None])
        s = tl.where(keep, s, float("-inf"))

    m_new = tl.maximum(m_i, tl.max(s, axis=1))
    alpha = tl.exp2(m_i - m_new)
    p = tl.exp2(s - m_new[:, None])
    l_i = l_i * alpha + tl.sum(p, axis=1)
    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
    return acc, l_i, m_new


@triton.jit
def gqa_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, H_Q, H_KV, qk_scale,
    stride_qbh, stride_kvbh, stride_s,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Flash attention for one query tile of one (batch, query head), reading its kv head in place."""
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    start_m = tl.program_id(0)
    bhq = tl.program_id(1)
    b = bhq // H_Q
    h = bhq % H_Q
    hk = h // GROUP
    kv_row = hk

    q_base = q_ptr + bhq.to(tl.int64) * stride_qbh
    o_base = out_ptr + bhq.to(tl.int64) * stride_qbh
    k_base = k_ptr + kv_row.to(tl.int64) * stride_kvbh
    v_base = v_ptr + kv_row.to(tl.int64) * stride_kvbh

    rows = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    q_offs = rows[:, None] * stride_s + dims[None, :]
    q = tl.load(q_base + q_offs, mask=rows[:, None] < S, other=0.0)

    m_i = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)

    if CAUSAL:
        lo_end = start_m * BLOCK_M
        hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N
        hi_end = S

    # full tiles: every key visible to every row
    for start_n in range(0, lo_end, BLOCK_N):
        acc, l_i, m_i = _attend_tile(acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, rows, S, qk_scale,
                                     False, CAUSAL, BLOCK_N, HEAD_DIM)
    # diagonal / ragged tiles
    for start_n in range(lo_end, hi_end, BLOCK_N):
        acc, l_i, m_i = _attend_tile(acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, rows, S, qk_scale,
                                     True, CAUSAL, BLOCK_N, HEAD_DIM)

    o = acc / l_i[:, None]
    tl.store(o_base + q_offs, o.to(out_ptr.dtype.element_ty), mask=rows[:, None] < S)


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (triton.cdiv(S, BLOCK_M), B * H_q)
    gqa_attention_kernel[grid](
        q, k, v, out, S, H_q, H_kv, scale * LOG2E,
        q.stride(1), k.stride(1), q.stride(2),
        GROUP=H_q // H_kv, HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
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
    print("level 10 self-check passed: now run `pytest --level 10`")
