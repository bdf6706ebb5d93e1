"""Level 11 - Paged decoding: one token, a paged KV cache, the sequence split across programs.

My version: the split kernel walks the cache one PAGE at a time (a piece of the split is a fixed
number of pages), and does the small products with broadcasts and sums instead of tl.dot, so any
page size works. A second kernel merges the pieces.
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
# pages handled by one program of the split kernel (small on the CPU so the reduce gets exercised)
PAGES_PER_SPLIT = 2 if INTERPRETED else 16


@triton.jit
def paged_split_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_table_ptr, seq_lens_ptr,
    m_ptr, l_ptr, acc_ptr,
    qk_scale, H_Q, H_KV, num_splits,
    stride_qb, stride_qh, stride_page, stride_slot, stride_kvh, stride_table,
    GROUP: tl.constexpr, GROUP_PAD: tl.constexpr, HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr,
    PAGES_PER_SPLIT: tl.constexpr,
):
    piece = tl.program_id(0)
    bk = tl.program_id(1)
    b = bk // H_KV
    hk = bk % H_KV

    seq_len = tl.load(seq_lens_ptr + b)
    first_page = piece * PAGES_PER_SPLIT
    if first_page * PAGE_SIZE >= seq_len:
        return
    n_pages = tl.cdiv(seq_len, PAGE_SIZE)
    last_page = tl.minimum(first_page + PAGES_PER_SPLIT, n_pages)

    r = tl.arange(0, GROUP_PAD)
    r_ok = r < GROUP
    heads = hk * GROUP + r
    d = tl.arange(0, HEAD_DIM)
    slots = tl.arange(0, PAGE_SIZE)

    q = tl.load(q_ptr + b * stride_qb + heads[:, None] * stride_qh + d[None, :],
                mask=r_ok[:, None], other=0.0).to(tl.float32)

    m_i = tl.full((GROUP_PAD,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((GROUP_PAD,), dtype=tl.float32)
    acc = tl.zeros((GROUP_PAD, HEAD_DIM), dtype=tl.float32)

    for pg in range(first_page, last_page):
        page = tl.load(block_table_ptr + b * stride_table + pg).to(tl.int64)
        tok = pg * PAGE_SIZE + slots
        t_ok = tok < seq_len
        kv_off = page * stride_page + hk * stride_kvh + slots[:, None] * stride_slot + d[None, :]
        k = tl.load(k_cache_ptr + kv_off, mask=t_ok[:, None], other=0.0).to(tl.float32)
        v = tl.load(v_cache_ptr + kv_off, mask=t_ok[:, None], other=0.0).to(tl.float32)

        # (GROUP_PAD, PAGE_SIZE) scores
        s = tl.sum(q[:, None, :] * k[None, :, :], axis=2) * qk_scale
        s = tl.where(t_ok[None, :], s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.sum(p[:, :, None] * v[None, :, :], axis=1)
        m_i = m_new

    idx = (b * H_Q + heads) * num_splits + piece
    tl.store(m_ptr + idx, m_i, mask=r_ok)
    tl.store(l_ptr + idx, l_i, mask=r_ok)
    tl.store(acc_ptr + idx[:, None] * HEAD_DIM + d[None, :], acc, mask=r_ok[:, None])


@triton.jit
def paged_reduce_kernel(
    m_ptr, l_ptr, acc_ptr, seq_lens_ptr, out_ptr,
    H_Q, num_splits, tokens_per_split,
    HEAD_DIM: tl.constexpr, SPLITS_PAD: tl.constexpr,
):
    bh = tl.program_id(0)
    b = bh // H_Q
    seq_len = tl.load(seq_lens_ptr + b)
    n_used = tl.cdiv(seq_len, tokens_per_split)

    sp = tl.arange(0, SPLITS_PAD)
    ok = sp < n_used
    d = tl.arange(0, HEAD_DIM)
    base = bh * num_splits + sp

    m = tl.load(m_ptr + base, mask=ok, other=float("-inf"))
    l = tl.load(l_ptr + base, mask=ok, other=0.0)
    acc = tl.load(acc_ptr + base[:, None] * HEAD_DIM + d[None, :], mask=ok[:, None], other=0.0)

    M = tl.max(m, axis=0)
    w = tl.where(ok, tl.exp2(m - M), 0.0)
    num = tl.sum(w[:, None] * acc, axis=0)
    den = tl.sum(w * l, axis=0)
    o = num / den
    tl.store(out_ptr + bh * HEAD_DIM + d, o.to(out_ptr.dtype.element_ty))


def paged_decode(
    q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, block_table: torch.Tensor,
    seq_lens: torch.Tensor, scale: float | None = None,
) -> torch.Tensor:
    B, H_q, D = q.shape
    _, page_size, H_kv, _ = k_cache.shape
    max_pages = block_table.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    group = H_q // H_kv
    out = torch.empty_like(q)
    num_splits = triton.cdiv(max_pages, PAGES_PER_SPLIT)
    m_part = torch.empty((B, H_q, num_splits), device=q.device, dtype=torch.float32)
    l_part = torch.empty_like(m_part)
    acc_part = torch.empty((B, H_q, num_splits, D), device=q.device, dtype=torch.float32)

    paged_split_kernel[(num_splits, B * H_kv)](
        q, k_cache, v_cache, block_table, seq_lens,
        m_part, l_part, acc_part,
        scale * LOG2E, H_q, H_kv, num_splits,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_table.stride(0),
        GROUP=group, GROUP_PAD=triton.next_power_of_2(group), HEAD_DIM=D, PAGE_SIZE=page_size,
        PAGES_PER_SPLIT=PAGES_PER_SPLIT,
    )
    paged_reduce_kernel[(B * H_q,)](
        m_part, l_part, acc_part, seq_lens, out,
        H_q, num_splits, PAGES_PER_SPLIT * page_size,
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
