"""Level 11 - Paged decoding: one new token per sequence over a paged KV cache (flash-decoding).

A first kernel gives each (piece of the sequence, sequence * kv head) a program that runs the online
softmax for the whole query group of that kv head; a second kernel merges the pieces.
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
TILE_T = 16                                   # tokens per inner tile
PIECE_LEN = 32 if INTERPRETED else 512        # tokens per piece of the split (multiple of TILE_T)


@triton.jit
def _partial_kernel(
    Q, K, V, TABLE, LENS, PM, PL, PACC,
    scale_log2, n_kv, n_bh, piece_len,
    sq_b, sq_h, sk_p, sk_s, sk_h, sv_p, sv_s, sv_h, st_b,
    GROUP: tl.constexpr, ROWS: tl.constexpr, D: tl.constexpr, PAGE: tl.constexpr, TILE: tl.constexpr,
):
    piece = tl.program_id(0)
    pid = tl.program_id(1)
    b = pid // n_kv
    kvh = pid % n_kv

    n_tok = tl.load(LENS + b)
    t_lo = piece * piece_len
    t_hi = tl.minimum(t_lo + piece_len, n_tok)

    r = tl.arange(0, ROWS)
    d = tl.arange(0, D)
    head = kvh * GROUP + r
    live_row = r < GROUP
    q = tl.load(Q + b * sq_b + head[:, None] * sq_h + d[None, :], mask=live_row[:, None], other=0.0)

    m_run = tl.full([ROWS], float("-inf"), tl.float32)
    l_run = tl.zeros([ROWS], tl.float32)
    o_run = tl.zeros([ROWS, D], tl.float32)

    for t0 in range(t_lo, t_hi, TILE):
        tok = t0 + tl.arange(0, TILE)
        valid = tok < t_hi
        page = tl.load(TABLE + b * st_b + tok // PAGE, mask=valid, other=0).to(tl.int64)
        slot = tok % PAGE
        k_off = page * sk_p + slot * sk_s + kvh * sk_h
        v_off = page * sv_p + slot * sv_s + kvh * sv_h
        kt = tl.load(K + k_off[:, None] + d[None, :], mask=valid[:, None], other=0.0)
        s = tl.dot(q, tl.trans(kt)) * scale_log2
        m_new = tl.maximum(m_run, tl.max(s, axis=1))
        alpha = tl.exp2(m_run - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_run = l_run * alpha + tl.sum(p, axis=1)
        vt = tl.load(V + v_off[:, None] + d[None, :], mask=valid[:, None], other=0.0)
        o_run = o_run * alpha[:, None] + tl.dot(p.to(vt.dtype), vt)
        m_run = m_new

    # Empty pieces (t_lo >= n_tok) store m = -inf, l = 0, acc = 0: they weigh nothing in the merge.
    idx = piece * n_bh + b * (n_kv * GROUP) + head
    tl.store(PM + idx, m_run, mask=live_row)
    tl.store(PL + idx, l_run, mask=live_row)
    tl.store(PACC + idx[:, None] * D + d[None, :], o_run, mask=live_row[:, None])


@triton.jit
def _merge_kernel(PM, PL, PACC, OUT, n_bh, n_pieces, D: tl.constexpr):
    bh = tl.program_id(0)
    d = tl.arange(0, D)
    # Piece 0 always holds at least one token.
    mx = tl.load(PM + bh)
    den = tl.load(PL + bh)
    num = tl.load(PACC + bh * D + d)
    for i in range(1, n_pieces):
        m_i = tl.load(PM + i * n_bh + bh)
        l_i = tl.load(PL + i * n_bh + bh)
        a_i = tl.load(PACC + (i * n_bh + bh) * D + d)
        m_new = tl.maximum(mx, m_i)
        c_old = tl.exp2(mx - m_new)
        c_new = tl.exp2(m_i - m_new)
        den = den * c_old + l_i * c_new
        num = num * c_old + a_i * c_new
        mx = m_new
    tl.store(OUT + bh * D + d, (num / den).to(OUT.dtype.element_ty))


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
    n_pieces = triton.cdiv(max_pages * page_size, PIECE_LEN)
    n_bh = B * H_q
    pm = torch.empty((n_pieces, n_bh), device=q.device, dtype=torch.float32)
    pl = torch.empty_like(pm)
    pacc = torch.empty((n_pieces, n_bh, D), device=q.device, dtype=torch.float32)
    out = torch.empty_like(q)
    _partial_kernel[(n_pieces, B * H_kv)](
        q, k_cache, v_cache, block_table, seq_lens, pm, pl, pacc,
        scale * LOG2E, H_kv, n_bh, PIECE_LEN,
        q.stride(0), q.stride(1),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        v_cache.stride(0), v_cache.stride(1), v_cache.stride(2),
        block_table.stride(0),
        GROUP=group, ROWS=max(16, triton.next_power_of_2(group)), D=D, PAGE=page_size, TILE=TILE_T,
    )
    _merge_kernel[(n_bh,)](pm, pl, pacc, out, n_bh, n_pieces, D=D)
    return out
