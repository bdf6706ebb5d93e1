"""Level 11 - paged decoding: split over the sequence, then reduce."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634
BLOCK_N = 16 if INTERPRETED else 64
TOKENS_PER_SPLIT = 32 if INTERPRETED else 512


@triton.jit
def _split(
    Q, KC, VC, BT, SL,
    Mp, Lp, Ap,
    qk_scale, H_KV, H_Q, num_splits, tokens_per_split,
    sqb, sqh, s_page, s_slot, s_head, s_bt,
    GROUP: tl.constexpr, GROUP_PAD: tl.constexpr, HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    piece = tl.program_id(1)
    b = pid // H_KV
    hk = pid % H_KV
    seq_len = tl.load(SL + b)
    start = piece * tokens_per_split
    if start >= seq_len:
        return
    end = tl.minimum(start + tokens_per_split, seq_len)

    r = tl.arange(0, GROUP_PAD)
    heads = hk * GROUP + r
    r_ok = r < GROUP
    dims = tl.arange(0, HEAD_DIM)
    q = tl.load(Q + b.to(tl.int64) * sqb + heads[:, None] * sqh + dims[None, :], mask=r_ok[:, None], other=0.0)

    m_i = tl.full((GROUP_PAD,), float("-inf"), tl.float32)
    l_i = tl.zeros((GROUP_PAD,), tl.float32)
    acc = tl.zeros((GROUP_PAD, HEAD_DIM), tl.float32)

    for t0 in range(start, end, BLOCK_N):
        t = t0 + tl.arange(0, BLOCK_N)
        t_ok = t < end
        page = tl.load(BT + b.to(tl.int64) * s_bt + t // PAGE_SIZE, mask=t_ok, other=0).to(tl.int64)
        off = page * s_page + (t % PAGE_SIZE) * s_slot + hk * s_head
        k = tl.load(KC + off[:, None] + dims[None, :], mask=t_ok[:, None], other=0.0)
        v = tl.load(VC + off[:, None] + dims[None, :], mask=t_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * qk_scale
        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    idx = (b * H_Q + heads) * num_splits + piece
    tl.store(Mp + idx, m_i, mask=r_ok)
    tl.store(Lp + idx, l_i, mask=r_ok)
    tl.store(Ap + idx[:, None] * HEAD_DIM + dims[None, :], acc, mask=r_ok[:, None])


@triton.jit
def _reduce(
    Mp, Lp, Ap, SL, Out,
    H_Q, num_splits, tokens_per_split,
    HEAD_DIM: tl.constexpr, SPLITS_PAD: tl.constexpr,
):
    bh = tl.program_id(0)
    b = bh // H_Q
    seq_len = tl.load(SL + b)
    n_used = tl.cdiv(seq_len, tokens_per_split)
    sp = tl.arange(0, SPLITS_PAD)
    ok = sp < n_used
    dims = tl.arange(0, HEAD_DIM)
    idx = bh * num_splits + sp
    m = tl.load(Mp + idx, mask=ok, other=float("-inf"))
    l = tl.load(Lp + idx, mask=ok, other=0.0)
    a = tl.load(Ap + idx[:, None] * HEAD_DIM + dims[None, :], mask=ok[:, None], other=0.0)
    big = tl.max(m, 0)
    w = tl.where(ok, tl.exp2(m - big), 0.0)
    num = tl.sum(w[:, None] * a, 0)
    den = tl.sum(w * l, 0)
    tl.store(Out + bh * HEAD_DIM + dims, (num / den).to(Out.dtype.element_ty))


def paged_decode(q, k_cache, v_cache, block_table, seq_lens, scale=None):
    B, H_q, D = q.shape
    _, page_size, H_kv, _ = k_cache.shape
    max_pages = block_table.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    num_splits = triton.cdiv(max_pages * page_size, TOKENS_PER_SPLIT)
    m_part = torch.empty((B, H_q, num_splits), device=q.device, dtype=torch.float32)
    l_part = torch.empty_like(m_part)
    acc_part = torch.empty((B, H_q, num_splits, D), device=q.device, dtype=torch.float32)
    group = H_q // H_kv
    _split[(B * H_kv, num_splits)](
        q, k_cache, v_cache, block_table, seq_lens,
        m_part, l_part, acc_part,
        scale * LOG2E, H_kv, H_q, num_splits, TOKENS_PER_SPLIT,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), block_table.stride(0),
        GROUP=group, GROUP_PAD=max(16, triton.next_power_of_2(group)), HEAD_DIM=D, PAGE_SIZE=page_size,
        BLOCK_N=BLOCK_N,
    )
    _reduce[(B * H_q,)](
        m_part, l_part, acc_part, seq_lens, out,
        H_q, num_splits, TOKENS_PER_SPLIT,
        HEAD_DIM=D, SPLITS_PAD=triton.next_power_of_2(num_splits),
    )
    return out


if __name__ == "__main__":
    B, H_q, H_kv, D, page_size, max_pages = 3, 4, 2, 32, 16, 6
    seq_lens = torch.tensor([1, 40, 90], dtype=torch.int32)
    pool = 2 * B * max_pages
    k_cache = torch.full((pool, page_size, H_kv, D), float("nan"))
    v_cache = torch.full_like(k_cache, float("nan"))
    block_table = torch.randperm(pool)[: B * max_pages].reshape(B, max_pages).to(torch.int32)
    q = torch.randn(B, H_q, D)
    expected = torch.empty_like(q)
    for b in range(B):
        n = int(seq_lens[b])
        k, v = (torch.randn(n, H_kv, D) for _ in range(2))
        for t in range(n):
            page, slot = block_table[b, t // page_size], t % page_size
            k_cache[page, slot], v_cache[page, slot] = k[t], v[t]
        k_rep, v_rep = (t.transpose(0, 1).repeat_interleave(H_q // H_kv, dim=0) for t in (k, v))
        expected[b] = torch.nn.functional.scaled_dot_product_attention(q[b][:, None, :], k_rep, v_rep)[:, 0, :]
    torch.testing.assert_close(paged_decode(q, k_cache, v_cache, block_table, seq_lens), expected, atol=2e-3, rtol=2e-3)
    print("ok")
