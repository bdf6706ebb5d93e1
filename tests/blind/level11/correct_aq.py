"""Level 11 - Paged decoding (author aq).

One query token per sequence attends over its paged KV cache. Kernel 1 gives every (sequence, query
head, piece of the key range) its own program, which walks its tokens tile by tile through the block
table and keeps a base-2 online softmax (m, l, acc). Kernel 2 merges the pieces of each (sequence,
head). Empty pieces store m = -inf, l = 0, acc = 0, so the merge may read every piece.
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
TILE = 16
PIECE = 48 if INTERPRETED else 512  # tokens per piece, a multiple of TILE


@triton.jit
def decode_piece_kernel(
    q_ptr, kc_ptr, vc_ptr, table_ptr, lens_ptr,
    mpart_ptr, lpart_ptr, apart_ptr,
    qk_scale, n_q_heads, n_pieces,
    s_qb, s_qh, s_pg, s_slot, s_head, s_tab,
    GROUP: tl.constexpr, D: tl.constexpr, PAGE: tl.constexpr,
    TILE: tl.constexpr, PIECE: tl.constexpr,
):
    bh = tl.program_id(0)
    piece = tl.program_id(1)
    b = bh // n_q_heads
    h = bh % n_q_heads
    kvh = h // GROUP

    seq_len = tl.load(lens_ptr + b)
    lo = piece * PIECE
    hi = tl.minimum(lo + PIECE, seq_len)

    d = tl.arange(0, D)
    qv = tl.load(q_ptr + b * s_qb + h * s_qh + d).to(tl.float32)

    m = tl.full([], float("-inf"), tl.float32)
    l = tl.full([], 0.0, tl.float32)
    acc = tl.zeros([D], dtype=tl.float32)

    for t0 in range(lo, hi, TILE):
        t = t0 + tl.arange(0, TILE)
        live = t < hi
        pg = tl.load(table_ptr + b * s_tab + t // PAGE, mask=live, other=0)
        row = pg.to(tl.int64) * s_pg + (t % PAGE) * s_slot + kvh * s_head
        kt = tl.load(kc_ptr + row[:, None] + d[None, :], mask=live[:, None], other=0.0).to(tl.float32)
        s = tl.sum(kt * qv[None, :], axis=1) * qk_scale
        s = tl.where(live, s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, axis=0))
        alpha = tl.exp2(m - m_new)
        p = tl.exp2(s - m_new)
        vt = tl.load(vc_ptr + row[:, None] + d[None, :], mask=live[:, None], other=0.0).to(tl.float32)
        l = l * alpha + tl.sum(p, axis=0)
        acc = acc * alpha + tl.sum(p[:, None] * vt, axis=0)
        m = m_new

    slot_idx = bh * n_pieces + piece
    tl.store(mpart_ptr + slot_idx, m)
    tl.store(lpart_ptr + slot_idx, l)
    tl.store(apart_ptr + slot_idx * D + d, acc)


@triton.jit
def merge_pieces_kernel(
    mpart_ptr, lpart_ptr, apart_ptr, out_ptr, n_pieces,
    D: tl.constexpr, NP: tl.constexpr,
):
    bh = tl.program_id(0)
    pc = tl.arange(0, NP)
    d = tl.arange(0, D)
    ok = pc < n_pieces
    base = bh * n_pieces
    ms = tl.load(mpart_ptr + base + pc, mask=ok, other=float("-inf"))
    ls = tl.load(lpart_ptr + base + pc, mask=ok, other=0.0)
    accs = tl.load(apart_ptr + (base + pc)[:, None] * D + d[None, :], mask=ok[:, None], other=0.0)
    top = tl.max(ms, axis=0)
    w = tl.exp2(ms - top)
    num = tl.sum(w[:, None] * accs, axis=0)
    den = tl.sum(w * ls, axis=0)
    tl.store(out_ptr + bh * D + d, (num / den).to(out_ptr.dtype.element_ty))


def paged_decode(q, k_cache, v_cache, block_table, seq_lens, scale=None):
    B, Hq, D = q.shape
    _, page, Hkv, _ = k_cache.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    n_pieces = triton.cdiv(block_table.shape[1] * page, PIECE)
    mpart = torch.empty((B * Hq * n_pieces,), device=q.device, dtype=torch.float32)
    lpart = torch.empty_like(mpart)
    apart = torch.empty((B * Hq * n_pieces, D), device=q.device, dtype=torch.float32)
    out = torch.empty_like(q)
    decode_piece_kernel[(B * Hq, n_pieces)](
        q, k_cache, v_cache, block_table, seq_lens,
        mpart, lpart, apart,
        float(scale) * LOG2E, Hq, n_pieces,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_table.stride(0),
        GROUP=Hq // Hkv, D=D, PAGE=page, TILE=TILE, PIECE=PIECE,
    )
    merge_pieces_kernel[(B * Hq,)](
        mpart, lpart, apart, out, n_pieces,
        D=D, NP=triton.next_power_of_2(n_pieces),
    )
    return out
