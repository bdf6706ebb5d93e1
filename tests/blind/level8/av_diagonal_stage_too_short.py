"""Level 8 - Flash Attention: one launch, base-2 online softmax, causal tiles split into free / diagonal / skipped."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634


@triton.jit
def _kv_step(
    acc, l_run, m_run, q_blk,
    k_head, v_head, row_stride, n0, q_idx, S, sm_log2,
    EDGE: tl.constexpr, CAUSAL: tl.constexpr, BN: tl.constexpr, D: tl.constexpr,
):
    kj = n0 + tl.arange(0, BN)
    dd = tl.arange(0, D)
    k_addr = k_head + kj[:, None] * row_stride + dd[None, :]
    v_addr = v_head + kj[:, None] * row_stride + dd[None, :]
    if EDGE:
        k_blk = tl.load(k_addr, mask=kj[:, None] < S, other=0.0)
        v_blk = tl.load(v_addr, mask=kj[:, None] < S, other=0.0)
    else:
        k_blk = tl.load(k_addr)
        v_blk = tl.load(v_addr)

    s = tl.dot(q_blk, tl.trans(k_blk)) * sm_log2
    if EDGE:
        blocked = kj[None, :] >= S
        if CAUSAL:
            blocked = blocked | (kj[None, :] > q_idx[:, None])
        s = tl.where(blocked, float("-inf"), s)

    m_next = tl.maximum(m_run, tl.max(s, axis=1))
    shrink = tl.exp2(m_run - m_next)
    p = tl.exp2(s - m_next[:, None])
    l_run = l_run * shrink + tl.sum(p, axis=1)
    acc = acc * shrink[:, None]
    acc = tl.dot(p.to(v_blk.dtype), v_blk, acc)
    return acc, l_run, m_next


@triton.jit
def _flash_fwd(
    q_ptr, k_ptr, v_ptr, o_ptr,
    S, sm_log2,
    head_stride, row_stride,
    D: tl.constexpr, CAUSAL: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
):
    tl.static_assert(BM % BN == 0)
    blk = tl.program_id(0)
    head_off = tl.program_id(1).to(tl.int64) * head_stride
    q_head = q_ptr + head_off
    k_head = k_ptr + head_off
    v_head = v_ptr + head_off

    q_idx = blk * BM + tl.arange(0, BM)
    dd = tl.arange(0, D)
    q_blk = tl.load(q_head + q_idx[:, None] * row_stride + dd[None, :], mask=q_idx[:, None] < S, other=0.0)

    m_run = tl.full((BM,), float("-inf"), tl.float32)
    l_run = tl.zeros((BM,), tl.float32)
    acc = tl.zeros((BM, D), tl.float32)

    if CAUSAL:
        free_end = blk * BM
        edge_end = tl.minimum(blk * BM + BN, S)
    else:
        free_end = (S // BN) * BN
        edge_end = S

    for n0 in tl.range(0, free_end, BN):
        acc, l_run, m_run = _kv_step(acc, l_run, m_run, q_blk, k_head, v_head, row_stride, n0, q_idx, S,
                                     sm_log2, False, CAUSAL, BN, D)
    for n0 in tl.range(free_end, edge_end, BN):
        acc, l_run, m_run = _kv_step(acc, l_run, m_run, q_blk, k_head, v_head, row_stride, n0, q_idx, S,
                                     sm_log2, True, CAUSAL, BN, D)

    res = acc / l_run[:, None]
    tl.store(o_ptr + head_off + q_idx[:, None] * row_stride + dd[None, :], res.to(o_ptr.dtype.element_ty),
             mask=q_idx[:, None] < S)


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    if INTERPRETED:
        BM, BN, warps, stages = 32, 16, 4, 1
    else:
        BM, BN, warps, stages = 128, 64, 8, 2
    grid = (triton.cdiv(S, BM), B * H)
    _flash_fwd[grid](
        q, k, v, out, S, float(scale) * LOG2E,
        q.stride(1), q.stride(2),
        D=D, CAUSAL=bool(causal), BM=BM, BN=BN, num_warps=warps, num_stages=stages,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(flash_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 8 self-check passed")
