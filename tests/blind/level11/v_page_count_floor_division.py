"""Level 11 - Paged decoding: one token, a paged KV cache."""

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


@triton.jit
def paged_decode_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_table_ptr, seq_lens_ptr, out_ptr,
    qk_scale, GROUP,
    stride_qb, stride_qh, stride_page, stride_slot, stride_kvh, stride_table,
    stride_ob, stride_oh,
    HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr,
):
    """One program per (sequence, query head); it walks the sequence one page at a time."""
    b = tl.program_id(0)
    h = tl.program_id(1)
    hk = h // GROUP

    seq_len = tl.load(seq_lens_ptr + b)
    n_pages = seq_len // PAGE_SIZE

    offs_d = tl.arange(0, HEAD_DIM)
    slots = tl.arange(0, PAGE_SIZE)
    q = tl.load(q_ptr + b * stride_qb + h * stride_qh + offs_d).to(tl.float32)

    m_i = tl.full((), float("-inf"), dtype=tl.float32)
    l_i = tl.full((), 0.0, dtype=tl.float32)
    acc = tl.zeros((HEAD_DIM,), dtype=tl.float32)

    kv_head_off = hk * stride_kvh
    for j in range(0, n_pages):
        page = tl.load(block_table_ptr + b * stride_table + j).to(tl.int64)
        tok = j * PAGE_SIZE + slots
        valid = tok < seq_len
        addr = page * stride_page + slots[:, None] * stride_slot + kv_head_off + offs_d[None, :]
        k = tl.load(k_cache_ptr + addr, mask=valid[:, None], other=0.0).to(tl.float32)
        v = tl.load(v_cache_ptr + addr, mask=valid[:, None], other=0.0).to(tl.float32)

        s = tl.sum(k * q[None, :], axis=1) * qk_scale
        s = tl.where(valid, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=0))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new)
        l_i = l_i * alpha + tl.sum(p, axis=0)
        acc = acc * alpha + tl.sum(p[:, None] * v, axis=0)
        m_i = m_new

    out = acc / l_i
    tl.store(out_ptr + b * stride_ob + h * stride_oh + offs_d, out.to(out_ptr.dtype.element_ty))


def paged_decode(
    q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, block_table: torch.Tensor,
    seq_lens: torch.Tensor, scale: float | None = None,
) -> torch.Tensor:
    B, H_q, D = q.shape
    _, page_size, H_kv, _ = k_cache.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (B, H_q)
    paged_decode_kernel[grid](
        q, k_cache, v_cache, block_table, seq_lens, out,
        scale * LOG2E, H_q // H_kv,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), block_table.stride(0),
        out.stride(0), out.stride(1),
        HEAD_DIM=D, PAGE_SIZE=page_size,
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
