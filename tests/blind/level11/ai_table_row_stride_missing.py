"""Level 11 - Paged decoding: flash-decoding over a paged KV cache. A split kernel computes partial
online-softmax results per (sequence, kv head, piece of the sequence); a reduce kernel merges them."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634
TILE = 16 if INTERPRETED else 64
PIECE = 32 if INTERPRETED else 1024


@triton.jit
def _split_kernel(q_ptr, kc_ptr, vc_ptr, table_ptr, lens_ptr, m_ptr, l_ptr, acc_ptr,
                  log2_scale, n_kv_heads, n_pieces, piece_len,
                  sq_b, sq_h, s_page, s_slot, s_head, s_table,
                  GROUP: tl.constexpr, ROWS: tl.constexpr, D: tl.constexpr, PAGE: tl.constexpr,
                  TILE: tl.constexpr):
    seq_head = tl.program_id(0)
    piece = tl.program_id(1)
    b = seq_head // n_kv_heads
    kvh = seq_head % n_kv_heads
    n_tok = tl.load(lens_ptr + b)
    lo = piece * piece_len
    if lo < n_tok:
        hi = tl.minimum(lo + piece_len, n_tok)
        r = tl.arange(0, ROWS)
        dd = tl.arange(0, D)
        qh = kvh * GROUP + r                                   # query heads of this group
        row_ok = r < GROUP
        qv = tl.load(q_ptr + b.to(tl.int64) * sq_b + qh[:, None] * sq_h + dd[None, :],
                     mask=row_ok[:, None], other=0.0)
        run_max = tl.full((ROWS,), float("-inf"), dtype=tl.float32)
        run_sum = tl.zeros((ROWS,), dtype=tl.float32)
        run_acc = tl.zeros((ROWS, D), dtype=tl.float32)
        for t0 in range(lo, hi, TILE):
            tok = t0 + tl.arange(0, TILE)
            live = tok < hi
            pg = tl.load(table_ptr + b + tok // PAGE, mask=live, other=0)
            row_off = pg.to(tl.int64) * s_page + (tok % PAGE) * s_slot + kvh * s_head
            kv_off = row_off[:, None] + dd[None, :]
            kt = tl.load(kc_ptr + kv_off, mask=live[:, None], other=0.0)
            vt = tl.load(vc_ptr + kv_off, mask=live[:, None], other=0.0)
            sc = tl.dot(qv, tl.trans(kt)) * log2_scale          # (ROWS, TILE), base-2 logits
            sc = tl.where(live[None, :], sc, float("-inf"))
            new_max = tl.maximum(run_max, tl.max(sc, axis=1))
            alpha = tl.math.exp2(run_max - new_max)
            pr = tl.math.exp2(sc - new_max[:, None])
            run_sum = run_sum * alpha + tl.sum(pr, axis=1)
            run_acc = run_acc * alpha[:, None] + tl.dot(pr.to(vt.dtype), vt)
            run_max = new_max
        n_q_heads = n_kv_heads * GROUP
        slot = (b * n_q_heads + qh) * n_pieces + piece
        tl.store(m_ptr + slot, run_max, mask=row_ok)
        tl.store(l_ptr + slot, run_sum, mask=row_ok)
        tl.store(acc_ptr + slot[:, None] * D + dd[None, :], run_acc, mask=row_ok[:, None])


@triton.jit
def _merge_kernel(m_ptr, l_ptr, acc_ptr, lens_ptr, out_ptr, n_q_heads, n_pieces, piece_len,
                  D: tl.constexpr, PIECES_PAD: tl.constexpr):
    bh = tl.program_id(0)
    b = bh // n_q_heads
    used = tl.cdiv(tl.load(lens_ptr + b), piece_len)
    pc = tl.arange(0, PIECES_PAD)
    dd = tl.arange(0, D)
    ok = pc < used
    idx = bh * n_pieces + pc
    mx = tl.load(m_ptr + idx, mask=ok, other=float("-inf"))
    sm = tl.load(l_ptr + idx, mask=ok, other=0.0)
    ac = tl.load(acc_ptr + idx[:, None] * D + dd[None, :], mask=ok[:, None], other=0.0)
    top = tl.max(mx, axis=0)
    w = tl.where(ok, tl.math.exp2(mx - top), 0.0)
    num = tl.sum(w[:, None] * ac, axis=0)
    den = tl.sum(w * sm, axis=0)
    tl.store(out_ptr + bh * D + dd, (num / den).to(out_ptr.dtype.element_ty))


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
    n_pieces = triton.cdiv(max_pages * page_size, PIECE)
    m_part = torch.empty((B, H_q, n_pieces), device=q.device, dtype=torch.float32)
    l_part = torch.empty_like(m_part)
    acc_part = torch.empty((B, H_q, n_pieces, D), device=q.device, dtype=torch.float32)
    _split_kernel[(B * H_kv, n_pieces)](
        q, k_cache, v_cache, block_table, seq_lens, m_part, l_part, acc_part,
        scale * LOG2E, H_kv, n_pieces, PIECE,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_table.stride(0),
        GROUP=group, ROWS=max(16, triton.next_power_of_2(group)), D=D, PAGE=page_size, TILE=TILE)
    _merge_kernel[(B * H_q,)](
        m_part, l_part, acc_part, seq_lens, out, H_q, n_pieces, PIECE,
        D=D, PIECES_PAD=triton.next_power_of_2(n_pieces))
    return out
