"""Mutant: the user's scale is dropped: only log2(e) multiplies the scores."""

EXPECT = 'the scale is not applied'

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634  # log2(e): exp(x) == exp2(x * LOG2E)

# Every config keeps BLOCK_M a multiple of BLOCK_N (stage 1 must end on a key-tile boundary) and every
# tl.dot dimension >= 16. Under the interpreter there is nothing to tune and each loop step costs
# milliseconds: one small fixed config, whose key tiles are narrow enough that every CPU case spans
# several of them.
if INTERPRETED:
    CONFIGS = [triton.Config({"BLOCK_M": 32, "BLOCK_N": 16}, num_warps=4, num_stages=1)]
else:
    CONFIGS = [
        triton.Config({"BLOCK_M": block_m, "BLOCK_N": block_n}, num_warps=warps, num_stages=stages)
        for block_m, block_n, warps, stages in [
            (128, 64, 8, 3),
            (128, 64, 4, 3),
            (128, 128, 8, 2),
            (128, 32, 4, 4),
            (64, 64, 4, 3),
            (64, 64, 4, 4),
            (64, 32, 4, 4),
            (128, 64, 8, 4),
        ]
    ]


@triton.jit
def attend_block(
    acc, l_i, m_i, q,
    k_base, v_base, stride_s, start_n, rows, S, qk_scale,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    """One (BLOCK_N, D) tile of keys and values through the online softmax, in base 2."""
    cols = start_n + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, HEAD_DIM)
    k_ptrs = k_base + cols[:, None] * stride_s + dims[None, :]
    v_ptrs = v_base + cols[:, None] * stride_s + dims[None, :]
    if MASKED:
        k = tl.load(k_ptrs, mask=cols[:, None] < S, other=0.0)
    else:  # a full tile inside the sequence: no mask, so the loads stay simple and wide
        k = tl.load(k_ptrs)

    # Scores in log2 units: exp2(s) below equals exp(q @ k^T * scale).
    s = tl.dot(q, tl.trans(k)) * qk_scale
    if MASKED:
        # Padding keys read as 0 and would score 0: they must be -inf. When causal this is implied by
        # j <= i for every stored row i < S, but the rows past S (never stored) rely on it.
        visible = cols[None, :] < S
        if CAUSAL:
            visible = visible & (cols[None, :] <= rows[:, None])
        s = tl.where(visible, s, float("-inf"))

    # In every tile that is processed, each row sees at least one key (key 0 in stage 1, key
    # start_m * BLOCK_M on the diagonal, any key when not causal), so m_new is finite.
    m_new = tl.maximum(m_i, tl.max(s, axis=1))
    alpha = tl.exp2(m_i - m_new)  # puts what was summed against m_i onto m_new; 0 in the first tile
    p = tl.exp2(s - m_new[:, None])
    l_i = l_i * alpha + tl.sum(p, axis=1)

    if MASKED:
        v = tl.load(v_ptrs, mask=cols[:, None] < S, other=0.0)
    else:
        v = tl.load(v_ptrs)
    acc = acc * alpha[:, None]
    # p goes to v's dtype for the tensor cores; accumulating into acc saves an addition.
    acc = tl.dot(p.to(v.dtype), v, acc)
    return acc, l_i, m_new


@triton.jit
def attend_keys(
    acc, l_i, m_i, q,
    k_base, v_base, stride_s, lo, hi, rows, S, qk_scale,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr, INTERPRETED: tl.constexpr,
    BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    """Stream the key tiles starting at lo, lo + BLOCK_N, ... < hi through attend_block."""
    if INTERPRETED:
        # triton 3.6's interpreter cannot run `range` over runtime bounds (numpy >= 2.4): the same loop
        # as a `while`.
        start_n = lo
        while start_n < hi:
            acc, l_i, m_i = attend_block(
                acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, rows, S, qk_scale,
                MASKED, CAUSAL, BLOCK_N, HEAD_DIM,
            )
            start_n += BLOCK_N
    else:
        # A `for` loop lets the compiler software-pipeline the loads of the next tiles (num_stages)
        # behind the tensor-core work on this one.
        for start_n in tl.range(lo, hi, BLOCK_N):
            acc, l_i, m_i = attend_block(
                acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, rows, S, qk_scale,
                MASKED, CAUSAL, BLOCK_N, HEAD_DIM,
            )
    return acc, l_i, m_i


@triton.autotune(configs=CONFIGS, key=["S", "HEAD_DIM", "CAUSAL"])
@triton.jit
def flash_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, INTERPRETED: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    # Causal query tiles near the end of the sequence have the most key tiles to visit: hand those
    # out first, so the short ones fill the gaps at the end instead of a long one running alone.
    if CAUSAL:
        start_m = tl.num_programs(0) - 1 - tl.program_id(0)
    else:
        start_m = tl.program_id(0)
    bh = tl.program_id(1)
    # q, k, v and out share one contiguous (B*H, S, D) layout. int64: B*H*S*D may exceed 2^31.
    head = bh.to(tl.int64) * stride_bh
    rows = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    row_ok = rows[:, None] < S
    q = tl.load(q_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok, other=0.0)

    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)  # running max of the scores (log2 units)
    l_i = tl.zeros([BLOCK_M], tl.float32)  # running sum of exp2(s - m_i)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)  # running sum of exp2(s - m_i) * v

    if CAUSAL:
        lo_end = start_m * BLOCK_M  # keys before the tile's first query: visible to all its rows
        hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)  # keys after the tile's last query: skipped
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N  # every full key tile
        hi_end = S  # plus the ragged last one, if any
    k_base = k_ptr + head
    v_base = v_ptr + head

    # Stage 1: full tiles that every row of the query tile sees entirely: no masks.
    acc, l_i, m_i = attend_keys(
        acc, l_i, m_i, q, k_base, v_base, stride_s, 0, lo_end, rows, S, qk_scale,
        False, CAUSAL, INTERPRETED, BLOCK_N, HEAD_DIM,
    )
    # Stage 2: the diagonal tile (causal) or the ragged last tile (non-causal), masked.
    acc, l_i, m_i = attend_keys(
        acc, l_i, m_i, q, k_base, v_base, stride_s, lo_end, hi_end, rows, S, qk_scale,
        True, CAUSAL, INTERPRETED, BLOCK_N, HEAD_DIM,
    )

    # l_i >= 1: the row's largest score contributes exp2(0) = 1, so the division is safe.
    out = acc / l_i[:, None]
    tl.store(out_ptr + head + rows[:, None] * stride_s + dims[None, :], out.to(out_ptr.dtype.element_ty), mask=row_ok)


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)

    def grid(meta: dict) -> tuple[int, int]:
        return (triton.cdiv(S, meta["BLOCK_M"]), B * H)

    flash_attention_kernel[grid](
        q, k, v, out,
        S, LOG2E,
        q.stride(1), q.stride(2),
        HEAD_DIM=D, CAUSAL=bool(causal), INTERPRETED=INTERPRETED,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(flash_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 8 self-check passed: now run `pytest --level 8`")
