"""Level 11 - Paged decoding (seventh author's version).

One program per (piece of pages, sequence * query head); each tile is exactly one page, so the page
lookup is a single scalar load. Each piece stores its normalised partial output and its natural-log
log-sum-exp; the reduce kernel merges pieces by their lse.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
PAGES_PER_SPLIT = 2 if INTERPRETED else 16


@triton.jit
def paged_split_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_table_ptr, seq_lens_ptr,
    o_part_ptr, lse_part_ptr,
    scale, H_Q, GROUP, num_splits, pages_per_split,
    stride_qb, stride_qh, stride_page, stride_slot, stride_kvh, stride_table,
    HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr,
):
    piece = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H_Q
    h = bh % H_Q
    hk = h // GROUP
    seq_len = tl.load(seq_lens_ptr + b)
    n_pages = tl.cdiv(seq_len, PAGE_SIZE)
    first = piece * pages_per_split
    if first < n_pages:
        last = tl.minimum(first + pages_per_split, n_pages)
        d = tl.arange(0, HEAD_DIM)
        slots = tl.arange(0, PAGE_SIZE)
        q = tl.load(q_ptr + b.to(tl.int64) * stride_qb + h * stride_qh + d).to(tl.float32)
        m = tl.full((), float("-inf"), tl.float32)
        l = tl.full((), 0.0, tl.float32)
        acc = tl.zeros((HEAD_DIM,), tl.float32)
        for p in range(first, last):
            page = tl.load(block_table_ptr + p).to(tl.int64)
            tok = p * PAGE_SIZE + slots
            valid = tok < seq_len
            off = page * stride_page + slots[:, None] * stride_slot + hk * stride_kvh + d[None, :]
            k = tl.load(k_cache_ptr + off, mask=valid[:, None], other=0.0).to(tl.float32)
            s = tl.sum(k * q[None, :], axis=1) * scale
            s = tl.where(valid, s, float("-inf"))
            m_new = tl.maximum(m, tl.max(s, axis=0))
            alpha = tl.exp(m - m_new)
            w = tl.exp(s - m_new)
            w = tl.where(valid, w, 0.0)
            v = tl.load(v_cache_ptr + off, mask=valid[:, None], other=0.0).to(tl.float32)
            l = l * alpha + tl.sum(w, axis=0)
            acc = acc * alpha + tl.sum(w[:, None] * v, axis=0)
            m = m_new
        idx = bh.to(tl.int64) * num_splits + piece
        tl.store(o_part_ptr + idx * HEAD_DIM + d, acc / l)
        tl.store(lse_part_ptr + idx, m + tl.log(l))


@triton.jit
def paged_reduce_kernel(
    o_part_ptr, lse_part_ptr, seq_lens_ptr, out_ptr,
    H_Q, num_splits, pages_per_split,
    HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr, SPLITS_PAD: tl.constexpr,
):
    bh = tl.program_id(0)
    b = bh // H_Q
    seq_len = tl.load(seq_lens_ptr + b)
    n_pages = tl.cdiv(seq_len, PAGE_SIZE)
    used = tl.cdiv(n_pages, pages_per_split)
    sp = tl.arange(0, SPLITS_PAD)
    d = tl.arange(0, HEAD_DIM)
    live = sp < used
    base = bh.to(tl.int64) * num_splits
    lse = tl.load(lse_part_ptr + base + sp, mask=live, other=float("-inf"))
    big = tl.max(lse, axis=0)
    w = tl.where(live, tl.exp(lse - big), 0.0)
    o = tl.load(o_part_ptr + (base + sp[:, None]) * HEAD_DIM + d[None, :], mask=live[:, None], other=0.0)
    res = tl.sum(w[:, None] * o, axis=0) / tl.sum(w, axis=0)
    tl.store(out_ptr + bh.to(tl.int64) * HEAD_DIM + d, res.to(out_ptr.dtype.element_ty))


def paged_decode(
    q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, block_table: torch.Tensor,
    seq_lens: torch.Tensor, scale: float | None = None,
) -> torch.Tensor:
    B, H_q, D = q.shape
    _, page_size, H_kv, _ = k_cache.shape
    max_pages = block_table.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H_q, D), device=q.device, dtype=q.dtype)
    num_splits = triton.cdiv(max_pages, PAGES_PER_SPLIT)
    o_part = torch.empty((B * H_q, num_splits, D), device=q.device, dtype=torch.float32)
    lse_part = torch.empty((B * H_q, num_splits), device=q.device, dtype=torch.float32)
    paged_split_kernel[(num_splits, B * H_q)](
        q, k_cache, v_cache, block_table, seq_lens, o_part, lse_part,
        scale, H_q, H_q // H_kv, num_splits, PAGES_PER_SPLIT,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_table.stride(0),
        HEAD_DIM=D, PAGE_SIZE=page_size,
    )
    paged_reduce_kernel[(B * H_q,)](
        o_part, lse_part, seq_lens, out,
        H_q, num_splits, PAGES_PER_SPLIT,
        HEAD_DIM=D, PAGE_SIZE=page_size, SPLITS_PAD=triton.next_power_of_2(num_splits),
    )
    return out
