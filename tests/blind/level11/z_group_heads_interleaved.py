"""Level 11 - Paged decoding: one query token per sequence over a paged KV cache, split-K then merged."""

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
TOKENS_PER_SPLIT = 32 if INTERPRETED else 1024


@triton.jit
def decode_piece_kernel(
    Q, KC, VC, TABLE, LENS,
    M_OUT, L_OUT, ACC_OUT,
    qk_scale, n_kv_heads, n_pieces, piece_len,
    s_qb, s_qh, s_page, s_slot, s_kvh, s_tab,
    GROUP: tl.constexpr, GROUP_PAD: tl.constexpr, HEAD_DIM: tl.constexpr, PAGE_SIZE: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    piece = tl.program_id(0)
    seq_head = tl.program_id(1)
    b = seq_head // n_kv_heads
    hk = seq_head % n_kv_heads

    n_tok = tl.load(LENS + b)
    lo = piece * piece_len
    if lo >= n_tok:
        return
    hi = tl.minimum(lo + piece_len, n_tok)

    r = tl.arange(0, GROUP_PAD)
    real_row = r < GROUP
    qh = r * n_kv_heads + hk
    dd = tl.arange(0, HEAD_DIM)
    q_rows = tl.load(Q + b * s_qb + qh[:, None] * s_qh + dd[None, :], mask=real_row[:, None], other=0.0)

    run_max = tl.full((GROUP_PAD,), float("-inf"), dtype=tl.float32)
    run_sum = tl.zeros((GROUP_PAD,), dtype=tl.float32)
    run_acc = tl.zeros((GROUP_PAD, HEAD_DIM), dtype=tl.float32)

    for t0 in range(lo, hi, BLOCK_N):
        tok = t0 + tl.arange(0, BLOCK_N)
        live = tok < hi
        page = tl.load(TABLE + b * s_tab + tok // PAGE_SIZE, mask=live, other=0)
        row_off = page.to(tl.int64) * s_page + (tok % PAGE_SIZE) * s_slot + hk * s_kvh
        kt = tl.load(KC + row_off[:, None] + dd[None, :], mask=live[:, None], other=0.0)
        vt = tl.load(VC + row_off[:, None] + dd[None, :], mask=live[:, None], other=0.0)

        sc = tl.dot(q_rows, tl.trans(kt)) * qk_scale
        sc = tl.where(live[None, :], sc, float("-inf"))

        new_max = tl.maximum(run_max, tl.max(sc, axis=1))
        corr = tl.exp2(run_max - new_max)
        p = tl.exp2(sc - new_max[:, None])
        run_sum = run_sum * corr + tl.sum(p, axis=1)
        run_acc = run_acc * corr[:, None] + tl.dot(p.to(vt.dtype), vt)
        run_max = new_max

    slot = (b * (n_kv_heads * GROUP) + qh) * n_pieces + piece
    tl.store(M_OUT + slot, run_max, mask=real_row)
    tl.store(L_OUT + slot, run_sum, mask=real_row)
    tl.store(ACC_OUT + slot[:, None] * HEAD_DIM + dd[None, :], run_acc, mask=real_row[:, None])


@triton.jit
def merge_pieces_kernel(
    M_IN, L_IN, ACC_IN, LENS, OUT,
    n_q_heads, n_pieces, piece_len,
    HEAD_DIM: tl.constexpr, SPLITS_PAD: tl.constexpr,
):
    bh = tl.program_id(0)
    b = bh // n_q_heads
    n_tok = tl.load(LENS + b)
    n_used = (n_tok + piece_len - 1) // piece_len

    pc = tl.arange(0, SPLITS_PAD)
    used = pc < n_used
    base = bh * n_pieces + pc
    m = tl.load(M_IN + base, mask=used, other=float("-inf"))
    l = tl.load(L_IN + base, mask=used, other=0.0)
    dd = tl.arange(0, HEAD_DIM)
    acc = tl.load(ACC_IN + base[:, None] * HEAD_DIM + dd[None, :], mask=used[:, None], other=0.0)

    big = tl.max(m, axis=0)
    w = tl.where(used, tl.exp2(m - big), 0.0)
    num = tl.sum(w[:, None] * acc, axis=0)
    den = tl.sum(w * l, axis=0)
    o = num / den
    tl.store(OUT + bh * HEAD_DIM + dd, o.to(OUT.dtype.element_ty))


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
    n_pieces = triton.cdiv(max_pages * page_size, TOKENS_PER_SPLIT)
    m_part = torch.empty((B, H_q, n_pieces), device=q.device, dtype=torch.float32)
    l_part = torch.empty_like(m_part)
    acc_part = torch.empty((B, H_q, n_pieces, D), device=q.device, dtype=torch.float32)
    group = H_q // H_kv

    decode_piece_kernel[(n_pieces, B * H_kv)](
        q, k_cache, v_cache, block_table, seq_lens,
        m_part, l_part, acc_part,
        scale * LOG2E, H_kv, n_pieces, TOKENS_PER_SPLIT,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_table.stride(0),
        GROUP=group, GROUP_PAD=max(16, triton.next_power_of_2(group)), HEAD_DIM=D,
        PAGE_SIZE=page_size, BLOCK_N=BLOCK_N,
    )
    merge_pieces_kernel[(B * H_q,)](
        m_part, l_part, acc_part, seq_lens, out,
        H_q, n_pieces, TOKENS_PER_SPLIT,
        HEAD_DIM=D, SPLITS_PAD=triton.next_power_of_2(n_pieces),
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
