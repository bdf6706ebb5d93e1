"""Level 11 - Paged decoding (author al): flash-decoding over a paged KV cache.

One program per (piece of the key range, sequence * kv head) runs the online softmax of the kv head's
whole query group over its piece; a second kernel folds the pieces of each (sequence, query head)
together with a running merge.
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
PIECE = 48 if INTERPRETED else 512  # tokens per piece, a multiple of TILE


@triton.jit
def _decode_piece(
    q_ptr, kc_ptr, vc_ptr, table_ptr, lens_ptr,
    pm_ptr, pl_ptr, pacc_ptr,
    qk_scale, n_kv_heads, n_rows, piece_len,
    sq_b, sq_h, sc_page, sc_slot, sc_head, st_row,
    GROUP: tl.constexpr, ROWS: tl.constexpr, D: tl.constexpr, PAGE: tl.constexpr, TILE: tl.constexpr,
):
    piece = tl.program_id(0)
    seq_head = tl.program_id(1)
    seq = seq_head // n_kv_heads
    kvh = seq_head % n_kv_heads

    n_tok = tl.load(lens_ptr + seq)
    lo = piece * piece_len
    if lo >= n_tok:
        return
    hi = tl.minimum(lo + piece_len, n_tok)

    r = tl.arange(0, ROWS)
    d = tl.arange(0, D)
    row_ok = r < GROUP
    qh = kvh * GROUP + r
    qt = tl.load(q_ptr + seq * sq_b + qh[:, None] * sq_h + d[None, :], mask=row_ok[:, None], other=0.0)

    run_max = tl.full((ROWS,), float("-inf"), tl.float32)
    run_sum = tl.zeros((ROWS,), tl.float32)
    run_acc = tl.zeros((ROWS, D), tl.float32)

    table_row = table_ptr + seq * st_row
    for t0 in range(lo, hi, TILE):
        tok = t0 + tl.arange(0, TILE)
        live = tok < hi
        pg = tl.load(table_row + tok // PAGE, mask=live, other=0)
        base = pg.to(tl.int64) * sc_page + (tok % PAGE) * sc_slot + kvh * sc_head
        kt = tl.load(kc_ptr + base[:, None] + d[None, :], mask=live[:, None], other=0.0)
        vt = tl.load(vc_ptr + base[:, None] + d[None, :], mask=live[:, None], other=0.0)

        sc = tl.dot(qt, tl.trans(kt)) * qk_scale
        sc = tl.where(live[None, :], sc, float("-inf"))

        new_max = tl.maximum(run_max, tl.max(sc, axis=1))
        shrink = tl.exp2(run_max - new_max)
        pr = tl.exp2(sc - new_max[:, None])
        run_sum = run_sum * shrink + tl.sum(pr, axis=1)
        run_acc = run_acc * shrink[:, None] + tl.dot(pr.to(vt.dtype), vt)
        run_max = new_max

    slot = piece * n_rows + seq * (n_kv_heads * GROUP) + qh
    tl.store(pm_ptr + slot, run_max, mask=row_ok)
    tl.store(pl_ptr + slot, run_sum, mask=row_ok)
    tl.store(pacc_ptr + slot[:, None] * D + d[None, :], run_acc, mask=row_ok[:, None])


@triton.jit
def _merge_pieces(
    pm_ptr, pl_ptr, pacc_ptr, lens_ptr, o_ptr,
    n_q_heads, n_rows, piece_len,
    D: tl.constexpr,
):
    row = tl.program_id(0)
    seq = row // n_q_heads
    n_tok = tl.load(lens_ptr + seq)
    used = tl.cdiv(n_tok, piece_len)
    d = tl.arange(0, D)

    big = tl.full((), float("-inf"), tl.float32)
    tot = tl.zeros((), tl.float32)
    num = tl.zeros((D,), tl.float32)
    for p in range(0, used):
        idx = p * n_rows + row
        mp = tl.load(pm_ptr + idx)
        lp = tl.load(pl_ptr + idx)
        ap = tl.load(pacc_ptr + idx * D + d)
        nb = tl.maximum(big, mp)
        keep = tl.exp2(big - nb)
        take = tl.exp2(mp - nb)
        tot = tot * keep + lp * take
        num = num * keep + ap * take
        big = nb
    tl.store(o_ptr + row * D + d, (num / tot).to(o_ptr.dtype.element_ty))


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
    n_pieces = triton.cdiv(max_pages * page_size, PIECE)
    n_rows = B * H_q
    out = torch.empty_like(q)
    part_m = torch.empty((n_pieces, n_rows), device=q.device, dtype=torch.float32)
    part_l = torch.empty_like(part_m)
    part_acc = torch.empty((n_pieces, n_rows, D), device=q.device, dtype=torch.float32)
    _decode_piece[(n_pieces, B * H_kv)](
        q, k_cache, v_cache, block_table, seq_lens,
        part_m, part_l, part_acc,
        scale * LOG2E, H_kv, n_rows, PIECE,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_table.stride(0),
        GROUP=group, ROWS=max(16, triton.next_power_of_2(group)), D=D, PAGE=page_size, TILE=TILE,
    )
    _merge_pieces[(n_rows,)](part_m, part_l, part_acc, seq_lens, out, H_q, n_rows, PIECE, D=D)
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
    print("level 11 self-check passed")
