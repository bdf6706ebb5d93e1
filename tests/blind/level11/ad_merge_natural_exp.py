"""Level 11 - Paged decoding: one new token per sequence over a paged KV cache (flash-decoding).

Split kernel: one program per (sequence * kv head, piece of the key range) computes the online softmax
partials (m, l, acc) of the kv head's whole query group. Reduce kernel: merges the pieces per head.
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
TILE = 16 if INTERPRETED else 64
PIECE = 48 if INTERPRETED else 1024


@triton.jit
def _decode_piece(
    q_ptr, kc_ptr, vc_ptr, table_ptr, lens_ptr,
    m_out, l_out, acc_out,
    qk_scale, n_kv_heads, n_pieces, piece_len,
    sq_b, sq_h, s_page, s_slot, s_head, s_table,
    GROUP: tl.constexpr, ROWS: tl.constexpr, D: tl.constexpr, PAGE: tl.constexpr, TILE: tl.constexpr,
):
    seq_head = tl.program_id(0)
    piece = tl.program_id(1)
    seq = seq_head // n_kv_heads
    kvh = seq_head % n_kv_heads
    length = tl.load(lens_ptr + seq)
    first = piece * piece_len
    if first >= length:
        return
    last = tl.minimum(first + piece_len, length)

    rows = tl.arange(0, ROWS)
    dims = tl.arange(0, D)
    heads = kvh * GROUP + rows
    row_ok = rows < GROUP
    q_ptrs = q_ptr + seq.to(tl.int64) * sq_b + heads[:, None] * sq_h + dims[None, :]
    q = tl.load(q_ptrs, mask=row_ok[:, None], other=0.0)

    run_max = tl.full((ROWS,), float("-inf"), dtype=tl.float32)
    run_sum = tl.zeros((ROWS,), dtype=tl.float32)
    out_acc = tl.zeros((ROWS, D), dtype=tl.float32)

    table_row = table_ptr + seq.to(tl.int64) * s_table
    for t0 in range(first, last, TILE):
        tok = t0 + tl.arange(0, TILE)
        live = tok < last
        page = tl.load(table_row + tok // PAGE, mask=live, other=0).to(tl.int64)
        base = page * s_page + (tok % PAGE) * s_slot + kvh * s_head
        kv_off = base[:, None] + dims[None, :]
        k = tl.load(kc_ptr + kv_off, mask=live[:, None], other=0.0)
        v = tl.load(vc_ptr + kv_off, mask=live[:, None], other=0.0)
        scores = tl.dot(q, tl.trans(k)) * qk_scale
        scores = tl.where(live[None, :], scores, float("-inf"))
        new_max = tl.maximum(run_max, tl.max(scores, axis=1))
        shrink = tl.exp2(run_max - new_max)
        p = tl.exp2(scores - new_max[:, None])
        run_sum = run_sum * shrink + tl.sum(p, axis=1)
        out_acc = out_acc * shrink[:, None] + tl.dot(p.to(v.dtype), v)
        run_max = new_max

    n_q_heads = n_kv_heads * GROUP
    slot = (seq * n_q_heads + heads) * n_pieces + piece
    tl.store(m_out + slot, run_max, mask=row_ok)
    tl.store(l_out + slot, run_sum, mask=row_ok)
    tl.store(acc_out + slot[:, None] * D + dims[None, :], out_acc, mask=row_ok[:, None])


@triton.jit
def _merge_pieces(
    m_in, l_in, acc_in, lens_ptr, out_ptr,
    n_q_heads, n_pieces, piece_len,
    D: tl.constexpr, PIECES: tl.constexpr,
):
    seq_head = tl.program_id(0)
    seq = seq_head // n_q_heads
    length = tl.load(lens_ptr + seq)
    used = tl.cdiv(length, piece_len)
    idx = tl.arange(0, PIECES)
    ok = idx < used
    dims = tl.arange(0, D)
    base = seq_head * n_pieces + idx
    m = tl.load(m_in + base, mask=ok, other=float("-inf"))
    l = tl.load(l_in + base, mask=ok, other=0.0)
    acc = tl.load(acc_in + base[:, None] * D + dims[None, :], mask=ok[:, None], other=0.0)
    top = tl.max(m, axis=0)
    w = tl.where(ok, tl.exp(m - top), 0.0)
    num = tl.sum(w[:, None] * acc, axis=0)
    den = tl.sum(w * l, axis=0)
    tl.store(out_ptr + seq_head * D + dims, (num / den).to(out_ptr.dtype.element_ty))


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
    _decode_piece[(B * H_kv, n_pieces)](
        q, k_cache, v_cache, block_table, seq_lens,
        m_part, l_part, acc_part,
        scale * LOG2E, H_kv, n_pieces, PIECE,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_table.stride(0),
        GROUP=group, ROWS=max(16, triton.next_power_of_2(group)), D=D, PAGE=page_size, TILE=TILE,
    )
    _merge_pieces[(B * H_q,)](
        m_part, l_part, acc_part, seq_lens, out,
        H_q, n_pieces, PIECE,
        D=D, PIECES=triton.next_power_of_2(n_pieces),
    )
    return out
