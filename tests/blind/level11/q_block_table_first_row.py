"""Level 11 - Paged decoding: one token, a paged KV cache, the sequence split across programs."""

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
# Tokens per tile, and tokens per piece of the split (a multiple of BLOCK_N). Short
# pieces under the interpreter, so that the CPU checks exercise the reduction; long ones on a GPU.
BLOCK_N = 16 if INTERPRETED else 64
TOKENS_PER_SPLIT = 32 if INTERPRETED else 1024


@triton.jit
def paged_split_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_table_ptr, seq_lens_ptr,
    m_ptr, l_ptr, acc_ptr,
    qk_scale, H_Q, H_KV, num_splits, tokens_per_split,
    stride_qb, stride_qh, stride_page, stride_slot, stride_kvh, stride_table,
    HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Online softmax of ONE query head over one piece of one sequence (one program per (b, h, piece))."""
    bh = tl.program_id(0)
    piece = tl.program_id(1)
    b = bh // H_Q
    h = bh % H_Q
    hk = h // (H_Q // H_KV)

    seq_len = tl.load(seq_lens_ptr + b)
    lo = piece * tokens_per_split
    if lo >= seq_len:
        return
    hi = tl.minimum(lo + tokens_per_split, seq_len)

    d = tl.arange(0, HEAD_DIM)
    q = tl.load(q_ptr + b * stride_qb + h * stride_qh + d).to(tl.float32)

    m_i = float("-inf")
    l_i = 0.0
    acc = tl.zeros((HEAD_DIM,), tl.float32)
    for t0 in range(lo, hi, BLOCK_N):
        tok = t0 + tl.arange(0, BLOCK_N)
        live = tok < hi
        page = tl.load(block_table_ptr + tok // PAGE_SIZE, mask=live, other=0)
        row = page.to(tl.int64) * stride_page + (tok % PAGE_SIZE) * stride_slot + hk * stride_kvh
        k = tl.load(k_cache_ptr + row[:, None] + d[None, :], mask=live[:, None], other=0.0).to(tl.float32)
        v = tl.load(v_cache_ptr + row[:, None] + d[None, :], mask=live[:, None], other=0.0).to(tl.float32)

        s = tl.sum(k * q[None, :], axis=1) * qk_scale
        s = tl.where(live, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=0))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new)
        l_i = l_i * alpha + tl.sum(p, axis=0)
        acc = acc * alpha + tl.sum(p[:, None] * v, axis=0)
        m_i = m_new

    slot = bh * num_splits + piece
    tl.store(m_ptr + slot, m_i)
    tl.store(l_ptr + slot, l_i)
    tl.store(acc_ptr + slot * HEAD_DIM + d, acc)


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
    n_pieces = (seq_len + tokens_per_split - 1) // tokens_per_split

    sp = tl.arange(0, SPLITS_PAD)
    used = sp < n_pieces
    d = tl.arange(0, HEAD_DIM)
    base = bh * num_splits + sp
    m = tl.load(m_ptr + base, mask=used, other=float("-inf"))
    l = tl.load(l_ptr + base, mask=used, other=0.0)
    parts = tl.load(acc_ptr + base[:, None] * HEAD_DIM + d[None, :], mask=used[:, None], other=0.0)

    big_m = tl.max(m, axis=0)
    w = tl.where(used, tl.exp2(m - big_m), 0.0)
    num = tl.sum(w[:, None] * parts, axis=0)
    den = tl.sum(w * l, axis=0)
    tl.store(out_ptr + bh * HEAD_DIM + d, (num / den).to(out_ptr.dtype.element_ty))


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
    paged_split_kernel[(B * H_q, num_splits)](
        q, k_cache, v_cache, block_table, seq_lens,
        m_part, l_part, acc_part,
        scale * LOG2E, H_q, H_kv, num_splits, TOKENS_PER_SPLIT,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), block_table.stride(0),
        HEAD_DIM=D, PAGE_SIZE=page_size, BLOCK_N=BLOCK_N,
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
