"""Level 11 - Paged decoding: one query token per sequence, a paged KV cache, split-K then merge."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
TILE = 16 if INTERPRETED else 64
CHUNK = 32 if INTERPRETED else 1024  # tokens per piece, a multiple of TILE


@triton.jit
def decode_piece_kernel(
    q_ptr, kc_ptr, vc_ptr, table_ptr, lens_ptr,
    part_m_ptr, part_l_ptr, part_o_ptr,
    scale, n_kv_heads, n_q_heads, n_pieces, chunk,
    q_sb, q_sh, k_sp, k_ss, k_sh, v_sp, v_ss, v_sh, table_sb,
    GROUP: tl.constexpr, ROWS: tl.constexpr, DH: tl.constexpr, PAGE: tl.constexpr, TILE: tl.constexpr,
):
    seq_head = tl.program_id(0)
    piece = tl.program_id(1)
    b = seq_head // n_kv_heads
    kvh = seq_head % n_kv_heads

    n_tok = tl.load(lens_ptr + b)
    lo = piece * chunk
    if lo < n_tok:
        hi = tl.minimum(lo + chunk, n_tok)

        r = tl.arange(0, ROWS)
        d = tl.arange(0, DH)
        qh = kvh * GROUP + r
        row_ok = r < GROUP
        qv = tl.load(q_ptr + b * q_sb + qh[:, None] * q_sh + d[None, :], mask=row_ok[:, None], other=0.0)
        qv = qv.to(tl.float32)

        run_max = tl.full((ROWS,), float("-inf"), dtype=tl.float32)
        run_sum = tl.zeros((ROWS,), dtype=tl.float32)
        run_out = tl.zeros((ROWS, DH), dtype=tl.float32)

        for t0 in range(lo, hi, TILE):
            tok = t0 + tl.arange(0, TILE)
            live = tok < hi
            pg = tl.load(table_ptr + b * table_sb + tok // PAGE, mask=live, other=0)
            slot = tok % PAGE
            k_off = pg[:, None] * k_sp + slot[:, None] * k_ss + kvh * k_sh + d[None, :]
            v_off = pg[:, None] * v_sp + slot[:, None] * v_ss + kvh * v_sh + d[None, :]
            kt = tl.load(kc_ptr + k_off, mask=live[:, None], other=0.0).to(tl.float32)
            vt = tl.load(vc_ptr + v_off, mask=live[:, None], other=0.0).to(tl.float32)

            s = tl.dot(qv, tl.trans(kt)) * scale
            new_max = tl.maximum(run_max, tl.max(s, axis=1))
            fade = tl.exp(run_max - new_max)
            p = tl.exp(s - new_max[:, None])
            run_sum = run_sum * fade + tl.sum(p, axis=1)
            run_out = run_out * fade[:, None] + tl.dot(p, vt)
            run_max = new_max

        slot_idx = (b * n_q_heads + qh) * n_pieces + piece
        tl.store(part_m_ptr + slot_idx, run_max, mask=row_ok)
        tl.store(part_l_ptr + slot_idx, run_sum, mask=row_ok)
        tl.store(part_o_ptr + slot_idx[:, None] * DH + d[None, :], run_out, mask=row_ok[:, None])


@triton.jit
def decode_merge_kernel(
    part_m_ptr, part_l_ptr, part_o_ptr, lens_ptr, out_ptr,
    n_q_heads, n_pieces, chunk,
    DH: tl.constexpr, NP: tl.constexpr,
):
    row = tl.program_id(0)
    b = row // n_q_heads
    n_tok = tl.load(lens_ptr + b)
    used = (n_tok + chunk - 1) // chunk

    pi = tl.arange(0, NP)
    d = tl.arange(0, DH)
    ok = pi < used
    base = row * n_pieces + pi
    pm = tl.load(part_m_ptr + base, mask=ok, other=float("-inf"))
    pl = tl.load(part_l_ptr + base, mask=ok, other=0.0)
    po = tl.load(part_o_ptr + base[:, None] * DH + d[None, :], mask=ok[:, None], other=0.0)

    top = tl.max(pm, axis=0)
    wgt = tl.where(ok, tl.exp(pm - top), 0.0)
    num = tl.sum(wgt[:, None] * po, axis=0)
    den = tl.sum(wgt * pl, axis=0)
    res = num / den
    tl.store(out_ptr + row * DH + d, res.to(out_ptr.dtype.element_ty))


def paged_decode(
    q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, block_table: torch.Tensor,
    seq_lens: torch.Tensor, scale: float | None = None,
) -> torch.Tensor:
    B, Hq, D = q.shape
    _, page, Hkv, _ = k_cache.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    group = Hq // Hkv
    n_pieces = triton.cdiv(block_table.shape[1] * page, CHUNK)
    part_m = torch.empty((B, Hq, n_pieces), device=q.device, dtype=torch.float32)
    part_l = torch.empty_like(part_m)
    part_o = torch.empty((B, Hq, n_pieces, D), device=q.device, dtype=torch.float32)
    out = torch.empty_like(q)

    decode_piece_kernel[(B * Hkv, n_pieces)](
        q, k_cache, v_cache, block_table, seq_lens,
        part_m, part_l, part_o,
        scale, Hkv, Hq, n_pieces, CHUNK,
        q.stride(0), q.stride(1),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        v_cache.stride(0), v_cache.stride(1), v_cache.stride(2),
        block_table.stride(0),
        GROUP=group, ROWS=max(16, triton.next_power_of_2(group)), DH=D, PAGE=page, TILE=TILE,
    )
    decode_merge_kernel[(B * Hq,)](
        part_m, part_l, part_o, seq_lens, out,
        Hq, n_pieces, CHUNK,
        DH=D, NP=triton.next_power_of_2(n_pieces),
    )
    return out
