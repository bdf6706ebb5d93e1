"""Level 11 - Paged decoding: one query token per sequence against a paged KV cache, flash-decoding style.

Launch 1 (grid B * Hkv x pieces): every program takes one kv head's whole query group and one piece of the
sequence, walks its tokens through the block table, and writes a partial (max, sum, acc) per head.
Empty pieces write an empty partial (max -inf, sum 0). Launch 2 (grid B * Hq): merge the partials.
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
TOK_TILE = 16 if INTERPRETED else 64
PIECE = 32 if INTERPRETED else 512


@triton.jit
def _decode_piece(
    Q, KC, VC, TABLE, LENS,
    M_OUT, L_OUT, ACC_OUT,
    sm_scale_log2, n_kv, n_q, n_pieces,
    q_sb, q_sh, c_sp, c_ss, c_sh, t_sb,
    GROUP: tl.constexpr, ROWS: tl.constexpr, D: tl.constexpr, PAGE: tl.constexpr,
    TILE: tl.constexpr, PIECE_LEN: tl.constexpr,
):
    seq_head = tl.program_id(0)
    piece = tl.program_id(1)
    seq = seq_head // n_kv
    kvh = seq_head % n_kv

    n_tok = tl.load(LENS + seq)
    lo = piece * PIECE_LEN
    hi = tl.minimum(lo + PIECE_LEN, n_tok)

    r = tl.arange(0, ROWS)
    dd = tl.arange(0, D)
    r_ok = r < GROUP
    heads = kvh * GROUP + r
    q_rows = tl.load(Q + seq.to(tl.int64) * q_sb + heads[:, None] * q_sh + dd[None, :],
                     mask=r_ok[:, None], other=0.0)

    mx = tl.full((ROWS,), float("-inf"), dtype=tl.float32)
    den = tl.zeros((ROWS,), dtype=tl.float32)
    num = tl.zeros((ROWS, D), dtype=tl.float32)

    for t0 in range(lo, hi, TILE):
        tok = t0 + tl.arange(0, TILE)
        live = tok < hi
        pg = tl.load(TABLE + seq.to(tl.int64) * t_sb + tok // PAGE, mask=live, other=0)
        where_tok = pg.to(tl.int64) * c_sp + (tok % PAGE) * c_ss + kvh * c_sh
        kt = tl.load(KC + where_tok[:, None] + dd[None, :], mask=live[:, None], other=0.0)
        vt = tl.load(VC + where_tok[:, None] + dd[None, :], mask=live[:, None], other=0.0)
        sc = tl.dot(q_rows, tl.trans(kt)) * sm_scale_log2
        sc = tl.where(live[None, :], sc, float("-inf"))
        mx_new = tl.maximum(mx, tl.max(sc, axis=1))
        fade = tl.math.exp2(mx - mx_new)
        pr = tl.math.exp2(sc - mx_new[:, None])
        den = den * fade + tl.sum(pr, axis=1)
        num = num * fade[:, None] + tl.dot(pr.to(vt.dtype), vt)
        mx = mx_new

    slot = (seq * n_q + heads) * n_pieces + piece
    tl.store(M_OUT + slot, mx, mask=r_ok)
    tl.store(L_OUT + slot, den, mask=r_ok)
    tl.store(ACC_OUT + slot[:, None].to(tl.int64) * D + dd[None, :], num, mask=r_ok[:, None])


@triton.jit
def _merge_pieces(
    M_IN, L_IN, ACC_IN, OUT,
    n_pieces,
    D: tl.constexpr, PIECES_P2: tl.constexpr,
):
    row = tl.program_id(0)
    pc = tl.arange(0, PIECES_P2)
    pc_ok = pc < n_pieces
    dd = tl.arange(0, D)
    base = row.to(tl.int64) * n_pieces
    mx = tl.load(M_IN + base + pc, mask=pc_ok, other=float("-inf"))
    den = tl.load(L_IN + base + pc, mask=pc_ok, other=0.0)
    num = tl.load(ACC_IN + (base + pc)[:, None] * D + dd[None, :], mask=pc_ok[:, None], other=0.0)
    top = tl.max(mx, axis=0)
    wt = tl.math.exp2(mx - top)
    wt = tl.where(mx == float("-inf"), 0.0, wt)
    res = tl.sum(num * wt[:, None], axis=0) / tl.sum(den * wt, axis=0)
    tl.store(OUT + row.to(tl.int64) * D + dd, res.to(OUT.dtype.element_ty))


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
    n_pieces = triton.cdiv(max_pages * page_size, PIECE)
    m_part = torch.empty((B, H_q, n_pieces), device=q.device, dtype=torch.float32)
    l_part = torch.empty_like(m_part)
    acc_part = torch.empty((B, H_q, n_pieces, D), device=q.device, dtype=torch.float32)
    group = H_q // H_kv
    _decode_piece[(B * H_kv, n_pieces)](
        q, k_cache, v_cache, block_table, seq_lens,
        m_part, l_part, acc_part,
        scale * LOG2E, H_kv, H_q, n_pieces,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), block_table.stride(0),
        GROUP=group, ROWS=max(16, triton.next_power_of_2(group)), D=D, PAGE=page_size,
        TILE=TOK_TILE, PIECE_LEN=PIECE,
    )
    _merge_pieces[(B * H_q,)](
        m_part, l_part, acc_part, out, n_pieces,
        D=D, PIECES_P2=triton.next_power_of_2(n_pieces),
    )
    return out
