"""Level 11 - Paged decoding (author ab).

Split kernel: one program per (sequence, kv head, piece of the sequence) runs the online softmax of the
kv head's whole query group over its piece, looking each token's page up in the block table. Reduce
kernel: one program per (sequence, query head) merges the pieces' partial (m, l, acc).
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"

TILE = 16 if INTERPRETED else 64
PIECE = 32 if INTERPRETED else 512  # tokens per piece, a multiple of TILE


@triton.jit
def _decode_piece(Qp, Kc, Vc, Table, Lens, Mp, Lp, Ap,
                  sm_scale, n_q_heads, n_pieces,
                  sq_b, sq_h, sk_page, sk_slot, sk_head, s_table,
                  GROUP: tl.constexpr, GPAD: tl.constexpr, D: tl.constexpr,
                  PAGE: tl.constexpr, TILE: tl.constexpr, PIECE: tl.constexpr):
    b = tl.program_id(0)
    hk = tl.program_id(1)
    piece = tl.program_id(2)
    n_tok = tl.load(Lens + b)
    lo = piece * PIECE
    if lo < n_tok:
        hi = tl.minimum(lo + PIECE, n_tok)
        r = tl.arange(0, GPAD)
        heads = hk + r * (n_q_heads // GROUP)
        real = r < GROUP
        c = tl.arange(0, D)
        qv = tl.load(Qp + b * sq_b + heads[:, None] * sq_h + c[None, :], mask=real[:, None], other=0.0)
        m_i = tl.full((GPAD,), float("-inf"), dtype=tl.float32)
        l_i = tl.zeros((GPAD,), dtype=tl.float32)
        acc = tl.zeros((GPAD, D), dtype=tl.float32)
        row = Table + b.to(tl.int64) * s_table
        for t in range(lo, hi, TILE):
            tok = t + tl.arange(0, TILE)
            live = tok < hi
            page = tl.load(row + tok // PAGE, mask=live, other=0)
            where = page.to(tl.int64) * sk_page + (tok % PAGE) * sk_slot + hk * sk_head
            kt = tl.load(Kc + where[:, None] + c[None, :], mask=live[:, None], other=0.0)
            vt = tl.load(Vc + where[:, None] + c[None, :], mask=live[:, None], other=0.0)
            sc = tl.dot(qv, tl.trans(kt)) * sm_scale  # (GPAD, TILE)
            sc = tl.where(live[None, :], sc, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(sc, axis=1))
            corr = tl.exp(m_i - m_new)
            pr = tl.exp(sc - m_new[:, None])
            l_i = l_i * corr + tl.sum(pr, axis=1)
            acc = acc * corr[:, None] + tl.dot(pr.to(vt.dtype), vt)
            m_i = m_new
        slot = (b * n_q_heads + heads) * n_pieces + piece
        tl.store(Mp + slot, m_i, mask=real)
        tl.store(Lp + slot, l_i, mask=real)
        tl.store(Ap + slot[:, None] * D + c[None, :], acc, mask=real[:, None])


@triton.jit
def _merge_pieces(Mp, Lp, Ap, Lens, Out, n_q_heads, n_pieces,
                  D: tl.constexpr, NPAD: tl.constexpr, PIECE: tl.constexpr):
    bh = tl.program_id(0)
    b = bh // n_q_heads
    n_tok = tl.load(Lens + b)
    used = (n_tok + PIECE - 1) // PIECE
    j = tl.arange(0, NPAD)
    ok = j < used
    idx = bh * n_pieces + j
    mj = tl.load(Mp + idx, mask=ok, other=float("-inf"))
    lj = tl.load(Lp + idx, mask=ok, other=0.0)
    c = tl.arange(0, D)
    aj = tl.load(Ap + idx[:, None] * D + c[None, :], mask=ok[:, None], other=0.0)
    big = tl.max(mj, axis=0)
    w = tl.where(ok, tl.exp(mj - big), 0.0)
    num = tl.sum(w[:, None] * aj, axis=0)
    den = tl.sum(w * lj, axis=0)
    tl.store(Out + bh * D + c, (num / den).to(Out.dtype.element_ty))


def paged_decode(q, k_cache, v_cache, block_table, seq_lens, scale=None):
    B, Hq, D = q.shape
    _, page_size, Hkv, _ = k_cache.shape
    max_pages = block_table.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    group = Hq // Hkv
    n_pieces = triton.cdiv(max_pages * page_size, PIECE)
    out = torch.empty_like(q)
    m_part = torch.empty((B, Hq, n_pieces), device=q.device, dtype=torch.float32)
    l_part = torch.empty_like(m_part)
    a_part = torch.empty((B, Hq, n_pieces, D), device=q.device, dtype=torch.float32)
    _decode_piece[(B, Hkv, n_pieces)](
        q, k_cache, v_cache, block_table, seq_lens, m_part, l_part, a_part,
        scale, Hq, n_pieces,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), block_table.stride(0),
        GROUP=group, GPAD=max(16, triton.next_power_of_2(group)), D=D,
        PAGE=page_size, TILE=TILE, PIECE=PIECE)
    _merge_pieces[(B * Hq,)](
        m_part, l_part, a_part, seq_lens, out, Hq, n_pieces,
        D=D, NPAD=triton.next_power_of_2(n_pieces), PIECE=PIECE)
    return out
