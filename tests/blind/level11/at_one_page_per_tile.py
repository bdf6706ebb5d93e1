"""Level 11 - Paged decoding: one new token per sequence attends over a paged KV cache.

Flash-decoding: a first kernel walks one slice of a sequence's tokens for a whole GQA group and leaves
partial (max, normaliser, accumulator) triples; a second kernel merges the slices of each query head.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
TILE = 16 if INTERPRETED else 64          # tokens handled per inner step
SLICE = 32 if INTERPRETED else 512        # tokens per slice of the split (a multiple of TILE)


@triton.jit
def decode_slice_kernel(
    q_ptr, kc_ptr, vc_ptr, table_ptr, lens_ptr,
    part_m, part_l, part_acc,
    sm_scale, n_q_heads, n_slices, slice_len,
    sq_b, sq_h, sc_page, sc_slot, sc_head, st_row,
    GROUP: tl.constexpr, GPAD: tl.constexpr, D: tl.constexpr, PAGE: tl.constexpr, TILE: tl.constexpr,
):
    b = tl.program_id(0)
    kvh = tl.program_id(1)
    sl = tl.program_id(2)

    n_tok = tl.load(lens_ptr + b)
    lo = sl * slice_len
    if lo >= n_tok:
        return
    hi = tl.minimum(lo + slice_len, n_tok)

    g = tl.arange(0, GPAD)
    dd = tl.arange(0, D)
    real = g < GROUP
    heads = kvh * GROUP + g
    qg = tl.load(q_ptr + b * sq_b + heads[:, None] * sq_h + dd[None, :], mask=real[:, None], other=0.0)

    run_max = tl.full([GPAD], float("-inf"), tl.float32)
    run_sum = tl.zeros([GPAD], dtype=tl.float32)
    acc = tl.zeros([GPAD, D], dtype=tl.float32)

    for t0 in range(lo, hi, TILE):
        tok = t0 + tl.arange(0, TILE)
        live = tok < hi
        page = tl.load(table_ptr + b * st_row + t0 // PAGE)
        off = page.to(tl.int64) * sc_page + (tok % PAGE) * sc_slot + kvh * sc_head
        kt = tl.load(kc_ptr + off[:, None] + dd[None, :], mask=live[:, None], other=0.0)
        vt = tl.load(vc_ptr + off[:, None] + dd[None, :], mask=live[:, None], other=0.0)

        s = tl.dot(qg, tl.trans(kt)) * sm_scale
        s = tl.where(live[None, :], s, float("-inf"))
        new_max = tl.maximum(run_max, tl.max(s, axis=1))
        p = tl.exp(s - new_max[:, None])
        corr = tl.exp(run_max - new_max)
        run_sum = run_sum * corr + tl.sum(p, axis=1)
        acc = acc * corr[:, None] + tl.dot(p.to(vt.dtype), vt)
        run_max = new_max

    slot = (b * n_q_heads + heads) * n_slices + sl
    tl.store(part_m + slot, run_max, mask=real)
    tl.store(part_l + slot, run_sum, mask=real)
    tl.store(part_acc + slot[:, None] * D + dd[None, :], acc, mask=real[:, None])


@triton.jit
def decode_merge_kernel(
    part_m, part_l, part_acc, lens_ptr, out_ptr,
    n_q_heads, n_slices, slice_len,
    D: tl.constexpr, NS: tl.constexpr,
):
    row = tl.program_id(0)
    b = row // n_q_heads
    n_tok = tl.load(lens_ptr + b)
    n_used = (n_tok + slice_len - 1) // slice_len

    k = tl.arange(0, NS)
    used = k < n_used
    idx = row * n_slices + k
    m = tl.load(part_m + idx, mask=used, other=float("-inf"))
    l = tl.load(part_l + idx, mask=used, other=0.0)
    top = tl.max(m, axis=0)
    w = tl.where(used, tl.exp(m - top), 0.0)

    dd = tl.arange(0, D)
    a = tl.load(part_acc + idx[:, None] * D + dd[None, :], mask=used[:, None], other=0.0)
    num = tl.sum(w[:, None] * a, axis=0)
    den = tl.sum(w * l, axis=0)
    tl.store(out_ptr + row * D + dd, (num / den).to(out_ptr.dtype.element_ty))


def paged_decode(
    q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, block_table: torch.Tensor,
    seq_lens: torch.Tensor, scale: float | None = None,
) -> torch.Tensor:
    B, n_q, D = q.shape
    _, page_size, n_kv, _ = k_cache.shape
    max_pages = block_table.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    group = n_q // n_kv
    n_slices = triton.cdiv(max_pages * page_size, SLICE)

    part_m = torch.empty((B, n_q, n_slices), device=q.device, dtype=torch.float32)
    part_l = torch.empty_like(part_m)
    part_acc = torch.empty((B, n_q, n_slices, D), device=q.device, dtype=torch.float32)
    out = torch.empty_like(q)

    decode_slice_kernel[(B, n_kv, n_slices)](
        q, k_cache, v_cache, block_table, seq_lens,
        part_m, part_l, part_acc,
        scale, n_q, n_slices, SLICE,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), block_table.stride(0),
        GROUP=group, GPAD=max(16, triton.next_power_of_2(group)), D=D, PAGE=page_size, TILE=TILE,
    )
    decode_merge_kernel[(B * n_q,)](
        part_m, part_l, part_acc, seq_lens, out,
        n_q, n_slices, SLICE,
        D=D, NS=triton.next_power_of_2(n_slices),
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
    print("level 11 self-check passed")
