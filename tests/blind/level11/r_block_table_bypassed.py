"""Level 11 - Paged decoding: one token, a paged KV cache, the sequence split across programs.

THE IDEA
    A language model generates text one token at a time. For each new token, each query head attends
    to the keys and values of every earlier token of its sequence, kept in the KV cache. Two things
    make this step different from levels 8 and 10:

    1. The cache is PAGED. A server holds many sequences of unpredictable length, so it does not give
       each one a contiguous slab; it cuts the cache into fixed-size pages of page_size tokens and hands
       them out as sequences grow. Sequence b's tokens live in the pages block_table[b, 0],
       block_table[b, 1], ... in that order, anywhere in the pool:

           token t of sequence b  is  slot t % page_size  of page  block_table[b, t // page_size]

       Only the first ceil(seq_lens[b] / page_size) entries of the row mean anything, and the last of
       those pages is usually only partly filled: whatever lies past seq_lens[b] is garbage (possibly
       NaN) and must never reach the result. Masked loads do not read memory, and tl.where replaces a
       value outright; multiplying garbage by 0 does not help, since NaN * 0 = NaN.

    2. There is ONE query per sequence. A program per (sequence, head) that walks a 32k-token cache
       alone would leave most of the GPU idle: B * Hkv programs are far fewer than the GPU has room
       for. Flash-decoding splits each sequence's key range into pieces handled by different programs,
       each producing a PARTIAL result of the online softmax: its own max m, normaliser l and
       unnormalised accumulator acc = sum(exp(s - m) * v). A second kernel merges them exactly as the
       online softmax merges key tiles: with M = max over pieces of m,

           out = sum_p exp(m_p - M) * acc_p  /  sum_p exp(m_p - M) * l_p

    Decoding reads every cached byte to do two multiply-adds per element: it is bound by memory
    bandwidth, so the goal is to read the cache exactly once. The query heads of a GQA group (level 10)
    share one kv head, so one program handles the whole group: each page is read once for all of them,
    and the group's queries form the rows of a small tl.dot.

THE ALGORITHM
    qk_scale = scale * log2(e); group = Hq // Hkv; the key range of every sequence is cut into pieces
    of tokens_per_split tokens (a multiple of BLOCK_N).
    1. Split kernel, one program per (b * Hkv + kv head hk, piece). Its tokens are
       [start, end) = [piece * tokens_per_split, min(start + tokens_per_split, seq_lens[b])); if the
       piece starts past the sequence, the program has nothing to do and returns.
       Load the q rows of heads hk * group .. hk * group + group - 1 (padded to >= 16 rows for tl.dot).
       m = -inf, l = 0, acc = 0 (float32). For each tile of BLOCK_N tokens t in [start, end):
           page  = block_table[b, t // page_size]           (only for t < end: masked)
           k, v  = the rows (page, t % page_size, hk, :)   (only for t < end: masked)
           s     = q @ k^T * qk_scale, -inf where t >= end
           the online softmax update of m, l and acc, in base 2.
       Store m, l and acc for each real head of the group into float32 scratch, at index
       (b, head, piece).
    2. Reduce kernel, one program per (b, query head): the pieces that hold tokens are the first
       ceil(seq_lens[b] / tokens_per_split); M = max of their m, w = exp2(m - M) (0 for the others),
       out = sum(w * acc) / sum(w * l), stored in q's dtype.

SHAPES AND DTYPES
    q            : (B, Hq, D), one new token per sequence
    k_cache,
    v_cache      : (P, page_size, Hkv, D), a pool of P pages; page_size a power of two, 8..128;
                   Hq a multiple of Hkv; query head h reads kv head h // (Hq // Hkv)
    block_table  : int32 (B, max_pages); row b lists sequence b's pages in order
    seq_lens     : int32 (B,), 1 <= seq_lens[b] <= max_pages * page_size
    q and the caches share one dtype: float32 or float16 (bfloat16 on a GPU); D a power of two, 16..128
    scale        : a float (negative too), or None for 1 / sqrt(D)
    returns a new (B, Hq, D) tensor in q's dtype, from at most two kernel launches, without copying
    the cache; no causal mask (every cached token is in the past)

CHECK YOUR WORK
    pytest --level 11         the quest's checks (page sizes 8 to 128, shuffled pages, garbage in
                              unused pages, ragged sequence lengths, GQA groups, large logits)
    pytest --hint 11          the next hint, if you are stuck
    python katas/level11_paged_decode.py    a quick local self-check
    pytest --level 11 --benchmark    on a GPU: time it against gathering the pages and calling SDPA
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
# Tokens per tile (>= 16 for tl.dot), and tokens per piece of the split (a multiple of BLOCK_N). Short
# pieces under the interpreter, so that the CPU checks exercise the reduction; long ones on a GPU.
BLOCK_N = 16 if INTERPRETED else 64
TOKENS_PER_SPLIT = 32 if INTERPRETED else 1024


@triton.jit
def paged_split_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_table_ptr, seq_lens_ptr,
    m_ptr, l_ptr, acc_ptr,
    qk_scale, H_KV, num_splits, tokens_per_split,
    stride_qb, stride_qh, stride_page, stride_slot, stride_kvh, stride_table,
    GROUP: tl.constexpr, GROUP_PAD: tl.constexpr, HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    """The online softmax of one kv head's query group over one piece of one sequence's tokens."""
    pid = tl.program_id(0)
    piece = tl.program_id(1)
    b = pid // H_KV
    hk = pid % H_KV

    seq_len = tl.load(seq_lens_ptr + b)
    start = piece * tokens_per_split
    if start >= seq_len:
        return
    end = tl.minimum(start + tokens_per_split, seq_len)

    r = tl.arange(0, GROUP_PAD)
    heads = hk * GROUP + r
    head_ok = r < GROUP
    dims = tl.arange(0, HEAD_DIM)
    q = tl.load(q_ptr + b * stride_qb + heads[:, None] * stride_qh + dims[None, :],
                mask=head_ok[:, None], other=0.0)

    m_i = tl.full((GROUP_PAD,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((GROUP_PAD,), dtype=tl.float32)
    acc = tl.zeros((GROUP_PAD, HEAD_DIM), dtype=tl.float32)

    for t0 in range(start, end, BLOCK_N):
        t = t0 + tl.arange(0, BLOCK_N)
        live = t < end
        page = t // PAGE_SIZE
        slot = t % PAGE_SIZE
        tok_off = page.to(tl.int64) * stride_page + slot * stride_slot + hk * stride_kvh
        k = tl.load(k_cache_ptr + tok_off[:, None] + dims[None, :], mask=live[:, None], other=0.0)
        v = tl.load(v_cache_ptr + tok_off[:, None] + dims[None, :], mask=live[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)) * qk_scale
        s = tl.where(live[None, :], s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    H_Q = H_KV * GROUP
    idx = (b * H_Q + heads) * num_splits + piece
    tl.store(m_ptr + idx, m_i, mask=head_ok)
    tl.store(l_ptr + idx, l_i, mask=head_ok)
    tl.store(acc_ptr + idx[:, None] * HEAD_DIM + dims[None, :], acc, mask=head_ok[:, None])


@triton.jit
def paged_reduce_kernel(
    m_ptr, l_ptr, acc_ptr, seq_lens_ptr, out_ptr,
    H_Q, num_splits, tokens_per_split,
    HEAD_DIM: tl.constexpr, SPLITS_PAD: tl.constexpr,
):
    """Merge the partials of one (sequence, query head)."""
    bh = tl.program_id(0)
    b = bh // H_Q
    seq_len = tl.load(seq_lens_ptr + b)
    n_used = tl.cdiv(seq_len, tokens_per_split)

    sp = tl.arange(0, SPLITS_PAD)
    used = sp < n_used
    dims = tl.arange(0, HEAD_DIM)
    base = bh * num_splits + sp

    m = tl.load(m_ptr + base, mask=used, other=float("-inf"))
    l = tl.load(l_ptr + base, mask=used, other=0.0)
    acc = tl.load(acc_ptr + base[:, None] * HEAD_DIM + dims[None, :], mask=used[:, None], other=0.0)

    m_all = tl.max(m, axis=0)
    w = tl.where(used, tl.exp2(m - m_all), 0.0)
    num = tl.sum(w[:, None] * acc, axis=0)
    den = tl.sum(w * l, axis=0)
    tl.store(out_ptr + bh * HEAD_DIM + dims, (num / den).to(out_ptr.dtype.element_ty))


def paged_decode(
    q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, block_table: torch.Tensor,
    seq_lens: torch.Tensor, scale: float | None = None,
) -> torch.Tensor:
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

    paged_split_kernel[(B * H_kv, num_splits)](
        q, k_cache, v_cache, block_table, seq_lens,
        m_part, l_part, acc_part,
        scale * LOG2E, H_kv, num_splits, TOKENS_PER_SPLIT,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), block_table.stride(0),
        GROUP=group, GROUP_PAD=max(16, triton.next_power_of_2(group)), HEAD_DIM=D, PAGE_SIZE=page_size,
        BLOCK_N=BLOCK_N,
    )
    paged_reduce_kernel[(B * H_q,)](
        m_part, l_part, acc_part, seq_lens, out,
        H_q, num_splits, TOKENS_PER_SPLIT,
        HEAD_DIM=D, SPLITS_PAD=triton.next_power_of_2(num_splits),
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, H_q, H_kv, D, page_size, max_pages = 3, 4, 2, 32, 16, 6
    seq_lens = torch.tensor([1, 40, 90], dtype=torch.int32, device=device)
    pool = 2 * B * max_pages
    # Garbage everywhere, then the real tokens written into randomly chosen pages.
    k_cache = torch.full((pool, page_size, H_kv, D), float("nan"), device=device)
    v_cache = torch.full_like(k_cache, float("nan"))
    block_table = torch.randperm(pool, device=device)[: B * max_pages].reshape(B, max_pages).to(torch.int32)
    q = torch.randn(B, H_q, D, device=device)
    expected = torch.empty_like(q)
    for b in range(B):
        n = int(seq_lens[b])
        k, v = (torch.randn(n, H_kv, D, device=device) for _ in range(2))
        for t in range(n):
            page, slot = block_table[b, t // page_size], t % page_size
            k_cache[page, slot], v_cache[page, slot] = k[t], v[t]
        k_rep, v_rep = (t.transpose(0, 1).repeat_interleave(H_q // H_kv, dim=0) for t in (k, v))  # (Hq, n, D)
        expected[b] = torch.nn.functional.scaled_dot_product_attention(q[b][:, None, :], k_rep, v_rep)[:, 0, :]
    torch.testing.assert_close(paged_decode(q, k_cache, v_cache, block_table, seq_lens), expected, atol=2e-3, rtol=2e-3)
    print("level 11 self-check passed: now run `pytest --level 11`")
