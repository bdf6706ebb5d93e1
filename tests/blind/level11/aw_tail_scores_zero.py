"""Level 11 - Paged decoding (flash-decoding over a paged KV cache).

Split kernel: one program per (sequence * kv head, chunk of tokens) runs the online softmax of the whole
query group of that kv head over its chunk, following block_table page by page. Reduce kernel: one
program per (sequence, query head) merges the chunk partials.
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
BLOCK_N = 16 if INTERPRETED else 64
TOKENS_PER_SPLIT = 32 if INTERPRETED else 1024


@triton.jit
def _decode_part(
    q_ptr, kc_ptr, vc_ptr, table_ptr, lens_ptr,
    m_ptr, l_ptr, acc_ptr,
    qk_scale, H_KV, NSPLIT, CHUNK,
    sq_b, sq_h, s_page, s_slot, s_head, s_table,
    GROUP: tl.constexpr, GP: tl.constexpr, D: tl.constexpr, PAGE: tl.constexpr, BN: tl.constexpr,
):
    pid = tl.program_id(0)
    piece = tl.program_id(1)
    seq = pid // H_KV
    kvh = pid % H_KV
    n_tok = tl.load(lens_ptr + seq)
    lo = piece * CHUNK
    if lo < n_tok:
        hi = tl.minimum(lo + CHUNK, n_tok)
        r = tl.arange(0, GP)
        r_ok = r < GROUP
        heads = kvh * GROUP + r
        d = tl.arange(0, D)
        qt = tl.load(q_ptr + seq.to(tl.int64) * sq_b + heads[:, None] * sq_h + d[None, :],
                     mask=r_ok[:, None], other=0.0)

        mx = tl.full((GP,), float("-inf"), dtype=tl.float32)
        sm = tl.zeros((GP,), dtype=tl.float32)
        acc = tl.zeros((GP, D), dtype=tl.float32)
        for t0 in range(lo, hi, BN):
            t = t0 + tl.arange(0, BN)
            t_ok = t < hi
            page = tl.load(table_ptr + seq.to(tl.int64) * s_table + t // PAGE, mask=t_ok, other=0)
            addr = page.to(tl.int64) * s_page + (t % PAGE) * s_slot + kvh * s_head
            kt = tl.load(kc_ptr + addr[:, None] + d[None, :], mask=t_ok[:, None], other=0.0)
            vt = tl.load(vc_ptr + addr[:, None] + d[None, :], mask=t_ok[:, None], other=0.0)

            s = tl.dot(qt, tl.trans(kt)) * qk_scale
            nmx = tl.maximum(mx, tl.max(s, axis=1))
            corr = tl.exp2(mx - nmx)
            p = tl.exp2(s - nmx[:, None])
            sm = sm * corr + tl.sum(p, axis=1)
            acc = acc * corr[:, None] + tl.dot(p.to(vt.dtype), vt)
            mx = nmx

        idx = (seq * (H_KV * GROUP) + heads).to(tl.int64) * NSPLIT + piece
        tl.store(m_ptr + idx, mx, mask=r_ok)
        tl.store(l_ptr + idx, sm, mask=r_ok)
        tl.store(acc_ptr + idx[:, None] * D + d[None, :], acc, mask=r_ok[:, None])


@triton.jit
def _decode_merge(
    m_ptr, l_ptr, acc_ptr, lens_ptr, out_ptr,
    H_Q, NSPLIT, CHUNK,
    D: tl.constexpr, SP: tl.constexpr,
):
    bh = tl.program_id(0)
    seq = bh // H_Q
    n_tok = tl.load(lens_ptr + seq)
    used = (n_tok + CHUNK - 1) // CHUNK
    sp = tl.arange(0, SP)
    ok = sp < used
    d = tl.arange(0, D)
    row = bh.to(tl.int64) * NSPLIT + sp
    m = tl.load(m_ptr + row, mask=ok, other=float("-inf"))
    l = tl.load(l_ptr + row, mask=ok, other=0.0)
    a = tl.load(acc_ptr + row[:, None] * D + d[None, :], mask=ok[:, None], other=0.0)
    top = tl.max(m, axis=0)
    w = tl.where(ok, tl.exp2(m - top), 0.0)
    res = tl.sum(w[:, None] * a, axis=0) / tl.sum(w * l, axis=0)
    tl.store(out_ptr + bh.to(tl.int64) * D + d, res.to(out_ptr.dtype.element_ty))


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
    nsplit = triton.cdiv(max_pages * page_size, TOKENS_PER_SPLIT)
    m_part = torch.empty((B, H_q, nsplit), device=q.device, dtype=torch.float32)
    l_part = torch.empty_like(m_part)
    acc_part = torch.empty((B, H_q, nsplit, D), device=q.device, dtype=torch.float32)
    group = H_q // H_kv

    _decode_part[(B * H_kv, nsplit)](
        q, k_cache, v_cache, block_table, seq_lens, m_part, l_part, acc_part,
        scale * LOG2E, H_kv, nsplit, TOKENS_PER_SPLIT,
        q.stride(0), q.stride(1), k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_table.stride(0),
        GROUP=group, GP=max(16, triton.next_power_of_2(group)), D=D, PAGE=page_size, BN=BLOCK_N,
    )
    _decode_merge[(B * H_q,)](
        m_part, l_part, acc_part, seq_lens, out, H_q, nsplit, TOKENS_PER_SPLIT,
        D=D, SP=triton.next_power_of_2(nsplit),
    )
    return out
