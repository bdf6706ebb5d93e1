"""Level 11 - Paged decoding (my version: one program per (sequence, query head, piece), a page per step)."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634
# tokens per piece of the split; rounded up to whole pages in paged_decode
TOKENS_PER_SPLIT = 32 if INTERPRETED else 1024


@triton.jit
def paged_split_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_table_ptr, seq_lens_ptr,
    m_ptr, l_ptr, acc_ptr,
    qk_scale, H_Q, H_KV, num_splits, pages_per_split,
    stride_qb, stride_qh, stride_page, stride_slot, stride_kvh, stride_table,
    HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr,
):
    bh = tl.program_id(0)
    piece = tl.program_id(1)
    b = bh // H_Q
    h = bh % H_Q
    hk = h % H_KV

    d = tl.arange(0, HEAD_DIM)
    slot = tl.arange(0, PAGE_SIZE)
    seq_len = tl.load(seq_lens_ptr + b)
    n_pages = tl.cdiv(seq_len, PAGE_SIZE)
    first_page = piece * pages_per_split
    last_page = tl.minimum(first_page + pages_per_split, n_pages)

    q = tl.load(q_ptr + b * stride_qb + h * stride_qh + d).to(tl.float32)

    m = float("-inf")
    l = 0.0
    acc = tl.zeros((HEAD_DIM,), dtype=tl.float32)
    for lp in range(first_page, last_page):
        page = tl.load(block_table_ptr + b * stride_table + lp).to(tl.int64)
        tok = lp * PAGE_SIZE + slot
        live = tok < seq_len
        kv_offs = page * stride_page + slot[:, None] * stride_slot + hk * stride_kvh + d[None, :]
        k = tl.load(k_cache_ptr + kv_offs, mask=live[:, None], other=0.0).to(tl.float32)
        v = tl.load(v_cache_ptr + kv_offs, mask=live[:, None], other=0.0).to(tl.float32)

        s = tl.sum(k * q[None, :], axis=1) * qk_scale
        s = tl.where(live, s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, axis=0))
        alpha = tl.exp2(m - m_new)
        p = tl.exp2(s - m_new)
        l = l * alpha + tl.sum(p, axis=0)
        acc = acc * alpha + tl.sum(p[:, None] * v, axis=0)
        m = m_new

    # an empty piece stores m = -inf, l = 0, acc = 0: the reduction gives it weight 0
    slot_idx = bh * num_splits + piece
    tl.store(m_ptr + slot_idx, m)
    tl.store(l_ptr + slot_idx, l)
    tl.store(acc_ptr + slot_idx * HEAD_DIM + d, acc)


@triton.jit
def paged_reduce_kernel(
    m_ptr, l_ptr, acc_ptr, out_ptr,
    num_splits, stride_ob, stride_oh, H_Q,
    HEAD_DIM: tl.constexpr, SPLITS_PAD: tl.constexpr,
):
    bh = tl.program_id(0)
    b = bh // H_Q
    h = bh % H_Q
    sp = tl.arange(0, SPLITS_PAD)
    d = tl.arange(0, HEAD_DIM)
    ok = sp < num_splits
    m = tl.load(m_ptr + bh * num_splits + sp, mask=ok, other=float("-inf"))
    l = tl.load(l_ptr + bh * num_splits + sp, mask=ok, other=0.0)
    acc = tl.load(acc_ptr + (bh * num_splits + sp)[:, None] * HEAD_DIM + d[None, :], mask=ok[:, None], other=0.0)
    m_all = tl.max(m, axis=0)
    w = tl.where(m == float("-inf"), 0.0, tl.exp2(m - m_all))
    out = tl.sum(w[:, None] * acc, axis=0) / tl.sum(w * l, axis=0)
    tl.store(out_ptr + b * stride_ob + h * stride_oh + d, out.to(out_ptr.dtype.element_ty))


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
    pages_per_split = max(1, TOKENS_PER_SPLIT // page_size)
    num_splits = triton.cdiv(max_pages, pages_per_split)
    m_part = torch.empty((B, H_q, num_splits), device=q.device, dtype=torch.float32)
    l_part = torch.empty_like(m_part)
    acc_part = torch.empty((B, H_q, num_splits, D), device=q.device, dtype=torch.float32)

    paged_split_kernel[(B * H_q, num_splits)](
        q, k_cache, v_cache, block_table, seq_lens,
        m_part, l_part, acc_part,
        scale * LOG2E, H_q, H_kv, num_splits, pages_per_split,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), block_table.stride(0),
        HEAD_DIM=D, PAGE_SIZE=page_size,
    )
    paged_reduce_kernel[(B * H_q,)](
        m_part, l_part, acc_part, out,
        num_splits, out.stride(0), out.stride(1), H_q,
        HEAD_DIM=D, SPLITS_PAD=triton.next_power_of_2(num_splits),
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, H_q, H_kv, D, page_size, max_pages = 3, 4, 2, 32, 16, 6
    seq_lens = torch.tensor([1, 40, 90], dtype=torch.int32, device=device)
    pool = 2 * B * max_pages
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
        k_rep, v_rep = (t.transpose(0, 1).repeat_interleave(H_q // H_kv, dim=0) for t in (k, v))
        expected[b] = torch.nn.functional.scaled_dot_product_attention(q[b][:, None, :], k_rep, v_rep)[:, 0, :]
    torch.testing.assert_close(paged_decode(q, k_cache, v_cache, block_table, seq_lens), expected, atol=2e-3, rtol=2e-3)
    print("ok")
